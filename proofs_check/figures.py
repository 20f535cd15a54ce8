"""Figures of the verification report (matplotlib, Agg backend, PNG).

Each :class:`~proofs_check.result.FigureData` names its ``kind``:

* ``rate``: log-log error against N with 95% error bars, the fitted slope, the acceptance
  window (a wedge of slopes through the data's centre), the predicted slope and every exponent
  rival (proofs_check.rivals.rate_figure);
* ``curves``: panels of lines (and +-bands): series keys ``"p<panel>|<label>|x|y|lo|hi"``,
  ``meta["panels"]`` one dict per panel (title, xlabel, ylabel, logy); labels starting with
  "rival" are drawn dotted, "the bound"/"tolerance" black; ``meta["colours"]`` may fix a
  label's colour index (a limit and its finite-N estimate alike);
* ``heatmap``: a (small) matrix with word labels (``meta["ticks"]``);
* ``memory``: semilog errors |S_k - S*_k| etc. against the bounds C rho^k (dashed; the
  derivations' uniform bounds dotted, a rival's dash-dotted; ``meta["colours"]`` as above);
* ``poisson``: a fluctuation path with its predicted band;
* ``rivals``: the limit rivals' test statistic against what each rival allows.
Text uses matplotlib mathtext ($...$) where it is mathematics.
"""

from __future__ import annotations

import io
import textwrap
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from proofs_check.result import FigureData  # noqa: E402
from proofs_check.stats import CI_LABEL  # noqa: E402


