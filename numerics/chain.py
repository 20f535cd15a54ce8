"""Finite-state Markov chains (theory.md §1): stationary law, ergodicity, path sampling.

``P`` is an (m, m) row-stochastic float array; states are 0-based indices into
``chain.states``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from derivations.chain_structure import is_aperiodic, is_irreducible

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def as_transition_matrix(P: FloatArray, *, rows_sum_to_one: bool = False) -> FloatArray:
    """A new float copy of the transition matrix P (m, m), checked: square, non-empty, entries
    finite and >= 0; with ``rows_sum_to_one`` also |row sum - 1| <= 1e-12 m, the acceptance of
    derivations.inputs.config (decimals typed with 12 significant digits; rounding alone gives
    <= m eps). Raises ValueError. The one home of these checks for every numerics module."""
    P = np.array(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ValueError(f"transition matrix must be square and non-empty, got shape {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("transition matrix entries must be finite and >= 0")
    if rows_sum_to_one and np.any(np.abs(P.sum(axis=1) - 1.0) > 1e-12 * P.shape[0]):
        raise ValueError("transition matrix rows must sum to 1")
    return P


def stationary_law(P: FloatArray) -> FloatArray:
    """pi with pi P = pi, sum pi = 1 (theory.md §1), shape (m,), by the GTH algorithm.

    Grassmann-Taksar-Heyman state reduction: eliminate states m-1, ..., 1 by censoring (each
    elimination only adds non-negative numbers and divides by a sum of off-diagonal
    probabilities, no subtraction), then back-substitute. Entrywise relative accuracy, even for
    nearly reducible chains. Requires an irreducible chain; raises ValueError when a reduction
    step meets a zero exit probability (a state that cannot reach the lower-numbered ones), which
    cannot happen for irreducible chains. Some reducible chains with a unique stationary law
    (one closed class, reachable last) pass and give that law.
    """
    A = as_transition_matrix(P)
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


def is_ergodic(P: FloatArray) -> bool:
    """True iff P is irreducible and aperiodic (theory.md §1), judged exactly on the pattern
    P > 0 by derivations.chain_structure."""
    rows = (as_transition_matrix(P) > 0).tolist()
    return bool(is_irreducible(rows) and is_aperiodic(rows))


def reversed_kernel(P: FloatArray, pi: FloatArray | None = None) -> FloatArray:
    """Time reversal of the stationary chain: Prev[j, i] = pi_i P[i, j] / pi_j, shape (m, m).

    (Z_{-k})_k is then a Markov chain with kernel Prev when (Z_k) is stationary.
    """
    P = as_transition_matrix(P)
    pi = stationary_law(P) if pi is None else np.asarray(pi, dtype=float)
    return (pi[:, None] * P).T / pi[:, None]


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
    """Chain paths Z_0..Z_{n_steps-1}, shape (R, n_steps), R = len(rngs) (theory.md §1).

    Z_0 ~ ``initial`` (default: the stationary law pi), then Z_{k+1} ~ P[Z_k, :]. Replica r uses
    only ``rngs[r]`` (one uniform per state, by inverse CDF, in time order), so its path does
    not depend on which other replicas are sampled with it. Loop over time, vectorised over R.
    """
    P = as_transition_matrix(P)
    m = P.shape[0]
    if n_steps < 0:
        raise ValueError("n_steps must be >= 0")
    law = stationary_law(P) if initial is None else np.asarray(initial, dtype=float)
    if law.shape != (m,) or np.any(law < 0) or not np.isclose(law.sum(), 1.0):
        raise ValueError("initial law must be a probability vector of length m")
    R = len(rngs)
    if n_steps == 0 or R == 0:
        return np.zeros((R, n_steps), dtype=np.int64)
    cum_initial = np.cumsum(law)
    cum_initial[-1] = 1.0
    first = np.array([rng.random() for rng in rngs])
    start = _draw(np.broadcast_to(cum_initial, (R, m)), first)
    rest = extend_paths(P, start, n_steps - 1, rngs)
    return np.concatenate([start[:, None], rest], axis=1)


def extend_paths(
    P: FloatArray, start: IntArray, n_steps: int, rngs: Sequence[np.random.Generator]
) -> IntArray:
    """The next n_steps states after ``start`` (R,): Z_1..Z_{n_steps} given Z_0 = start,
    shape (R, n_steps). Replica r uses only ``rngs[r]`` (n_steps uniforms)."""
    P = as_transition_matrix(P)
    start = np.asarray(start, dtype=np.int64)
    R = len(rngs)
    if start.shape != (R,):
        raise ValueError(f"need one start state per generator, got {start.shape} for R = {R}")
    paths = np.zeros((R, n_steps), dtype=np.int64)
    if n_steps == 0 or R == 0:
        return paths
    uniforms = np.stack([rng.random(n_steps) for rng in rngs])
    cum = _inverse_cdf_tables(P)
    current = start
    for k in range(n_steps):
        current = _draw(cum[current], uniforms[:, k])
        paths[:, k] = current
    return paths
