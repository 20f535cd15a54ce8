"""Double-precision Poisson numerics (numerics.poisson_float, numerics.variance_estimators)
against the exact tier (theory.md §5, §7).

References are the exact SymPy solutions of derivations.poisson_exact (never the code under test).
Every tolerance is a rounding-error bound whose derivation is stated where it is used.
Negative controls: the uniform-centred solution, a perturbed u, and the naive i.i.d. variance.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from test_poisson_exact import rational_ergodic_chains  # same tests/ directory (pytest prepend)

from derivations import poisson_exact as dp
from derivations import word_chain as wc
from numerics import poisson_float as npo
from numerics import variance_estimators as ve

R = sp.Rational
EPS = np.finfo(float).eps


def _floats(matrix) -> np.ndarray:
    return np.array(sp.Matrix(matrix), dtype=float)


def _uniform_centred(solution: npo.PoissonNumeric) -> npo.PoissonNumeric:
    """NEGATIVE CONTROL: the same solve, but F centred by the uniform mean instead of pi(F)."""
    F = solution.values
    centred = F - F.mean()
    m = F.size
    A = np.eye(m) - solution.transition + np.outer(np.ones(m), solution.pi)
    u = np.linalg.solve(A, centred)
    return dataclasses.replace(
        solution,
        mean=float(F.mean()),
        centred=centred,
        u=u,
        Pu=solution.transition @ u,
        asymptotic_variance=npo.asymptotic_variance_from(solution.pi, centred, u),
    )


# a strongly correlated 3-state chain and the hand-solvable two-state chain
P3 = [[R(8, 10), R(1, 10), R(1, 10)], [R(1, 20), R(9, 10), R(1, 20)], [R(1, 5), 0, R(4, 5)]]
F3 = [2, -1, 3]
P2 = [[R(1, 2), R(1, 2)], [R(1, 4), R(3, 4)]]
F2 = [1, 0]


# ----------------------------------------------------------------------------- solution


@given(rational_ergodic_chains())
@settings(max_examples=20)
def test_numeric_solution_matches_exact(chain):
    P, F = chain
    exact = dp.solve_poisson(P, F)
    num = npo.poisson_solve(_floats(P), np.array(F, float))
    pi_exact = _floats(exact.pi).ravel()
    u_exact = _floats(exact.u).ravel()
    # the a-priori residual bound of the LU solve holds
    assert np.max(np.abs(num.residual)) <= npo.residual_bound(num)
    # forward error: u_num - u = Z (residual + perturbation of the data), so
    # |u_num - u| <= ||Z||_inf (residual_bound + |dA| |u| + |d F~|) with dA from rounding P
    # (eps/2 relative) and from the GTH pi (its measured error vs the exact pi), d F~ likewise.
    Z_norm = float(np.max(np.sum(np.abs(_floats(exact.fundamental)), axis=1)))
    pi_err = float(np.sum(np.abs(num.pi - pi_exact)))
    u_max, f_max = float(np.max(np.abs(u_exact))), float(np.max(np.abs(F)))
    data_err = (EPS + pi_err) * u_max + (pi_err + EPS) * f_max
    bound = Z_norm * (npo.residual_bound(num) + data_err)
    assert np.max(np.abs(num.u - u_exact)) <= bound
    # pi-projection u <- u - (pi u) 1: pi u is then the rounding of m-term sums, <= 4 m eps
    # times (max|u| + the removed constant, which is at most the residual bound)
    projected = np.max(np.abs(num.u)) + npo.residual_bound(num)
    assert abs(float(num.pi @ num.u)) <= 4 * len(F) * EPS * projected


def test_negative_control_uniform_centring_breaks_the_equation():
    num = npo.poisson_solve(_floats(P3), np.array(F3, float))
    bad = _uniform_centred(num)
    # (I - P) u_bad = F~ (not F - mean_unif): residual = c = pi F - mean_unif, far above bound
    c = num.mean - float(np.mean(F3))
    assert abs(c) > 0.1
    assert np.max(np.abs(bad.residual)) > 1e6 * npo.residual_bound(bad)


# ----------------------------------------------------------------------------- pathwise


def _pathwise_cases():
    n = 20_000
    return [
        ("two-state", _floats(P2), np.array(F2, float), n),
        ("three-state", _floats(P3), np.array(F3, float), n),
    ]


@pytest.mark.parametrize("name,P,F,n", _pathwise_cases())
def test_pathwise_martingale_decomposition(name, P, F, n):
    """sum_{k<n} F~(Z_k) = u(Z_0) - u(Z_n) + M_n to rounding error. Tolerance (documented in
    numerics.poisson_float.pathwise_decomposition): n * (residual bound + (m+2) eps max|u|) + final
    roundings, i.e. O(n m eps max|u|); it is asserted to be of that size and 1000x smaller
    than |M_n|, so it is not vacuous, and the negative controls break the identity by O(n)."""
    sol = npo.poisson_solve(P, F)
    paths = ve.sample_chain_paths(P, n + 1, 3, seed=11)
    dec = npo.pathwise_decomposition(sol, paths)
    m = F.size
    size = max(np.max(np.abs(sol.u)), np.max(np.abs(sol.values)))
    scale = n * EPS * (13 * m + 8) * size
    assert dec.tolerance <= 2 * scale  # the tolerance is the n m eps max(|u|, |F|) estimate
    assert np.all(np.abs(dec.discrepancy) <= dec.tolerance), (dec.discrepancy, dec.tolerance)
    # the martingale really fluctuates (the identity is not trivially 0 = 0)
    assert np.all(np.abs(dec.martingale) > 1e3 * dec.tolerance)

    # NEGATIVE CONTROL 1: uniform centring: discrepancy = n c (c = pi F - mean_unif)
    bad = npo.pathwise_decomposition(_uniform_centred(sol), paths)
    assert np.all(np.abs(bad.discrepancy) > 1e3 * bad.tolerance)
    # NEGATIVE CONTROL 2: u perturbed by 1e-6 (non-constant): residual 1e-6-ish per step
    rng = np.random.default_rng(0)
    u_bad = sol.u + 1e-6 * rng.standard_normal(m)
    perturbed = dataclasses.replace(sol, u=u_bad, Pu=P @ u_bad)
    worse = npo.pathwise_decomposition(perturbed, paths)
    assert np.any(np.abs(worse.discrepancy) > worse.tolerance)


def test_pathwise_on_word_chain():
    """The same identity on the word chain (L = 3) along the word path of a base path."""
    from numerics.words import path_word_indices

    P = _floats(P3)
    L = 3
    F_words = np.sin(np.arange(27.0))  # any function on words
    sol = npo.word_poisson_solve(P, L, F_words)
    states = ve.sample_chain_paths(P, 10_000 + L, 2, seed=5)
    word_paths = path_word_indices(states, 3, L)
    dec = npo.pathwise_decomposition(sol, word_paths)
    size = max(np.max(np.abs(sol.u)), np.max(np.abs(sol.values)))
    scale = 10_000 * EPS * (13 * 27 + 8) * size
    assert dec.tolerance <= 2 * scale
    assert np.all(np.abs(dec.martingale) > 1e3 * dec.tolerance)
    assert np.all(np.abs(dec.discrepancy) <= dec.tolerance)
    bad = npo.pathwise_decomposition(_uniform_centred(sol), word_paths)
    assert np.all(np.abs(bad.discrepancy) > 1e3 * bad.tolerance)


def test_martingale_increments_have_zero_conditional_mean():
    P = _floats(P3)
    sol = npo.poisson_solve(P, np.array(F3, float))
    D = npo.martingale_increments(P, sol.u)
    # sum_j P_ij D_ij = (P u)_i - (P u)_i: rounding only, <= 2 m eps max|u|
    assert np.max(np.abs(np.sum(P * D, axis=1))) <= 2 * 3 * EPS * np.max(np.abs(sol.u)) * 4


# ----------------------------------------------------------------------------- variance


def _rounding_allowance(series: ve.AutocovarianceSeries, F: np.ndarray, m: int) -> float:
    """Rounding in the series: each w_k = P w_{k-1} adds <= m eps max|w| error, which then
    contracts like the signal (<= s/(1-delta) amplification), over K terms; the terms are
    weighted by pi(|F~|) <= max|F~| and doubled. Plus the Var term and fsum: eps * value."""
    K = max(series.covariances.size, 1)
    f = float(np.max(np.abs(F - F.mean()))) + float(np.max(np.abs(F)))
    amplification = series.block / (1.0 - series.contraction)
    return 4.0 * EPS * K * m * f * f * amplification + 4.0 * EPS * abs(series.value)


@given(rational_ergodic_chains())
@settings(max_examples=20)
def test_asymptotic_variance_equals_autocovariance_sum(chain):
    P, F = chain
    m = len(F)
    Pf, Ff = _floats(P), np.array(F, float)
    exact = float(dp.solve_poisson(P, F).asymptotic_variance)
    num = npo.poisson_solve(Pf, Ff)
    series = ve.autocovariance_series(Pf, Ff, tolerance=1e-12)
    allowance = series.tail_bound + _rounding_allowance(series, Ff, m)
    assert abs(series.value - exact) <= allowance
    # the Poisson-based value (2 pi(F~ u) - pi(F~^2)) agrees with both
    assert abs(num.asymptotic_variance - exact) <= 1e-12 * max(1.0, exact) + allowance
    # NEGATIVE CONTROL: uniform centring gives sigma^2 + c^2 (exact algebra, see exact tests)
    c = num.mean - float(np.mean(F))
    if abs(c) > 1e-4:
        bad = _uniform_centred(num).asymptotic_variance
        assert abs(bad - series.value) > allowance


@given(rational_ergodic_chains(), st.sampled_from([9.0, -7.5, 1e3, 0.1]))
@settings(max_examples=30)
def test_asymptotic_variance_of_a_constant_is_never_negative(chain, constant):
    """sigma^2 of a constant F is 0; in floats F~ is rounding noise, and sigma^2 must stay >= 0
    (it is a variance). Bound on its size: F~ = F - pi(F) is at most (m + 2) eps |c| (an
    m-term dot product), u = Z F~ at most ||Z||_inf times that with ||Z||_inf <= 1e4 for these
    small-denominator chains (generous), and sigma^2 <= 4 max|u|^2. NEGATIVE CONTROL: the
    theory.md §5 form 2 pi(F~ u) - pi(F~^2) rounds below 0 on the default chain with F = 9
    (measured -3.2e-30 before the martingale form)."""
    P, F = chain
    m = len(F)
    num = npo.poisson_solve(_floats(P), np.full(m, constant))
    assert num.asymptotic_variance >= 0.0
    assert num.asymptotic_variance <= 4.0 * (1e4 * (m + 2) * EPS * abs(constant)) ** 2


def test_default_chain_constant_variance_is_zero_or_positive():
    # the built-in default chain (`rnnkl config`), where `rnnkl poisson --function 9` printed
    # sigma^2 = -3.2e-30
    P = _floats([[R(1, 5), R(1, 2), R(3, 10)], [R(1, 2), R(1, 4), R(1, 4)],
                 [R(3, 10), R(3, 10), R(2, 5)]])
    num = npo.poisson_solve(P, np.full(P.shape[0], 9.0))
    assert num.asymptotic_variance >= 0.0
    # the two forms of sigma^2 agree to rounding on the same solution
    assert abs(npo.asymptotic_variance_from(num.pi, num.centred, num.u)
               - num.asymptotic_variance) <= 1e-28


@given(rational_ergodic_chains())
@settings(max_examples=20)
def test_martingale_variance_equals_the_theory_form(chain):
    """pi(Var of the increment of M) = 2 pi(F~ u) - pi(F~^2) when (I - P) u = F~ (theory.md §5;
    both equal pi(u^2) - pi((P u)^2)). With the solve's residual r = F~ - (I - P) u the model
    form is the martingale form + 2 pi(r P u) - pi(r^2), so they differ by at most
    2 max|r| max|u| + max|r|^2 (max|P u| <= max|u|), plus rounding: each is a sum of O(m^2)
    products of size max(|u|, |F~|)^2, so 8 m^2 eps that size covers both."""
    P, F = chain
    m = len(F)
    num = npo.poisson_solve(_floats(P), np.array(F, float))
    u_max = float(np.max(np.abs(num.u)))
    size = max(u_max, float(np.max(np.abs(num.centred)))) ** 2
    r_max = float(np.max(np.abs(num.residual)))
    model = npo.asymptotic_variance_from(num.pi, num.centred, num.u)
    assert abs(npo.martingale_variance(num.transition, num.pi, num.u) - model) \
        <= 8 * m * m * EPS * size + 2 * r_max * u_max + r_max**2
    # NEGATIVE CONTROL: with u off by a non-constant vector the two forms differ
    bad = num.u + 0.1 * np.arange(m)
    assert abs(npo.martingale_variance(num.transition, num.pi, bad)
               - npo.asymptotic_variance_from(num.pi, num.centred, bad)) > 1e-6


def test_autocovariance_series_on_word_chain():
    from numerics.words import word_stationary_law, word_transition_matrix

    P = _floats(P3)
    L = 2
    F_words = np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.0, -1.0, 2.0, 0.25])
    exact = dp.solve_poisson(wc.word_transition_matrix(P3, L), [sp.nsimplify(v) for v in F_words])
    Q = word_transition_matrix(P, L)
    pi = word_stationary_law(npo.poisson_solve(P, np.zeros(3)).pi, P, L)
    series = ve.autocovariance_series(Q, F_words, pi=pi, tolerance=1e-12)
    allowance = series.tail_bound + _rounding_allowance(series, F_words, 9)
    assert abs(series.value - float(exact.asymptotic_variance)) <= allowance
    num = npo.word_poisson_solve(P, L, F_words)
    assert abs(num.asymptotic_variance - float(exact.asymptotic_variance)) <= allowance


def test_tail_bound_is_an_upper_bound():
    """Truncating early (tolerance 1e-3) must leave an error below the reported tail bound."""
    Pf, Ff = _floats(P3), np.array(F3, float)
    exact = float(dp.solve_poisson(P3, F3).asymptotic_variance)
    series = ve.autocovariance_series(Pf, Ff, tolerance=1e-3)
    assert 0 < abs(series.value - exact) <= series.tail_bound


# ----------------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_variance_covers_exact_value():
    """10 independent seeds, replicas of S_n/sqrt(n) (R = 200, n = 2000), 99% chi-square CIs.
    Misses ~ Binomial(10, 0.01): P(misses >= 3) ~ 1e-4, so at most 2 misses are allowed.
    The estimand Var(S_n)/n differs from sigma^2 by O(1/n): computed exactly below and checked
    to be < 2% of the CI half-width, so the CI is testing sigma^2 itself.
    NEGATIVE CONTROL: the i.i.d. variance Var_pi(F) (ignoring correlations; sigma^2 is ~7x it
    here) must be outside almost every CI."""
    Pf, Ff = _floats(P3), np.array(F3, float)
    exact = float(dp.solve_poisson(P3, F3).asymptotic_variance)
    series = ve.autocovariance_series(Pf, Ff)
    n, replicas = 2000, 200
    bias = abs(ve.finite_n_variance(series, n) - exact)
    misses, iid_misses = 0, 0
    for seed in range(10):
        est = ve.monte_carlo_asymptotic_variance(Pf, Ff, n, replicas, seed, confidence=0.99)
        assert bias < 0.02 * (est.upper - est.lower) / 2
        misses += not est.covers(exact)
        iid_misses += not est.covers(series.variance)
    assert series.variance < exact / 5
    assert misses <= 2
    assert iid_misses >= 9


def test_batch_means_cover_exact_value():
    """Batch means on one long path: n = 100000, 400 batches of b = 250 steps, much longer than
    the relaxation time 1/(p+q) = 4/3 of this chain. The estimand Var(S_b)/b differs from
    sigma^2 by O(1/b): computed exactly (finite_n_variance) and checked to be < 2% of the CI
    half-width. NEGATIVE CONTROL: the i.i.d. variance Var_pi(F) = 2/9 is rejected."""
    Pf, Ff = _floats(P2), np.array(F2, float)
    exact = 10 / 27  # hand value, see tests/test_poisson_exact.py::test_two_state_hand_example
    path = ve.sample_chain_paths(Pf, 100_000, 1, seed=3)[0]
    est = ve.batch_means_variance(Ff[path], 400, confidence=0.99, mean=1 / 3)
    bias = abs(ve.finite_n_variance(ve.autocovariance_series(Pf, Ff), 250) - exact)
    assert bias < 0.02 * (est.upper - est.lower) / 2
    assert est.covers(exact)
    assert not est.covers(2 / 9)
    # the mean estimated from the same path (n_batches - 1 degrees of freedom)
    free = ve.batch_means_variance(Ff[path], 400, confidence=0.99)
    assert free.degrees_of_freedom == 399
    assert free.covers(exact)
    assert not free.covers(2 / 9)


def test_monte_carlo_word_chain_variance_covers_exact_value():
    """Word chain L = 2 of the 3-state chain (which has a forbidden transition, so some words
    are transient): 5 seeds of 99% CIs, at most 1 miss (P(>= 2 misses) ~ 1e-3); the exact
    value comes from derivations.word_chain. NEGATIVE CONTROL: Var_pi_L(F) is rejected."""
    Pf = _floats(P3)
    F_words = np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.0, -1.0, 2.0, 0.25])
    exact_solution = wc.solve_word_poisson(P3, 2, [sp.nsimplify(v) for v in F_words])
    exact = float(exact_solution.asymptotic_variance)
    pairs = zip(exact_solution.pi, exact_solution.centred, strict=True)
    iid = float(sum(p * c**2 for p, c in pairs))
    numeric = npo.word_poisson_solve(Pf, 2, F_words)
    series = ve.autocovariance_series(numeric.transition, F_words, pi=numeric.pi)
    misses, iid_misses = 0, 0
    for seed in range(5):
        est = ve.monte_carlo_word_asymptotic_variance(Pf, 2, F_words, 2000, 200, seed)
        half_width = (est.upper - est.lower) / 2
        assert abs(ve.finite_n_variance(series, 2000) - exact) < 0.02 * half_width
        misses += not est.covers(exact)
        iid_misses += not est.covers(iid)
    assert misses <= 1
    assert iid_misses >= 4


def test_monte_carlo_is_reproducible():
    Pf, Ff = _floats(P2), np.array(F2, float)
    a = ve.monte_carlo_asymptotic_variance(Pf, Ff, 500, 20, seed=7)
    b = ve.monte_carlo_asymptotic_variance(Pf, Ff, 500, 20, seed=7)
    assert a == b


# ----------------------------------------------------------------------------- drift functional


def test_drift_fluctuation_scale():
    """(1/N) sum_{k<Nt} F~(Z_k) has standard deviation ~ sqrt(sigma^2 t / N) (theory.md §5).
    Over R = 400 replicas, sum_r D_r^2 / scale^2 ~ chi^2_R (CLT, stationary start, bias O(1/(Nt))),
    checked with a 99.9% two-sided interval at each t. NEGATIVE CONTROL: the i.i.d. scale
    sqrt(Var_pi(F) t / N) is rejected."""
    from scipy.stats import chi2

    Pf, Ff = _floats(P3), np.array(F3, float)
    sol = npo.poisson_solve(Pf, Ff)
    N, times, replicas = 1000, [0.5, 1.0, 2.0], 400
    paths = ve.sample_chain_paths(Pf, 2 * N, replicas, seed=21)
    drift = npo.drift_fluctuation(Ff[paths], sol.mean, N, times)
    assert drift.shape == (replicas, 3)
    scale = npo.drift_fluctuation_scale(sol.asymptotic_variance, N, times)
    iid_scale = np.sqrt(float(sol.pi @ sol.centred**2) * np.array(times) / N)
    lo, hi = chi2.ppf(0.0005, replicas), chi2.ppf(0.9995, replicas)
    for j in range(3):
        statistic = float(np.sum(drift[:, j] ** 2)) / scale[j] ** 2
        assert lo <= statistic <= hi
        iid_statistic = float(np.sum(drift[:, j] ** 2)) / iid_scale[j] ** 2
        assert not lo <= iid_statistic <= hi
    # consistency with the pathwise decomposition: N * D(t) = sum_{k<Nt} F~(Z_k); cumsum vs
    # fsum differ by the sequential-summation rounding <= n eps sum|terms| (Higham 4.3)
    dec = npo.pathwise_decomposition(sol, paths[:, : N + 1])
    bound = N * EPS * N * float(np.max(np.abs(sol.centred)))
    assert np.all(np.abs(N * drift[:, 1] - dec.centred_sum) <= bound)


def test_drift_fluctuation_scale_on_word_chain():
    """Same chi-square check on the word chain (L = 3), F on words, word paths read from base
    paths; the scale uses the word-chain sigma^2 (which here is ~3x Var_pi_L, the negative
    control)."""
    from scipy.stats import chi2

    from numerics.words import path_word_indices

    Pf, L = _floats(P3), 3
    F_words = np.cos(np.arange(27.0)) + (np.arange(27) % 3 == 0)
    sol = npo.word_poisson_solve(Pf, L, F_words)
    N, times, replicas = 1000, [0.5, 2.0], 400
    states = ve.sample_chain_paths(Pf, 2 * N + L - 1, replicas, seed=8)
    words = path_word_indices(states, 3, L)
    drift = npo.drift_fluctuation(F_words[words], sol.mean, N, times)
    scale = npo.drift_fluctuation_scale(sol.asymptotic_variance, N, times)
    iid_scale = np.sqrt(float(sol.pi @ sol.centred**2) * np.array(times) / N)
    lo, hi = chi2.ppf(0.0005, replicas), chi2.ppf(0.9995, replicas)
    for j in range(len(times)):
        assert lo <= float(np.sum(drift[:, j] ** 2)) / scale[j] ** 2 <= hi
        assert not lo <= float(np.sum(drift[:, j] ** 2)) / iid_scale[j] ** 2 <= hi


def test_drift_fluctuation_rejects_short_paths():
    with pytest.raises(ValueError):
        npo.drift_fluctuation(np.zeros((2, 10)), 0.0, 10, [2.0])


def _word_u_bound(exact, num, L: int) -> float:
    """|u_num - u| on a word chain, as in test_numeric_solution_matches_exact: ||Z||_inf (the
    solve's residual bound + the data's error), pi_L from the product formula exact to
    (L + 1) eps relative when P's entries are dyadic (exact in binary)."""
    Z_norm = float(np.max(np.sum(np.abs(_floats(exact.fundamental)), axis=1)))
    u_max = float(np.max(np.abs(_floats(exact.u))))
    f_max = float(np.max(np.abs(num.values)))
    return Z_norm * (npo.residual_bound(num) + (L + 2) * EPS * 8 * (u_max + f_max))


