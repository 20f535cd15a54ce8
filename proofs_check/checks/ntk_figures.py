"""Figure data of the main theorem: the NTK picture a reader learns from.

* training: the limit's training loss 1/2 sum_u pi_L(u) (ybar(u) - g_t(u))^2 against t, with the
  finite networks' loss 1/2 (Y_k - f_k)^2 over the same windows (mean over replicas, band
  +-2 standard errors) for three N; and g_t(u) against t on the three most probable words, with
  the finite networks' outputs f_k at the steps where they read that word (band +-2 s.e.);
* error against t: for every N the RMS over replicas of f^N - g_t on the grid (the statistic
  whose sup the main theorem fits), band from the replica spread;
* the limit kernel A on the 16 most probable words, labelled by their symbols.

"curves" figures hold panels of lines and bands (proofs_check.figures draws them).
"""

from __future__ import annotations

import warnings

import numpy as np

from numerics.words import path_word_indices, word_label
from proofs_check.checks._limit import g_on_times, time_grid, window_steps
from proofs_check.result import FigureData

SHOWN_WORDS = 3
HEATMAP_WORDS = 16


def _three(ladder) -> list[int]:
    """Smallest, middle and largest N of the ladder (indices)."""
    n = len(ladder)
    return sorted({0, n // 2, n - 1})


def _band(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and +-2 standard errors over ``axis`` (nan where fewer than two values)."""
    count = np.sum(np.isfinite(values), axis=axis)
    mean = np.nanmean(values, axis=axis)
    sd = np.nanstd(values, axis=axis, ddof=1) if values.shape[axis] > 1 else np.zeros_like(mean)
    se = np.where(count > 1, sd / np.sqrt(np.maximum(count, 1)), np.nan)
    return mean, mean - 2 * se, mean + 2 * se


def ntk_figures(config, budget, limit, solver, levels, errors, claim: str, L: int
                ) -> tuple[FigureData, ...]:
    horizon = float(config.training.horizon)
    grid = time_grid(horizon)
    m = config.chain.m
    fine = np.linspace(0.0, horizon, 101)
    g_fine = g_on_times(solver, fine)
    pi_L, ybar = limit["pi_L"], limit["ybar"]
    loss = 0.5 * np.sum(pi_L * (ybar - g_fine) ** 2, axis=1)
    top_words = np.argsort(pi_L)[::-1][:SHOWN_WORDS]
    series: dict[str, np.ndarray] = {"p0|limit|x": fine, "p0|limit|y": loss}
    colours: dict[str, int] = {"limit": 0}
    for c, w in enumerate(top_words):
        label = f"$g_t$({word_label(int(w), m, L)})"
        series[f"p1|{label}|x"] = fine
        series[f"p1|{label}|y"] = g_fine[:, w]
        colours[label] = c
    shown = _three(budget.n_ladder)
    for i in shown:
        n_units, level = budget.n_ladder[i], levels[i]
        steps = window_steps(n_units, horizon)  # (J, W)
        f, y = level["f"][:, steps], level["y"][:, steps]  # (R, J, W)
        mean, lo, hi = _band(np.mean(0.5 * (y - f) ** 2, axis=2))
        series |= {f"p0|N={n_units}|x": grid, f"p0|N={n_units}|y": mean,
                   f"p0|N={n_units}|lo": lo, f"p0|N={n_units}|hi": hi}
        colours[f"N={n_units}"] = 1 + shown.index(i)
        if i != shown[-1]:
            continue  # the outputs on words: the largest N only (one colour per word)
        words = path_word_indices(level["states"], m, L)
        read = words[:, np.maximum(steps, L - 1) - L + 1]  # (R, J, W)
        for c, w in enumerate(top_words):
            per_replica = np.where(read == w, f, np.nan)
            with warnings.catch_warnings():  # a word not read in a window: nan, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, lo, hi = _band(np.nanmean(per_replica, axis=2))  # over (R, J)
            label = f"$f^N$, N={n_units}, {word_label(int(w), m, L)}"
            series |= {f"p1|{label}|x": grid, f"p1|{label}|y": mean, f"p1|{label}|lo": lo,
                       f"p1|{label}|hi": hi}
            colours[label] = c
    training = FigureData(
        "curves", "Training: limit (lines) and finite networks (points, +-2 s.e. over replicas)",
        series, {"panels": [
            {"title": "training loss", "xlabel": "t", "ylabel": r"$\frac{1}{2}(y - f)^2$"},
            {"title": "output on the most probable words", "xlabel": "t",
             "ylabel": r"$g_t(u)$, $f^N$"}], "colours": colours})
    curves: dict[str, np.ndarray] = {}
    for n_units, e in zip(budget.n_ladder, errors, strict=True):
        rms = np.sqrt(np.mean(e[claim], axis=0))
        _, lo, hi = _band(e[claim])
        curves |= {f"p0|N={n_units}|x": grid, f"p0|N={n_units}|y": rms,
                   f"p0|N={n_units}|lo": np.sqrt(np.maximum(lo, 0.0)),
                   f"p0|N={n_units}|hi": np.sqrt(hi)}
    error_vs_t = FigureData(
        "curves", "Error of the network against the limit over training, one curve per N", curves,
        {"panels": [{"title": "", "xlabel": "t", "ylabel": r"RMS of $f^N - g_t$",
                     "logy": True}]})
    shown = np.sort(np.argsort(pi_L)[::-1][:HEATMAP_WORDS])
    heatmap = FigureData(
        "heatmap", f"Limit kernel A on the {shown.size} most probable words of length {L}",
        {"K": limit["K"][np.ix_(shown, shown)]},
        {"label": "A(u, v)", "ticks": [word_label(int(w), m, L) for w in shown]})
    return training, error_vs_t, heatmap
