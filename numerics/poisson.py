"""Poisson equation of a finite ergodic chain in double precision (theory.md §5).

For P (m, m) with stationary law pi (m,) and F (m,) on the states:

* solution u of (I - P) u = F~ := F - pi(F), pi(u) = 0 (:func:`poisson_solve`);
* the pathwise decomposition sum_{k<n} F~(Z_k) = u(Z_0) - u(Z_n) + M_n
  (:func:`pathwise_decomposition`);
* sigma^2(F) = 2 pi(F~ u) - pi(F~^2) (in :class:`PoissonNumeric`), cross-checked by the summed
  autocovariances Var_pi(F) + 2 sum_{k>=1} Cov(F(Z_0), F(Z_k)) with a rigorous geometric tail
  bound (:func:`autocovariance_series`) and by Monte Carlo of long paths with chi-square
  confidence intervals (:func:`variance_from_replicas`, :func:`batch_means_variance`,
  :func:`monte_carlo_asymptotic_variance`);
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
    Pu (m,) = P u; asymptotic_variance = 2 pi(F~ u) - pi(F~^2).
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
    """theory.md §5, sigma^2(F) = 2 pi(F~ u) - pi(F~^2); pi, F~, u shape (m,)."""
    return float(pi @ (2.0 * centred * u - centred * centred))


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
        asymptotic_variance=asymptotic_variance_from(pi, centred, u),
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


# ----------------------------------------------------------------------------- autocovariances


def dobrushin_coefficient(P: FloatArray) -> float:
    """delta(P) = (1/2) max_{i,j} sum_l |P[i,l] - P[j,l]|; osc(P v) <= delta(P) osc(v)."""
    P = np.asarray(P, dtype=float)
    diffs = np.abs(P[:, None, :] - P[None, :, :]).sum(axis=2)
    return float(min(1.0, 0.5 * diffs.max()))


@dataclass(frozen=True)
class AutocovarianceSeries:
    """sigma^2 = Var_pi(F) + 2 sum_{k>=1} Cov_pi(F(Z_0), F(Z_k)), truncated at K terms.

    variance = Var_pi(F); covariances (K,) = Cov_k for k = 1..K; value = truncated sum;
    tail_bound >= |2 sum_{k>K} Cov_k| (rigorous up to rounding, see autocovariance_series);
    block s and contraction delta(P^s) < 1 used by the bound.
    """

    variance: float
    covariances: FloatArray
    value: float
    tail_bound: float
    block: int
    contraction: float


def _mixing_block(P: FloatArray, max_block: int) -> tuple[int, float]:
    """Smallest s <= max_block with delta(P^s) <= 1/2, else the s with the best delta^(1/s)."""
    power = np.array(P, dtype=float)
    best: tuple[float, int, float] | None = None
    for s in range(1, max_block + 1):
        delta = dobrushin_coefficient(power)
        if delta <= 0.5:
            return s, delta
        if delta < 1.0:
            rate = delta ** (1.0 / s)
            if best is None or rate < best[0]:
                best = (rate, s, delta)
        power = power @ P
    if best is None:
        raise ValueError("delta(P^s) = 1 for all s <= max_block: chain not ergodic (or too slow)")
    return best[1], best[2]


def autocovariance_series(
    P: FloatArray,
    F: FloatArray,
    pi: FloatArray | None = None,
    tolerance: float = 1e-13,
    max_terms: int = 1_000_000,
    max_block: int = 200,
) -> AutocovarianceSeries:
    """theory.md §5, sigma^2(F) = Var_pi(F) + 2 sum_{k>=1} Cov_k from powers of P (not from u).

    Cov_k = pi(F~ w_k) with w_k = P^k F~ (iterated w_{k+1} = P w_k), stationary start.
    Tail bound (Dobrushin): since pi(w_k) = pi(F~) = 0, max|w_k| <= osc(w_k); osc(P v) <= osc(v)
    and osc(P^s v) <= delta_s osc(v) with delta_s = delta(P^s) < 1, so
        |2 sum_{k>K} Cov_k| <= 2 pi(|F~|) sum_{k>K} osc(w_k)
                            <= 2 pi(|F~|) s osc(w_K) / (1 - delta_s).
    Terms are added until this bound is <= tolerance (or max_terms). P (m, m), F (m,).
    """
    P = as_transition_matrix(P, rows_sum_to_one=True)
    pi = stationary_law(P) if pi is None else np.asarray(pi, dtype=float)
    F = np.asarray(F, dtype=float).reshape(-1)
    Ft = F - float(pi @ F)
    s, delta = _mixing_block(P, max_block)
    weight = float(pi @ np.abs(Ft))
    factor = 2.0 * weight * s / (1.0 - delta)
    w = Ft.copy()
    covariances: list[float] = []
    tail = factor * float(np.ptp(w))
    while tail > tolerance and len(covariances) < max_terms:
        w = P @ w
        covariances.append(float(pi @ (Ft * w)))
        tail = factor * float(np.ptp(w))
    variance = float(pi @ (Ft * Ft))
    value = variance + 2.0 * math.fsum(covariances)
    return AutocovarianceSeries(variance, np.array(covariances), value, tail, s, delta)


def finite_n_variance(series: AutocovarianceSeries, n: int) -> float:
    """Var_pi(S_n)/n = Var + 2 sum_{k=1}^{n-1} (1 - k/n) Cov_k for a stationary start (the
    quantity S_n/sqrt(n) Monte Carlo actually estimates; -> sigma^2 as n -> infinity)."""
    k = np.arange(1, min(n, series.covariances.size + 1))
    cov = series.covariances[: k.size]
    return float(series.variance + 2.0 * np.sum((1.0 - k / n) * cov))


# ----------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class VarianceEstimate:
    """A Monte Carlo estimate of sigma^2 with a chi-square confidence interval.

    estimate, [lower, upper] at ``confidence``; degrees_of_freedom of the chi-square law;
    method "replicas" or "batch_means".
    """

    estimate: float
    lower: float
    upper: float
    confidence: float
    degrees_of_freedom: int
    method: str

    def covers(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def _chi_square_interval(estimate: float, dof: int, confidence: float) -> tuple[float, float]:
    """dof * estimate / sigma^2 ~ chi^2_dof (Gaussian approximation, CLT for S_n/sqrt(n))."""
    from scipy.stats import chi2

    alpha = 1.0 - confidence
    lower = dof * estimate / chi2.ppf(1.0 - alpha / 2.0, dof)
    upper = dof * estimate / chi2.ppf(alpha / 2.0, dof)
    return float(lower), float(upper)


def variance_from_replicas(
    sums: FloatArray, n: int, mean: float, confidence: float = 0.99
) -> VarianceEstimate:
    """sigma^2 from R independent replicas of S_n = sum_{k<n} F(Z_k): X_r = (S_n - n mean)/sqrt(n),
    estimate (1/R) sum X_r^2 (the exact mean pi(F) is known, so R degrees of freedom).
    The estimand is Var(S_n)/n = sigma^2 + O(1/n) (finite_n_variance)."""
    sums = np.asarray(sums, dtype=float).reshape(-1)
    R = sums.size
    if R < 2:
        raise ValueError("need at least 2 replicas")
    x = (sums - n * mean) / math.sqrt(n)
    estimate = float(np.mean(x * x))
    lower, upper = _chi_square_interval(estimate, R, confidence)
    return VarianceEstimate(estimate, lower, upper, confidence, R, "replicas")


def batch_means_variance(
    values: FloatArray, n_batches: int, confidence: float = 0.99, mean: float | None = None
) -> VarianceEstimate:
    """sigma^2 by batch means on ONE long path of F-values (n,): b = n // n_batches steps per
    batch, estimate b * (sample variance of the batch means). With the exact mean known the
    chi-square law has n_batches degrees of freedom, else n_batches - 1. Bias O(1/b)."""
    values = np.asarray(values, dtype=float).reshape(-1)
    if n_batches < 2:
        raise ValueError("need at least 2 batches")
    b = values.size // n_batches
    if b < 1:
        raise ValueError("path shorter than the number of batches")
    batch_means = values[: b * n_batches].reshape(n_batches, b).mean(axis=1)
    if mean is None:
        dof = n_batches - 1
        estimate = float(b * np.var(batch_means, ddof=1))
    else:
        dof = n_batches
        estimate = float(b * np.mean((batch_means - mean) ** 2))
    lower, upper = _chi_square_interval(estimate, dof, confidence)
    return VarianceEstimate(estimate, lower, upper, confidence, dof, "batch_means")


def sample_chain_paths(
    P: FloatArray, n_states: int, replicas: int | Sequence[int], seed: int
) -> IntArray:
    """Stationary paths Z_0..Z_{n_states-1}, shape (R, n_states), replica r from the chain
    stream of numerics.seeding.replica_streams(seed, r) (reproducible per replica)."""
    from numerics.chain import sample_paths
    from numerics.seeding import replica_streams

    indices = range(replicas) if isinstance(replicas, int) else replicas
    rngs = [replica_streams(seed, r).chain for r in indices]
    return sample_paths(P, n_states, rngs)


def monte_carlo_asymptotic_variance(
    P: FloatArray,
    F: FloatArray,
    n_steps: int,
    replicas: int,
    seed: int,
    confidence: float = 0.99,
) -> VarianceEstimate:
    """theory.md §5 by Monte Carlo: R stationary paths of n steps, replicas of S_n/sqrt(n)
    centred by the exact mean pi(F) (:func:`variance_from_replicas`)."""
    P = as_transition_matrix(P, rows_sum_to_one=True)
    F = np.asarray(F, dtype=float).reshape(-1)
    pi = stationary_law(P)
    paths = sample_chain_paths(P, n_steps, replicas, seed)
    sums = np.array([math.fsum(F[path]) for path in paths])
    return variance_from_replicas(sums, n_steps, float(pi @ F), confidence)


def monte_carlo_word_asymptotic_variance(
    P: FloatArray,
    word_length: int,
    F_words: FloatArray,
    n_steps: int,
    replicas: int,
    seed: int,
    confidence: float = 0.99,
) -> VarianceEstimate:
    """sigma^2 of F on the word chain (theory.md §4-§5) by Monte Carlo: stationary BASE paths of
    n + L - 1 states, read as n consecutive words (numerics.words.path_word_indices), so the
    word path starts from pi_L; replicas of S_n/sqrt(n) centred by the exact pi_L(F)."""
    from numerics.words import path_word_indices, word_stationary_law

    P = as_transition_matrix(P, rows_sum_to_one=True)
    F_words = np.asarray(F_words, dtype=float).reshape(-1)
    m = P.shape[0]
    pi_L = word_stationary_law(stationary_law(P), P, word_length)
    states = sample_chain_paths(P, n_steps + word_length - 1, replicas, seed)
    words = path_word_indices(states, m, word_length)
    sums = np.array([math.fsum(F_words[path]) for path in words])
    return variance_from_replicas(sums, n_steps, float(pi_L @ F_words), confidence)


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