def test_word_solution_matches_exact_word_chain():
    P = _floats(P2)
    L = 3
    F_words = [sp.Integer(v) for v in (1, 0, 2, -1, 3, 1, 0, 2)]
    exact = wc.solve_word_poisson(P2, L, F_words)
    num = npo.word_poisson_solve(P, L, np.array(F_words, float))
    assert np.max(np.abs(num.u - _floats(exact.u).ravel())) <= _word_u_bound(exact, num, L)
    assert math.isclose(num.asymptotic_variance, float(exact.asymptotic_variance), rel_tol=1e-12)


@pytest.mark.parametrize("m, L", [(3, 6), (2, 10)])
def test_poisson_memory_plan_is_the_measured_peak(m: int, L: int) -> None:
    """The cap check of `rnnkl poisson --word-length L` (numerics.costs.poisson_bytes: 4 arrays
    of n^2 doubles beyond the interpreter's baseline, n = m^L) against the peak NumPy reports to
    tracemalloc for the solve it plans (numerics.poisson_float.word_poisson_solve). At these
    sizes the peak is 4.0-4.1 n^2 doubles (the dense word chain, I - P + 1 pi, its sum's
    temporaries and the LU copy): the n^2 term of the plan must be that count, neither short
    nor loose. The 5% allowance above it is the O(n) vectors and small objects (a few n
    doubles; at 3^5 words they are 1 n^2 more, 5.1 n^2 measured), which the baseline's margin
    holds (256 MiB planned for ~200 MiB measured, numerics.costs.BASELINE_BYTES)."""
    import tracemalloc

    from numerics.costs import BASELINE_BYTES, poisson_bytes

    rng = np.random.default_rng(1)
    P = rng.uniform(0.1, 1.0, size=(m, m))
    P /= P.sum(axis=1, keepdims=True)
    F = rng.normal(size=m**L)
    planned = poisson_bytes(m, L) - BASELINE_BYTES
    tracemalloc.start()
    try:
        npo.word_poisson_solve(P, L, F)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0.9 * planned <= peak <= 1.05 * planned, peak / (8.0 * m ** (2 * L))


