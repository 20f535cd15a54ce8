"""The trained finite network against the limit g_t (theory.md §3, claim to verify).

Two comparisons at times t (step k = floor(N t)):

1. Frozen network on words: the parameters theta_k (a snapshot of numerics.rnn.simulate) are
   frozen and the network is run on every word u as an input path (oldest symbol first, from
   S_{-1} = 0); its output f_frozen(u) is compared with g_t(u): pi_L-weighted RMS and max over
   words, per replica.
2. Along its own path: f^N_k (the output at step k of training, computed with theta_k) against
   g_t at the word of the last L inputs (X_{k-L+1}, ..., X_k); RMS over replicas (and over the
   steps k' in [k - window, k + window], each compared with g at its own time k' / N).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from numerics.limit import LimitResult, g_at, solve_limit
from numerics.quadrature import QuadratureSettings
from numerics.rnn import SimulationResult, frozen_outputs, simulate, time_to_step
from numerics.words import word_index

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FrozenVsLimit:
    """times (T,); words comparison: rms_words (T, R) pi_L-weighted RMS of f_frozen - g_t over
    words, max_words (T, R); path comparison: path_errors[i] (R, steps in the window, clipped
    to the run) f_k - g_{k/N},
    rms_path (T,) RMS over replicas and window (nan if no step k >= L - 1 in it); the limit's
    error estimates for reference."""

    times: tuple[float, ...]
    N: int
    replicas: int
    word_length: int
    rms_words: FloatArray
    max_words: FloatArray
    path_errors: tuple[FloatArray, ...]
    rms_path: FloatArray
    limit_error_estimates: dict[str, object]


def frozen_on_words(sim: SimulationResult, t: float, config: object, states: FloatArray,
                    words: NDArray[np.int64]) -> FloatArray:
    """Frozen network with theta_floor(N t) on every word: (R, n) (numerics.rnn.frozen_outputs)."""
    params = sim.parameters_at_time(t)
    inputs = states[words]  # (n, L, d)
    return np.stack([
        frozen_outputs(params.c[r], params.w[r], params.b[r], config, sim.beta, inputs)[:, -1]
        for r in range(params.c.shape[0])
    ])


def path_words(sim: SimulationResult, steps: NDArray[np.int64], m: int, L: int) -> FloatArray:
    """Index of the word (Z_{k-L+1}, ..., Z_k) for each replica and step k: (R, len(steps)).
    Steps with k < L - 1 are refused (their word is not fully observed)."""
    if np.any(steps < L - 1):
        raise ValueError(f"steps must be >= L - 1 = {L - 1}")
    offsets = np.arange(-L + 1, 1)
    windows = sim.states[:, steps[:, None] + offsets[None, :]]  # (R, S, L), oldest first
    return word_index(windows, m)


def compare(sim: SimulationResult, limit: LimitResult, config: object,
            window: int = 0) -> FrozenVsLimit:
    """Both comparisons of the module docstring at the limit's times."""
    problem = limit.problem
    L = problem.word_length
    m = problem.P.shape[0]
    states = np.asarray(problem.spec.states, dtype=float)
    rms_words, max_words, path_errors = [], [], []
    for t, g in zip(limit.times, limit.g, strict=True):
        frozen = frozen_on_words(sim, t, config, states, problem.words)
        diff = frozen - g[None, :]
        rms_words.append(np.sqrt(np.sum(problem.pi_L * diff**2, axis=1)))
        max_words.append(np.max(np.abs(diff), axis=1))
        k = time_to_step(sim.N, t)
        steps = np.arange(max(k - window, L - 1), min(k + window, sim.steps - 1) + 1)
        g_steps = g_at(limit.solver, steps / sim.N)  # (S, n): g at each step's own time
        idx = path_words(sim, steps, m, L)  # (R, S)
        g_path = g_steps[np.arange(steps.size)[None, :], idx]  # (R, S)
        path_errors.append(sim.f[:, steps] - g_path)
    return FrozenVsLimit(
        times=limit.times, N=sim.N, replicas=sim.f.shape[0], word_length=L,
        rms_words=np.array(rms_words), max_words=np.array(max_words),
        path_errors=tuple(path_errors),
        rms_path=np.array([np.sqrt(np.mean(e**2)) if e.size else np.nan for e in path_errors]),
        limit_error_estimates=limit.error_estimates)


def frozen_vs_limit(
    config: object,
    times: Sequence[float] = (0.5, 1.0, 2.0),
    *,
    N: int | None = None,
    replicas: int | Sequence[int] | None = None,
    word_length: int | None = None,
    window: int = 0,
    settings: QuadratureSettings | None = None,
    limit: LimitResult | None = None,
) -> FrozenVsLimit:
    """Simulate (numerics.rnn.simulate with snapshots at ``times``), solve the limit on words
    (unless ``limit`` is given) and compare (theory.md §3). Times must be <= training.horizon."""
    if limit is None:
        limit = solve_limit(config, word_length, times, settings=settings,
                            truncation="previous")
    sim = simulate(config, N=N, replicas=replicas, snapshot_times=tuple(limit.times),
                   progress=False)
    return compare(sim, limit, config, window)
