"""Independent estimators of the asymptotic variance sigma^2(F) of a finite ergodic chain
(theory.md §5), cross-checks of the Poisson formula 2 pi(F~ u) - pi(F~^2) of
:mod:`numerics.poisson_float`:

* the summed autocovariances Var_pi(F) + 2 sum_{k>=1} Cov(F(Z_0), F(Z_k)) with a rigorous
  geometric tail bound from the Dobrushin coefficient (:func:`autocovariance_series`);
* Monte Carlo of long paths with chi-square confidence intervals
  (:func:`variance_from_replicas`, :func:`batch_means_variance`,
  :func:`monte_carlo_asymptotic_variance`, :func:`monte_carlo_word_asymptotic_variance`).
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
    return sum_variance(np.concatenate(([series.variance], series.covariances)), n)


def stationary_autocovariances(P: FloatArray, centred: FloatArray, pi: FloatArray,
                               max_lag: int) -> FloatArray:
    """theory.md §5: Cov_k = pi(F~ P^k F~) for k = 0..K, K <= max_lag, shape (K + 1,), of a
    centred F~ (m,) under the stationary law pi (m,) of P (m, m): the terms of sigma^2 =
    Cov_0 + 2 sum_{k>=1} Cov_k. P is applied as a sparse matrix (a word chain has m nonzeros
    per row, so chains of 10^5 words cost no dense power), and the series stops once
    max|P^k F~ - pi(P^k F~)| < 1e-17 max|F~|: on an ergodic chain P^k F~ tends geometrically
    to a constant, the rest is below rounding. A constant, not 0: a centring in floating
    point leaves pi(F~) at rounding size, which never decays (and the iterates tend to it
    only up to the rounding of pi itself), so a test of |P^k F~| alone ran to max_lag on
    some chains. Without that, at max_lag (the caller's largest n); a caller tells the two
    apart by the length, max_lag + 1 when it never stopped."""
    from scipy import sparse

    Ps = sparse.csr_matrix(np.asarray(P, dtype=float))
    centred = np.asarray(centred, dtype=float)
    w = centred.copy()
    scale = float(np.max(np.abs(centred))) or 1.0
    out = [float(pi @ (centred * w))]
    for _ in range(int(max_lag)):
        w = Ps @ w
        out.append(float(pi @ (centred * w)))
        if float(np.max(np.abs(w - float(pi @ w)))) < 1e-17 * scale:
            break
    return np.array(out)


def sum_variance(covariances: FloatArray, n: int) -> float:
    """Var_pi(S_n)/n = Cov_0 + 2 sum_{k=1}^{n-1} (1 - k/n) Cov_k for S_n the sum of n steps
    from a stationary start (``covariances`` = Cov_0..Cov_K as from
    :func:`stationary_autocovariances`; terms beyond K are taken as 0)."""
    k = np.arange(1, min(int(n), covariances.size))
    return float(covariances[0] + 2.0 * np.sum((1.0 - k / n) * covariances[1:k.size + 1]))


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


def chi_square_interval(estimate: float, dof: int, confidence: float) -> tuple[float, float]:
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
    lower, upper = chi_square_interval(estimate, R, confidence)
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
    lower, upper = chi_square_interval(estimate, dof, confidence)
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