# ------------------------------------------------------------ the estimators' own statistics

COVERAGE_DRAWS = 40_000  # miss rates of 0.05 carry a standard error of 0.0011 at this size


def _miss_rates(lower: np.ndarray, upper: np.ndarray, truth: float) -> tuple[float, float]:
    return float(np.mean(upper < truth)), float(np.mean(lower > truth))


def _within_binomial(rate: float, p: float) -> bool:
    """rate within 5 standard errors of p (a false alarm below 1e-6)."""
    return abs(rate - p) <= 5 * math.sqrt(p * (1 - p) / COVERAGE_DRAWS)


def test_the_chi_square_interval_misses_each_side_with_half_the_level():
    """dof * estimate / sigma^2 ~ chi^2_dof: for estimates drawn from that law, the interval
    (used by the Poisson variance check) lies below sigma^2 with probability (1 - conf)/2 and
    above it with the same; it is linear in the estimate, so one call gives every draw's."""
    rng = np.random.default_rng(np.random.SeedSequence(41))
    sigma2, dof, confidence = 2.5, 12, 0.9
    estimates = sigma2 * rng.chisquare(dof, COVERAGE_DRAWS) / dof
    low, high = ve.chi_square_interval(1.0, dof, confidence)
    assert ve.chi_square_interval(3.0, dof, confidence) == pytest.approx((3 * low, 3 * high),
                                                                         rel=1e-15)
    below, above = _miss_rates(estimates * low, estimates * high, sigma2)
    assert _within_binomial(below, 0.05) and _within_binomial(above, 0.05), (below, above)


