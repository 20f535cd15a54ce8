"""The main-theorem check (proofs_check.checks.main_theorem) on synthetic trained levels: which
window its rival limits are judged at, the distances it states, the statistic it hands to the
word-length refinement, and which limit error widens which rate window, against values worked
out here from the same arrays.

The levels replace the trained-network Monte Carlo (checks._simulations.trained_ladder). Along
the path the output is g_{k/N}(word_k) plus NOISE N^-r (1 + sin(pi k / (N T))) times a
Gaussian; the frozen network's output is g_T plus NOISE N^-r times a Gaussian. The limit is
the check's own (limit_on_words, L = 3) with its two error estimates replaced: delta_path = 0
and delta_words = 10, larger than every error, so the two allowances differ by design (finite
and infinite). The limit's values (g_t and the rival limits, numerics.limit_solver) are tested
in tests/test_limit_solver.py; here they only build the data. The windows, the words read and
the times are computed here on their own."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from derivations.inputs.config import load_config, with_overrides
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks import main_theorem as main
from proofs_check.checks._common import subleading_allowance, vanishing_terms
from proofs_check.checks._limit import claim_solver, g_on_times, ladder_targets, rival_solvers

LADDER = (256, 1024, 4096)
REPLICAS = 16
NOISE = 0.02  # its RMS at the largest N is under a tenth of each rival limit's distance at T
WINDOWS = 32  # the time grid t_j = T j / 32 (module docstring)
WINDOW_STEPS = 64  # the most steps per window: W = min(64, N T / 32)


def _word_at(states: np.ndarray, k: int, m: int, L: int) -> np.ndarray:
    """The index of the word (Z_{k-L+1}, ..., Z_k), oldest symbol most significant."""
    index = np.zeros(states.shape[0], dtype=np.int64)
    for i in range(L):
        index = index * m + states[:, k - L + 1 + i]
    return index


def _window(n_units: int, horizon: float, j: int) -> np.ndarray:
    """The W = min(64, N T / 32) steps ending at floor(N t_j), kept below the last step
    N T - 1 (these N start no window before step 0)."""
    total = math.floor(n_units * horizon)
    width = min(WINDOW_STEPS, total // WINDOWS)
    end = min(math.floor(n_units * horizon * j / WINDOWS), total - 1)
    return np.arange(end - width + 1, end + 1)


@pytest.fixture(scope="module")
def checked():
    config = with_overrides(load_config(None), word_length=3)
    budget = dataclasses.replace(TINY, n_ladder=LADDER, replicas=REPLICAS,
                                 full_replicas_up_to=None)
    context = CheckContext(config, budget, Cache(None, salt="main-synthetic"), seed=0)
    limit = {**main.limit_on_words(context), "delta_path": 0.0, "delta_words": 10.0}
    L, m, horizon = int(limit["L"]), config.chain.m, float(config.training.horizon)
    solver = claim_solver(limit)
    rate = -main.predicted_exponent("overall", config)
    rng = np.random.default_rng(5)
    levels = []
    for n_units in LADDER:
        total = math.floor(n_units * horizon)
        states = rng.integers(0, m, size=(REPLICAS, total))
        f = np.zeros((REPLICAS, total))
        steps = np.unique(np.concatenate([_window(n_units, horizon, j)
                                          for j in range(1, WINDOWS + 1)]))
        g = g_on_times(solver, steps / n_units)  # (steps, words)
        for i, k in enumerate(steps):
            f[:, k] = g[i, _word_at(states, k, m, L)]
        profile = 1.0 + np.sin(np.pi * steps / total)  # largest mid-way: sup and mean differ
        f[:, steps] += (NOISE * n_units ** -rate * profile
                        * rng.standard_normal((REPLICAS, steps.size)))
        levels.append({"states": states, "f": f, "y": np.zeros_like(f),
                       "c0": np.zeros((REPLICAS, n_units))})
    g_T = g_on_times(solver, (horizon,))[0]
    frozen_noise = {n: NOISE * n ** -rate * rng.standard_normal((REPLICAS, main.FROZEN_WORDS))
                    for n in LADDER}

    def frozen(level, config, select, L):  # f_{theta_T}(u) = g_T(u) + noise on the words
        return g_T[select] + frozen_noise[level["c0"].shape[1]][:, : select.size]

    handed: list[dict[str, float]] = []

    def refined(context, limit, top_errors):  # the budget's limit kept; what it was handed
        handed.append(dict(top_errors))
        return limit, {"targets": ladder_targets(top_errors), "top_errors": dict(top_errors),
                       "first": (int(limit["L"]), float(limit["delta"])), "refined": False}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main, "limit_on_words", lambda context: limit)
        patch.setattr(main, "trained_ladder", lambda *args, **kwargs: levels)
        patch.setattr(main, "_frozen_outputs", frozen)
        patch.setattr(main, "refined_limit", refined)
        results = {result.name: result for result in main.run(context)}
    rivals = rival_solvers(limit, config.network.trainable, vanishing_terms(config))
    return SimpleNamespace(config=config, limit=limit, levels=levels, results=results,
                           handed=handed, rivals=rivals, rate=rate, frozen_noise=frozen_noise)


def _last_window_values(checked, solver) -> np.ndarray:
    """h_{k/N}(word_k) at the steps of the last window (t = T), largest N: (R, W)."""
    return _window_values(checked, solver, WINDOWS)


def _window_values(checked, solver, j: int) -> np.ndarray:
    """h_{k/N}(word_k) at the steps of window j, largest N: (R, W)."""
    n_units, horizon = LADDER[-1], float(checked.config.training.horizon)
    steps = _window(n_units, horizon, j)
    g = g_on_times(solver, steps / n_units)
    states, L = checked.levels[-1]["states"], int(checked.limit["L"])
    return np.stack([g[i, _word_at(states, k, checked.config.chain.m, L)]
                     for i, k in enumerate(steps)], axis=1)


def test_the_rival_distances_are_taken_at_t_equal_T_on_the_words_read(checked):
    g = _last_window_values(checked, claim_solver(checked.limit))
    stated = checked.results["main_theorem"].details["rival_distances_on_path"]
    assert set(stated) == set(checked.rivals)
    for name, solver in checked.rivals.items():
        expected = float(np.sqrt(np.mean((_last_window_values(checked, solver) - g) ** 2)))
        assert stated[name] == pytest.approx(expected, rel=1e-9), name
        assert expected > 10 * NOISE * LADDER[-1] ** -checked.rate  # far apart at t = T


def test_the_rival_limits_are_judged_on_the_last_window_and_rejected(checked):
    """mean_r [mean_k (f - h)^2 - mean_k (f - g)^2] over the last window at the largest N is
    each path rival's measured value. The network tracks g, so every rival is rejected; at the
    first window (t = T / 32) the limits are still close, and no rival would be."""
    n_units, horizon = LADDER[-1], float(checked.config.training.horizon)
    f = checked.levels[-1]["f"][:, _window(n_units, horizon, WINDOWS)]
    e_g = np.mean((f - _last_window_values(checked, claim_solver(checked.limit))) ** 2, axis=1)
    named = {rival.name: rival for rival in checked.results["main_theorem"].rivals}  # bound's
    for name, solver in checked.rivals.items():
        e_h = np.mean((f - _last_window_values(checked, solver)) ** 2, axis=1)
        assert named[name].measured == pytest.approx(float(np.mean(e_h - e_g)), rel=1e-9)
        assert named[name].rejected, (name, named[name].reason)


def test_the_refinement_is_handed_the_sup_over_the_grid_of_the_rms_error(checked):
    """"path": max_j sqrt(mean_r e_rj) at the largest N (not a mean over the grid); "words":
    the RMS of f_{theta_T} - g_T over the frozen words."""
    n_units, horizon = LADDER[-1], float(checked.config.training.horizon)
    f, g = checked.levels[-1]["f"], claim_solver(checked.limit)
    per_time = [np.mean((f[:, _window(n_units, horizon, j)] - _window_values(checked, g, j)) ** 2)
                for j in range(1, WINDOWS + 1)]
    handed = checked.handed
    assert len(handed) == 1
    assert handed[0]["path"] == pytest.approx(math.sqrt(max(per_time)), rel=1e-9)
    assert handed[0]["path"] > 1.2 * math.sqrt(np.mean(per_time))  # the rules differ
    words = min(main.FROZEN_WORDS, int(checked.limit["pi_L"].size))
    noise = checked.frozen_noise[LADDER[-1]][:, :words]
    assert handed[0]["words"] == pytest.approx(float(np.sqrt(np.mean(noise**2))), rel=1e-9)


def test_each_statistic_is_widened_by_its_own_limit_error(checked):
    """The path's window takes delta_path (0 here: only the subleading allowance), the frozen
    network's delta_words (10, above every error: an unbounded allowance, no verdict)."""
    rate = checked.rate
    gap = 0.5 - rate if rate < 0.5 else 0.5
    path = checked.results["main_theorem"].details
    words = checked.results["frozen_network"].details
    assert path["allowance"] == pytest.approx(subleading_allowance(gap, LADDER[0]), rel=1e-12)
    assert math.isinf(words["allowance"])