def _rate(ax, fig: FigureData) -> None:
    s, meta = fig.series, fig.meta
    n = np.asarray(s["N"], dtype=float)
    y = np.asarray(s["error"], dtype=float)
    if np.all(y == 0.0):  # exactly 0 at every N (proofs_check.stats.fit_rate): no log scale
        ax.plot(n, y, "o", color="C0", label="measured: exactly 0 at every N")
        ax.set_xscale("log")
        ax.set_xlabel("$N$ (hidden units)")
        ax.set_ylabel(meta.get("ylabel", "error"))
        ax.legend(fontsize=7)
        return
    if "error_lo" in s:
        yerr = np.vstack([y - s["error_lo"], s["error_hi"] - y])
        ax.errorbar(n, y, yerr=yerr, fmt="o", color="C0", capsize=3, label=f"measured ({CI_LABEL})")
    else:
        ax.plot(n, y, "o", color="C0", label="measured")
    grid = np.geomspace(n.min(), n.max(), 50)
    anchor_n, anchor_y = np.exp(np.mean(np.log(n))), np.exp(np.mean(np.log(y)))

    def through_centre(slope: float) -> np.ndarray:
        return anchor_y * (grid / anchor_n) ** slope

    if "window" in meta:
        lo, hi = meta["window"]
        ax.fill_between(grid, through_centre(lo), through_centre(hi), color="C0", alpha=0.12,
                        label=f"acceptance window [{lo:.2f}, {hi:.2f}]")
    if "slope" in meta:
        fitted = np.exp(meta["intercept"]) * grid ** meta["slope"]
        ax.plot(grid, fitted, "-", color="C0", label=f"fitted slope {meta['slope']:.3f}")
    if "predicted" in meta:
        ax.plot(grid, through_centre(meta["predicted"]), "-", color="k", lw=1.5,
                label=f"predicted slope {meta['predicted']:.3f}")
    if "predicted_interval" in meta:  # a range of predicted slopes (the surviving orders)
        fastest, slowest = meta["predicted_interval"]
        ax.fill_between(grid, through_centre(fastest), through_centre(slowest), color="k",
                        alpha=0.15, label=f"predicted slopes [{fastest:.3f}, {slowest:.3f}]")
    for i, (label, slope) in enumerate(meta.get("rivals", {}).items()):
        ax.plot(grid, through_centre(slope), ":", color=f"C{3 + i}", lw=1.5, label=label)
    for i, (label, values) in enumerate((k, v) for k, v in s.items() if k.startswith("rival")):
        ax.plot(n, values, "s--", ms=4, lw=0.8, color=f"C{6 + i}", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("$N$ (hidden units)")
    ax.set_ylabel(meta.get("ylabel", "error"))
    ax.legend(fontsize=7)


def _panels(fig: FigureData) -> dict[int, dict[str, dict[str, np.ndarray]]]:
    panels: dict[int, dict[str, dict[str, np.ndarray]]] = defaultdict(dict)
    for key, values in fig.series.items():
        panel, rest = key.split("|", 1)
        label, part = rest.rsplit("|", 1)  # labels may contain "|" (|G^w_k|)
        panels[int(panel[1:])].setdefault(label, {})[part] = np.asarray(values, dtype=float)
    return panels


def _curves(fig: FigureData):
    panels = _panels(fig)
    specs = fig.meta.get("panels", [{}] * len(panels))
    figure, axes = plt.subplots(1, len(specs), figsize=(5.2 * len(specs), 4.0), dpi=100,
                                squeeze=False)
    colours = fig.meta.get("colours", {})
    for index, (ax, spec) in enumerate(zip(axes[0], specs, strict=True)):
        for position, (label, parts) in enumerate(panels.get(index, {}).items()):
            j = colours.get(label, position)
            x, y = parts["x"], parts["y"]
            if label.startswith(("the bound", "tolerance")):
                ax.plot(x, y, "-", color="k", lw=1.5, label=label)
            elif label.startswith("rival"):
                ax.plot(x, y, ":", lw=1.5, color=f"C{3 + j % 6}", label=label)
            elif "lo" in parts:
                ax.plot(x, y, "o-", ms=3, lw=0.8, color=f"C{j % 10}", label=label)
                ax.fill_between(x, parts["lo"], parts["hi"], color=f"C{j % 10}", alpha=0.2)
            else:
                ax.plot(x, y, "-", lw=1.8, color=f"C{j % 10}", label=label)
        if spec.get("logy"):
            ax.set_yscale("log")
        ax.set_xlabel(spec.get("xlabel", ""))
        ax.set_ylabel(spec.get("ylabel", ""))
        if spec.get("title"):
            ax.set_title(spec["title"], fontsize=9)
        ax.legend(fontsize=6.5, ncol=1 if len(panels.get(index, {})) < 8 else 2)
    figure.suptitle(fig.title, fontsize=10)
    return figure


def _heatmap(ax, fig: FigureData) -> None:
    K = np.asarray(fig.series["K"], dtype=float)
    image = ax.imshow(K, cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=fig.meta.get("label", ""))
    ticks = fig.meta.get("ticks")
    if ticks is not None and len(ticks) == K.shape[0]:
        positions = np.arange(K.shape[0])
        ax.set_xticks(positions, ticks, rotation=90, fontsize=6)
        ax.set_yticks(positions, ticks, fontsize=6)
        ax.set_xlabel("word $v$ (symbols, oldest first)")
        ax.set_ylabel("word $u$")
    else:
        ax.set_xlabel("word $v$ (index)")
        ax.set_ylabel("word $u$ (index)")


def _memory(ax, fig: FigureData) -> None:
    s = fig.series
    k = np.asarray(s["k"], dtype=float)
    if fig.meta.get("rho") == 0.0:
        ax.text(0.5, 0.5, "rho = b_max Lip(sigma) = 0: no recurrence, the memory is exact after\n"
                "one step (S_k depends on X_k only), so the check is trivial here",
                ha="center", va="center", transform=ax.transAxes, fontsize=9)
        ax.set_axis_off()
        return
    colours = fig.meta.get("colours", {})
    for position, (label, values) in enumerate((lab, v) for lab, v in s.items() if lab != "k"):
        style = ("-." if label.startswith("rival") else ":" if "(derivations)" in label
                 else "--" if "bound" in label else "-o")
        ax.plot(k, np.maximum(values, 1e-300), style, ms=3, label=label,
                color=f"C{colours.get(label, position) % 10}")
    floor = fig.meta.get("floor")
    if floor is not None:
        ax.axhline(floor, color="grey", lw=0.5)
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(floor or 0.0, 1e-17) / 10)
    ax.set_xlabel("step $k$")
    ax.set_ylabel("max over units of the error")
    ax.legend(fontsize=8)