def test_replicas_with_a_known_mean_carry_r_degrees_of_freedom():
    """(1/R) sum X_r^2 of R centred Gaussians: R * estimate / sigma^2 ~ chi^2_R (the mean is
    known, nothing is fitted), so the interval with R degrees of freedom has its stated level;
    with R - 1 it would miss each side about 3% instead of 5% (R = 4)."""
    rng = np.random.default_rng(np.random.SeedSequence(43))
    R, n, sigma2 = 4, 9, 1.7
    sums = rng.normal(0.0, math.sqrt(sigma2 * n), size=(COVERAGE_DRAWS, R))
    one = ve.variance_from_replicas(sums[0], n, 0.0, confidence=0.9)
    assert one.degrees_of_freedom == R and one.method == "replicas"
    # the interval is the estimate times two factors fixed by R and the level
    low, high = one.lower / one.estimate, one.upper / one.estimate
    estimates = np.mean(sums**2, axis=1) / n
    assert one.estimate == pytest.approx(estimates[0], rel=1e-14)
    below, above = _miss_rates(estimates * low, estimates * high, sigma2)
    assert _within_binomial(below, 0.05) and _within_binomial(above, 0.05), (below, above)


def test_batch_means_count_their_degrees_of_freedom_and_refuse_too_few():
    values = np.random.default_rng(5).standard_normal(1000)
    assert ve.batch_means_variance(values, 10, mean=0.0).degrees_of_freedom == 10
    assert ve.batch_means_variance(values, 10).degrees_of_freedom == 9
    with pytest.raises(ValueError, match="at least 2 batches"):
        ve.batch_means_variance(values, 1)
    with pytest.raises(ValueError, match="shorter than the number of batches"):
        ve.batch_means_variance(values[:5], 10)
    with pytest.raises(ValueError, match="at least 2 replicas"):
        ve.variance_from_replicas(values[:1], 10, 0.0)


