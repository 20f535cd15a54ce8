"""Finite-state Markov chains (MODEL.md §1): stationary law, ergodicity, path sampling.

``P`` is an (m, m) row-stochastic float array; states are 0-based indices into
``chain.states``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _as_stochastic(P: FloatArray) -> FloatArray:
    P = np.array(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ValueError(f"transition matrix must be square and non-empty, got shape {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("transition matrix entries must be finite and >= 0")
    return P


def stationary_law(P: FloatArray) -> FloatArray:
    """pi with pi P = pi, sum pi = 1 (MODEL.md §1), shape (m,), by the GTH algorithm.

    Grassmann-Taksar-Heyman state reduction: eliminate states m-1, ..., 1 by censoring (each
    elimination only adds non-negative numbers and divides by a sum of off-diagonal
    probabilities, no subtraction), then back-substitute. Entrywise relative accuracy, even for
    nearly reducible chains. Requires an irreducible chain; raises ValueError when a reduction
    step meets a zero exit probability (a state that cannot reach the lower-numbered ones), which
    cannot happen for irreducible chains. Some reducible chains with a unique stationary law
    (one closed class, reachable last) pass and give that law.
    """
    A = _as_stochastic(P)
    m = A.shape[0]
    for n in range(m - 1, 0, -1):
        exit_mass = A[n, :n].sum()
        if exit_mass <= 0.0:
            raise ValueError(
                f"chain is not irreducible: state {n} cannot reach states 0..{n - 1} "
                "(GTH reduction needs an irreducible chain)"
            )
        A[:n, n] /= exit_mass
        A[:n, :n] += np.outer(A[:n, n], A[n, :n])
    pi = np.zeros(m)
    pi[0] = 1.0
    for j in range(1, m):
        pi[j] = pi[:j] @ A[:j, j]
    return pi / pi.sum()


def _reachable(pattern: np.ndarray, start: int) -> np.ndarray:
    seen = np.zeros(pattern.shape[0], dtype=bool)
    seen[start] = True
    frontier = [start]
    while frontier:
        nxt = []
        for u in frontier:
            for v in np.flatnonzero(pattern[u] & ~seen):
                seen[v] = True
                nxt.append(int(v))
        frontier = nxt
    return seen


def _local_is_irreducible(pattern: np.ndarray) -> bool:
    """Strong connectivity of the directed graph i -> j iff pattern[i, j]."""
    return bool(_reachable(pattern, 0).all() and _reachable(pattern.T, 0).all())


def _local_period(pattern: np.ndarray) -> int:
    """Period of an irreducible pattern: gcd over edges (u, v) of level(u) + 1 - level(v)."""
    m = pattern.shape[0]
    level = np.full(m, -1)
    level[0] = 0
    frontier = [0]
    while frontier:
        nxt = []
        for u in frontier:
            for v in np.flatnonzero(pattern[u]):
                if level[v] < 0:
                    level[v] = level[u] + 1
                    nxt.append(int(v))
        frontier = nxt
    g = 0
    for u, v in zip(*np.nonzero(pattern), strict=True):
        g = int(np.gcd(g, abs(int(level[u]) + 1 - int(level[v]))))
    return g


def is_ergodic(P: FloatArray) -> bool:
    """True iff P is irreducible and aperiodic (MODEL.md §1), judged on the pattern P > 0.

    Uses derivations.chain_structure (exact, pure Python) when available, else an equivalent
    graph search (strong connectivity + period by BFS levels).
    """
    pattern = _as_stochastic(P) > 0
    try:
        from derivations.chain_structure import is_aperiodic, is_irreducible
    except ImportError:
        return _local_is_irreducible(pattern) and _local_period(pattern) == 1
    rows = pattern.tolist()
    return bool(is_irreducible(rows) and is_aperiodic(rows))


def _inverse_cdf_tables(P: FloatArray) -> FloatArray:
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0  # rows sum to 1 up to rounding; make the last bin absorb u close to 1
    return cum


def _draw(cum_rows: FloatArray, u: FloatArray) -> IntArray:
    """Smallest j with u < cum_rows[..., j] (never a zero-probability state)."""
    return (u[:, None] >= cum_rows).sum(axis=1).astype(np.int64)


def sample_paths(
    P: FloatArray,
    n_steps: int,
    rngs: Sequence[np.random.Generator],
    initial: FloatArray | None = None,
) -> IntArray:
    """Chain paths Z_0..Z_{n_steps-1}, shape (R, n_steps), R = len(rngs) (MODEL.md §1).

    Z_0 ~ ``initial`` (default: the stationary law pi), then Z_{k+1} ~ P[Z_k, :]. Replica r uses
    only ``rngs[r]`` (n_steps uniforms, one per step, by inverse CDF), so its path does not
    depend on which other replicas are sampled with it. Loop over time, vectorised over R.
    """
    P = _as_stochastic(P)
    m = P.shape[0]
    if n_steps < 0:
        raise ValueError("n_steps must be >= 0")
    law = stationary_law(P) if initial is None else np.asarray(initial, dtype=float)
    if law.shape != (m,) or np.any(law < 0) or not np.isclose(law.sum(), 1.0):
        raise ValueError("initial law must be a probability vector of length m")
    R = len(rngs)
    paths = np.zeros((R, n_steps), dtype=np.int64)
    if n_steps == 0 or R == 0:
        return paths
    uniforms = np.stack([rng.random(n_steps) for rng in rngs])
    cum_initial = np.cumsum(law)
    cum_initial[-1] = 1.0
    cum = _inverse_cdf_tables(P)
    paths[:, 0] = _draw(np.broadcast_to(cum_initial, (R, m)), uniforms[:, 0])
    for k in range(1, n_steps):
        paths[:, k] = _draw(cum[paths[:, k - 1]], uniforms[:, k])
    return paths