def _poisson(ax, fig: FigureData) -> None:
    s = fig.series
    x = np.asarray(s["x"], dtype=float)
    for label, values in s.items():
        if label in ("x", "band_lo", "band_hi"):
            continue
        ax.plot(x, values, lw=1, label=label)
    if "band_lo" in s:
        ax.fill_between(x, s["band_lo"], s["band_hi"], color="grey", alpha=0.3,
                        label=fig.meta.get("band_label", "predicted band"))
    ax.set_xlabel(fig.meta.get("xlabel", "n"))
    ax.set_ylabel(fig.meta.get("ylabel", ""))
    ax.legend(fontsize=8)


def _rivals(ax, fig: FigureData) -> None:
    labels = fig.meta.get("labels", [])
    y = np.arange(len(labels))
    ax.plot(fig.series["measured"], y, "o", color="C0", label="measured")
    ax.plot(fig.series["allowed"], y, "x", color="C3", ms=9,
            label="the most that convergence to h allows")
    ax.axvline(0.0, color="grey", lw=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    ax.set_yticks(y, [textwrap.fill(label, 40) for label in labels], fontsize=7)
    ax.set_xlabel(fig.meta.get("ylabel", ""))
    ax.legend(fontsize=7)


_PLOTTERS = {
    "rivals": _rivals,
    "rate": _rate,
    "heatmap": _heatmap,
    "memory": _memory,
    "poisson": _poisson,
}


def _drawn(fig: FigureData):
    """The matplotlib figure of ``fig`` (its plotter), laid out; closed if drawing fails."""
    if fig.kind == "curves":
        figure = _curves(fig)
    else:
        size = (7.0, 6.4) if fig.kind == "heatmap" else (6.4, 4.6)
        figure, ax = plt.subplots(figsize=size, dpi=100)
    try:
        if fig.kind != "curves":
            _PLOTTERS[fig.kind](ax, fig)
            ax.set_title(fig.title, fontsize=10)
        figure.tight_layout()
    except Exception:
        plt.close(figure)
        raise
    return figure


def not_drawn_text(fig: FigureData) -> str:
    """Why ``fig`` (some series not finite: :func:`_all_finite` False) is not drawn. Not
    matplotlib's message, which for NaN on a log axis reads "all values are <= 0"."""
    numeric = {name: np.asarray(values) for name, values in fig.series.items()
               if np.asarray(values).dtype.kind in "fc"}
    bad = [name for name, array in numeric.items() if not np.all(np.isfinite(array))]
    return (f"not drawn: {len(bad)} of its {len(numeric)} series hold values that are not "
            "finite\n(nan or inf: an overflow, such as a diverged network's)\n"
            "the numbers are in results.json")


def _not_drawn(fig: FigureData):
    """A figure saying why ``fig`` could not be drawn (:func:`not_drawn_text`)."""
    figure, ax = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    ax.set_axis_off()
    ax.set_title(fig.title, fontsize=10)
    ax.text(0.5, 0.5, not_drawn_text(fig), ha="center", va="center", wrap=True, fontsize=9)
    return figure


def _all_finite(fig: FigureData) -> bool:
    """Every numeric series of ``fig`` is finite."""
    for values in fig.series.values():
        array = np.asarray(values)
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            return False
    return True


def _png(figure) -> bytes:
    try:
        buffer = io.BytesIO()
        # Fixed metadata so identical data give byte-identical PNGs.
        figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(figure)


def render_png(fig: FigureData) -> bytes:
    """The PNG bytes of one figure. Data with non-finite values that matplotlib cannot draw (a
    diverged network's overflow, say) give a figure saying so instead of stopping the report;
    any other error is raised (a bug in a plotter is not hidden)."""
    try:
        return _png(_drawn(fig))
    except (ValueError, OverflowError):
        if _all_finite(fig):
            raise
        return _png(_not_drawn(fig))