def test_dobrushin_coefficient_and_mixing_block_on_two_states():
    """Two states, P = [[1 - p, p], [q, 1 - q]]: delta(P^s) = |1 - p - q|^s. With p = 0.1,
    q = 0.2: delta = 0.7, then 0.49 <= 1/2 at s = 2, the block the tail bound uses. The
    periodic chain (p = q = 1) has delta(P^s) = 1 for every s: refused."""
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert ve.dobrushin_coefficient(P) == pytest.approx(0.7, abs=1e-15)
    s, delta = ve._mixing_block(P, 200)
    assert s == 2 and delta == pytest.approx(0.49, abs=1e-15)
    with pytest.raises(ValueError, match="not ergodic"):
        ve.autocovariance_series(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


def test_word_solution_with_forbidden_transitions_uses_the_product_law():
    """A base chain with zero transitions makes the words that contain them transient
    (pi_L = 0; the word chain is reducible): the law is still pi_L of the product formula, and
    u, with its transient entries, matches the exact word-chain solution."""
    h = sp.Rational(1, 2)
    exact_P = [[h, h, 0], [0, h, h], [h, 0, h]]
    L = 2
    F_words = [sp.Integer(v) for v in (1, 0, 2, -1, 3, 1, 0, 2, -2)]
    exact = wc.solve_word_poisson(exact_P, L, F_words)
    numeric = npo.word_poisson_solve(_floats(exact_P), L, np.array(F_words, float))
    # the product law: (L + 1) roundings of the GTH pi times dyadic (exact) entries of P
    np.testing.assert_allclose(numeric.pi, _floats(exact.pi).ravel(), rtol=(L + 1) * EPS,
                               atol=0)
    assert numeric.pi[2] == 0.0  # the word (0, 2): P(0, 2) = 0
    assert np.max(np.abs(numeric.u - _floats(exact.u).ravel())) <= _word_u_bound(exact, numeric,
                                                                                 L)


def test_fundamental_matrix_against_the_exact_tier():
    """Z = (I - P + 1 pi)^{-1} (theory.md §5) in double precision against the exact Z. The
    normwise forward error of an inverse computed through LU is O(m eps kappa_inf(A)) ||Z||_inf
    (Higham, Accuracy and Stability, ch. 14), A = I - P + 1 pi; 4 m eps kappa ||Z|| allows for
    the constant at m = 3 and for the GTH pi inside A (a few eps)."""
    Z_exact = _floats(dp.solve_poisson(P3, F3).fundamental)
    Z = npo.fundamental_matrix(_floats(P3))
    m = Z.shape[0]
    A = np.linalg.inv(Z_exact)
    norm = float(np.max(np.sum(np.abs(Z_exact), axis=1)))
    kappa = float(np.max(np.sum(np.abs(A), axis=1))) * norm
    assert np.max(np.sum(np.abs(Z - Z_exact), axis=1)) <= 4 * m * EPS * kappa * norm


def test_drift_fluctuation_sums_floor_n_t_steps_and_refuses_bad_shapes():
    """theory.md §2: time t is step floor(N t). N = 3, t = 0.5 and 1: one step, then three."""
    values = np.array([[2.0, 5.0, -1.0, 7.0]])
    drift = npo.drift_fluctuation(values, 1.0, 3, [0.5, 1.0])
    np.testing.assert_array_equal(drift, [[(2.0 - 1.0) / 3, (2.0 + 5.0 - 1.0 - 3.0) / 3]])
    assert npo.drift_fluctuation(values, 1.0, 4, [1.0])[0, 0] == (13.0 - 4.0) / 4  # every value
    with pytest.raises(ValueError, match="shorter than"):
        npo.drift_fluctuation(values, 1.0, 4, [1.25])
    P = _floats(P3)
    with pytest.raises(ValueError, match="F has 2 values but the chain has 3 states"):
        npo.poisson_solve(P, np.ones(2))
    solution = npo.poisson_solve(P, np.array(F3, float))
    with pytest.raises(ValueError, match="out of range"):
        npo.pathwise_decomposition(solution, np.array([0, 1, 3]))
    with pytest.raises(ValueError, match=r"shape \(n\+1,\) or \(R, n\+1\)"):
        npo.pathwise_decomposition(solution, np.zeros((2, 0), dtype=int))
