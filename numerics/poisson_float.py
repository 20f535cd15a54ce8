"""Poisson equation of a finite ergodic chain in double precision (theory.md §5): the float
tier of derivations.poisson_exact.

For P (m, m) with stationary law pi (m,) and F (m,) on the states:

* solution u of (I - P) u = F~ := F - pi(F), pi(u) = 0 (:func:`poisson_solve`);
* the pathwise decomposition sum_{k<n} F~(Z_k) = u(Z_0) - u(Z_n) + M_n
  (:func:`pathwise_decomposition`);
* sigma^2(F) = 2 pi(F~ u) - pi(F~^2), evaluated as the variance of a martingale increment
  (:func:`martingale_variance`, in :class:`PoissonNumeric`; its independent estimators,
  summed autocovariances and Monte Carlo, are in :mod:`numerics.variance_estimators`);
* the drift-fluctuation functional (1/N) sum_{k<Nt} F~(Z_k) and its predicted scale
  sqrt(sigma^2 t / N) (:func:`drift_fluctuation`, :func:`drift_fluctuation_scale`);
* all of it on the word chain of length L (:func:`word_poisson_solve`).

Method for u: pi by the GTH algorithm (numerics.chain.stationary_law, entrywise accurate), then
ONE LU solve with partial pivoting (LAPACK gesv via numpy.linalg.solve) of the regular system
(I - P + 1 pi) u = F~; the fundamental matrix Z is never formed. The system matrix has
||.||_inf <= 3, so the solve is backward stable with residual ||F~ - (I - P + 1 pi) u||_inf of
order m eps ||u||_inf (:func:`residual_bound`). Its solution satisfies pi u = pi F~ = 0 exactly in
exact arithmetic (pi (I - P + 1 pi) = pi); the O(eps) rounding along 1 is then projected out
(u <- u - (pi u) 1), which leaves (I - P) u unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from numerics.chain import as_transition_matrix, stationary_law

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

EPS = float(np.finfo(float).eps)


# ----------------------------------------------------------------------------- the solution


@dataclass(frozen=True)
class PoissonNumeric:
    """Poisson data of (P, F) in double precision (theory.md §5).

    transition (m, m); pi (m,); values (m,) = F; mean = pi(F); centred (m,) = F~; u (m,);
    Pu (m,) = P u; asymptotic_variance = 2 pi(F~ u) - pi(F~^2), computed in the equal
    non-negative form of :func:`martingale_variance`. Both forms assume pi is the stationary
    law: with another law passed to :func:`poisson_solve` (a rival), u is no Poisson solution,
    and a rival's variance is the formula (:func:`asymptotic_variance_from`), not this field.
    """

    transition: FloatArray
    pi: FloatArray
    values: FloatArray
    mean: float
    centred: FloatArray
    u: FloatArray
    Pu: FloatArray
    asymptotic_variance: float

    @property
    def residual(self) -> FloatArray:
        """F~ - (I - P) u, shape (m,) (zero in exact arithmetic)."""
        return self.centred - self.u + self.Pu


def fundamental_matrix(P: FloatArray, pi: FloatArray | None = None) -> FloatArray:
    """theory.md §5, Z = (I - P + 1 pi)^{-1}, shape (m, m) (formed explicitly: for inspection
    and tests; :func:`poisson_solve` does not use it)."""
    P = as_transition_matrix(P, rows_sum_to_one=True)
    pi = stationary_law(P) if pi is None else np.asarray(pi, dtype=float)
    m = P.shape[0]
    return np.linalg.inv(np.eye(m) - P + np.outer(np.ones(m), pi))


def asymptotic_variance_from(pi: FloatArray, centred: FloatArray, u: FloatArray) -> float:
    """theory.md §5, sigma^2(F) = 2 pi(F~ u) - pi(F~^2); pi, F~, u shape (m,). For any u: a
    formula, not an estimate, so a wrong u gives a wrong value (the check of the exact tier)."""
    return float(pi @ (2.0 * centred * u - centred * centred))


ROW_BLOCK = 256  # rows of P per block of :func:`martingale_variance`: an (256, m) temporary


def martingale_variance(P: FloatArray, pi: FloatArray, u: FloatArray) -> float:
    """theory.md §5, sigma^2(F) as the stationary variance of one martingale increment,
    sum_i pi_i sum_j P_ij (u_j - (P u)_i)^2; P (m, m), pi (m,), u (m,) with (I - P) u = F~.

    Equal to 2 pi(F~ u) - pi(F~^2) when F~ = u - P u (expand the square: both are
    pi(u^2) - pi((P u)^2)), but a sum of non-negative terms, so it cannot round below 0: the
    theory.md §5 form subtracts two numbers of size pi(F~^2), and for an F that is constant up to
    rounding it returned about -3e-30. Rows are taken ROW_BLOCK at a time, so the temporary is
    (ROW_BLOCK, m), not (m, m).
    """
    Pu = P @ u
    total = 0.0
    for start in range(0, P.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        increments = u[None, :] - Pu[rows, None]
        total += float(pi[rows] @ np.einsum("ij,ij->i", P[rows], increments * increments))
    return total


def poisson_solve(P: FloatArray, F: FloatArray, pi: FloatArray | None = None) -> PoissonNumeric:
    """theory.md §5: u with (I - P) u = F - pi(F), pi(u) = 0, by one LU solve of
    (I - P + 1 pi) u = F~ (module docstring). P (m, m), F (m,), pi (m,) optional (default GTH).
    """
    P = as_transition_matrix(P, rows_sum_to_one=True)
    m = P.shape[0]
    F = np.asarray(F, dtype=float).reshape(-1)
    if F.shape != (m,):
        raise ValueError(f"F has {F.size} values but the chain has {m} states")
    pi = stationary_law(P) if pi is None else np.asarray(pi, dtype=float)
    mean = float(pi @ F)
    centred = F - mean
    system = np.eye(m) - P + np.outer(np.ones(m), pi)
    u = np.linalg.solve(system, centred)
    u = u - float(pi @ u)
    Pu = P @ u
    return PoissonNumeric(
        transition=P,
        pi=pi,
        values=F,
        mean=mean,
        centred=centred,
        u=u,
        Pu=Pu,
        asymptotic_variance=martingale_variance(P, pi, u),
    )


def residual_bound(solution: PoissonNumeric) -> float:
    """A-priori bound on max |F~ - (I - P) u| for the backward-stable LU solve (module doc).

    Backward stability: (A + dA) u = F~ with |dA| <= gamma_{3m} |L||U| (Higham, Thm 9.4);
    with growth factor ~1 for these diagonally dominant-like systems ||dA||_inf <= 3m eps ||A||_inf
    and ||A||_inf <= 3 (I - P has norm <= 2, 1 pi has norm 1): 9 m eps max|u|. The computed F~
    is centred only to rounding: pi F~ = O((m + 1) eps max|F|), and this constant part of F~ is
    NOT in the range of I - P (the solve maps it to a multiple of 1, removed by the
    pi-projection), so it stays in the residual: + (m + 2) eps max|F|. The projection and the
    evaluation of F~ - u + P u add (m + 2) eps (max|u| + max|F~|). Independent of the computed
    residual, so a wrong u is NOT covered by it.
    """
    m = solution.u.size
    u_max = float(np.max(np.abs(solution.u)))
    f_max = float(np.max(np.abs(solution.centred)))
    values_max = float(np.max(np.abs(solution.values)))
    return EPS * (9.0 * m * u_max + (m + 2.0) * (u_max + f_max + values_max))


def martingale_increments(P: FloatArray, u: FloatArray) -> FloatArray:
    """theory.md §5, D[i, j] = u(j) - (P u)(i), the increment of M over the step i -> j.
    P (m, m), u (m,) -> (m, m); sum_j P[i, j] D[i, j] = 0 for every i."""
    P = np.asarray(P, dtype=float)
    u = np.asarray(u, dtype=float)
    return u[None, :] - (P @ u)[:, None]


# ----------------------------------------------------------------------------- pathwise


@dataclass(frozen=True)
class PathwiseDecomposition:
    """theory.md §5: sum_{k<n} F~(Z_k) = u(Z_0) - u(Z_n) + M_n on each path.

    n steps; centred_sum, boundary = u(Z_0) - u(Z_n), martingale = M_n, discrepancy =
    centred_sum - boundary - martingale, all shape (R,); tolerance: the rounding-error bound of
    :func:`pathwise_decomposition` (a scalar, same for all paths).
    """

    n: int
    centred_sum: FloatArray
    boundary: FloatArray
    martingale: FloatArray
    discrepancy: FloatArray
    tolerance: float


def pathwise_decomposition(solution: PoissonNumeric, paths: IntArray) -> PathwiseDecomposition:
    """The martingale decomposition of theory.md §5 along state paths Z_0..Z_n.

    paths: (n+1,) or (R, n+1) state indices. Each sum is computed with math.fsum (correctly
    rounded), so the only errors are (a) the residual r = F~ - (I - P) u of the solve, which
    enters exactly as sum_{k<n} r(Z_k) (for ANY vector u: sum F~ = u(Z_0) - u(Z_n) + M_n +
    sum r(Z_k)), bounded by n * residual_bound; (b) the rounding of P u and of each increment,
    <= (m + 2) eps max|u| per step; (c) the three final roundings, <= eps/2 each relative to
    the sums. Tolerance = n eps ((9m + 2(m + 2)) max|u| + (m + 2)(max|F~| + max|F|)) + eps (sum
    of |sums|), i.e. O(n m eps max(|u|, |F|)): a wrong u or centring breaks it by O(n).
    """
    paths = np.asarray(paths, dtype=np.int64)
    if paths.ndim == 1:
        paths = paths[None, :]
    if paths.ndim != 2 or paths.shape[1] < 1:
        raise ValueError("paths must have shape (n+1,) or (R, n+1)")
    m = solution.u.size
    if paths.min() < 0 or paths.max() >= m:
        raise ValueError("path states out of range")
    n = paths.shape[1] - 1
    u, Pu, Ft = solution.u, solution.Pu, solution.centred
    sums, boundary, martingale = [], [], []
    for path in paths:
        sums.append(math.fsum(Ft[path[:-1]]))
        boundary.append(float(u[path[0]] - u[path[-1]]))
        martingale.append(math.fsum(u[path[1:]] - Pu[path[:-1]]))
    sums_a, boundary_a, martingale_a = np.array(sums), np.array(boundary), np.array(martingale)
    discrepancy = sums_a - boundary_a - martingale_a
    u_max = float(np.max(np.abs(u)))
    f_max = float(np.max(np.abs(Ft)))
    per_step = residual_bound(solution) + EPS * (m + 2.0) * u_max
    scale = float(np.max(np.abs(sums_a) + np.abs(boundary_a) + np.abs(martingale_a)))
    tolerance = n * per_step + EPS * (scale + 2.0 * u_max + f_max)
    return PathwiseDecomposition(n, sums_a, boundary_a, martingale_a, discrepancy, tolerance)


# ----------------------------------------------------------------------------- drift functional


def drift_fluctuation(
    values: FloatArray, mean: float, N: int, times: Sequence[float]
) -> FloatArray:
    """theory.md §5 drift fluctuation (1/N) sum_{k < floor(N t)} [F(Z_k) - pi F].

    values (..., n) = F(Z_k) along paths, n >= floor(N max(times)); returns (..., len(times)).
    """
    values = np.asarray(values, dtype=float)
    steps = [int(math.floor(N * t)) for t in times]
    if max(steps, default=0) > values.shape[-1]:
        raise ValueError("paths shorter than N * max(times)")
    partial = np.concatenate(
        [np.zeros(values.shape[:-1] + (1,)), np.cumsum(values - mean, axis=-1)], axis=-1
    )
    return partial[..., steps] / N


def drift_fluctuation_scale(sigma2: float, N: int, times: Sequence[float]) -> FloatArray:
    """Predicted standard deviation sqrt(sigma^2 t / N) of :func:`drift_fluctuation`
    (CLT for S_{Nt}/N; theory.md §5 O(N^{-1/2}))."""
    return np.sqrt(sigma2 * np.asarray(times, dtype=float) / N)


# ----------------------------------------------------------------------------- word chain


def word_poisson_solve(P: FloatArray, word_length: int, F_words: FloatArray) -> PoissonNumeric:
    """theory.md §4-§5: the Poisson solution on the word chain of length L.

    P (m, m) base chain; F_words (m^L,) in numerics.words.enumerate_words order (oldest symbol
    first). pi_L from the product formula with the GTH pi of the base chain.
    """
    from numerics.words import word_stationary_law, word_transition_matrix

    P = as_transition_matrix(P, rows_sum_to_one=True)
    pi = stationary_law(P)
    Q = word_transition_matrix(P, word_length)
    pi_L = word_stationary_law(pi, P, word_length)
    return poisson_solve(Q, F_words, pi=pi_L)
