"""The low-rank spectral solve of the limit ODE (numerics.limit_solver, issue 17): against the
full eigendecomposition on the same kernel, its error stays within its rigorous bound
(spectral_bound), also at ranks far too low, where the bound must carry a real error; the
null-space term is what makes the bound hold (negative control); results are reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import numerics.limit_solver as ls
from derivations.inputs.config import load_config
from numerics.kernel import kernel_on_words
from numerics.limit import word_problem


@pytest.fixture(scope="module")
def problem():
    config = load_config(None)
    p = word_problem(config, 6)  # 729 words
    return p, kernel_on_words(p.spec, 6, by_group=False).K


def _solve(problem, monkeypatch, exact_words, first_rank=ls.FIRST_RANK, relative=None):
    p, K = problem
    monkeypatch.setattr(ls, "EXACT_WORDS", exact_words)
    monkeypatch.setattr(ls, "FIRST_RANK", first_rank)
    if relative is not None:
        monkeypatch.setattr(ls, "SPECTRAL_RELATIVE", relative)
    return ls.limit_solver(K, p.pi_L, p.ybar, p.alpha)


def test_low_rank_matches_the_full_solve_within_its_bound(problem, monkeypatch):
    p, K = problem
    full = _solve(problem, monkeypatch, exact_words=10**9)
    low = _solve(problem, monkeypatch, exact_words=100, first_rank=32)
    assert low.eigenvalues.size < K.shape[0] // 4 and low.spectral_error > 0.0
    times = (0.5, 1.0, 2.0)
    difference = np.max(np.abs(ls.g_at(low, times) - ls.g_at(full, times)), axis=1)
    rounding = 1e3 * K.shape[0] * np.finfo(float).eps * np.max(np.abs(p.ybar))
    for t, diff in zip(times, difference, strict=True):
        assert diff <= ls.spectral_bound(low, float(np.max(np.diag(K))), t) + rounding
    assert np.max(difference) < 1e-9  # the accepted rank is accurate, not just bounded


def test_the_bound_carries_a_real_error_at_too_low_a_rank(problem, monkeypatch):
    """Rank 1 accepted on purpose (target 1, no oversampling): the error is large and the bound
    still holds; the same solve without its null-space term breaks the bound (negative
    control: measured 0.028 against a bound of 0.010 at t = 0.5)."""
    p, K = problem
    full = _solve(problem, monkeypatch, exact_words=10**9)
    monkeypatch.setattr(ls, "OVERSAMPLING", 0)
    low = _solve(problem, monkeypatch, exact_words=100, first_rank=1, relative=1.0)
    assert low.eigenvalues.size == 1
    t = 0.5
    bound = ls.spectral_bound(low, float(np.max(np.diag(K))), t)
    error = float(np.max(np.abs(ls.g_at(low, (t,)) - ls.g_at(full, (t,)))))
    assert 1e-8 < error <= bound
    assert bound <= 100 * error  # not vacuous
    without = dataclasses.replace(low, null_term=np.zeros_like(low.null_term))
    wrong = float(np.max(np.abs(ls.g_at(without, (t,)) - ls.g_at(full, (t,)))))
    assert wrong > bound


def test_low_rank_is_reproducible(problem, monkeypatch):
    first = _solve(problem, monkeypatch, exact_words=100)
    second = _solve(problem, monkeypatch, exact_words=100)
    assert np.array_equal(ls.g_at(first, (1.0,)), ls.g_at(second, (1.0,)))


def test_without_its_full_fallback_a_flat_spectrum_is_refused_in_one_line(monkeypatch):
    """A kernel whose spectrum does not decay (the identity: every rank below n is off by 1)
    defeats the low-rank solve; with the full fallback the result is the exact solution
    g_t = (1 - exp(-alpha t pi_u)) ybar_u, without it (the memory plan found the full solve too
    big, proofs_check.commands._sizes.plan_limit) a SpectrumRankError, an InputError (exit 2,
    one line), instead of a 3 n^2 allocation."""
    from derivations.errors import InputError

    monkeypatch.setattr(ls, "EXACT_WORDS", 16)
    monkeypatch.setattr(ls, "FIRST_RANK", 8)
    n = 64
    pi = np.full(n, 1.0 / n)
    ybar = np.linspace(-1.0, 1.0, n)
    K = np.eye(n)
    solver = ls.limit_solver(K, pi, ybar, 2.0)
    g = ls.g_at(solver, (1.5,))[0]
    assert np.max(np.abs(g - (1.0 - np.exp(-2.0 * 1.5 / n)) * ybar)) <= 1e-13
    with pytest.raises(ls.SpectrumRankError, match="rank above n/4 = 16") as caught:
        ls.limit_solver(K, pi, ybar, 2.0, full_fallback=False)
    assert isinstance(caught.value, InputError) and "\n" not in str(caught.value)


def test_without_its_full_fallback_a_rank_past_a_quarter_of_the_words_is_refused(monkeypatch):
    """The low-rank solve gives up once the rank it would try passes n / 4 (past it, O(n^2 r)
    is no cheaper than the full solve). A kernel of exact rank 40 on 64 words needs the range
    finder's 32 + 16 = 48 directions, past n / 4 = 16: refused without the fallback, solved
    exactly (within rounding) with it."""
    monkeypatch.setattr(ls, "EXACT_WORDS", 16)
    monkeypatch.setattr(ls, "FIRST_RANK", 8)
    n, rank = 64, 40
    features = np.random.default_rng(3).standard_normal((n, rank))
    K = features @ features.T / rank
    pi = np.full(n, 1.0 / n)
    ybar = np.linspace(-1.0, 1.0, n)
    with pytest.raises(ls.SpectrumRankError, match="rank above n/4 = 16"):
        ls.limit_solver(K, pi, ybar, 2.0, full_fallback=False)
    solver = ls.limit_solver(K, pi, ybar, 2.0)
    assert solver.spectral_error == 0.0 and solver.eigenvalues.size == n


@pytest.mark.parametrize("scale", [1e-13, 1e-15, 3e-17])
def test_phi_keeps_full_relative_accuracy_where_lambda_t_is_tiny(scale):
    """phi(lambda) = (1 - exp(-s lambda)) / lambda where s lambda < 1e-12 uses its series
    s (1 - s lambda / 2): accurate to rounding there (a first-order s alone is off by
    s lambda / 2, up to 5e-13 relative), against mpmath at 30 digits."""
    import mpmath

    s = 2.5
    lam = np.array([scale / s])
    with mpmath.workdps(30):  # local: the process-wide precision stays as other tests set it
        exact = float((1 - mpmath.exp(-mpmath.mpf(s) * mpmath.mpf(lam[0]))) / mpmath.mpf(lam[0]))
    value = float(ls._phi(lam, s)[0])
    assert abs(value - exact) <= 4 * np.finfo(float).eps * exact


def _psd_problem(smallest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K = Q diag(1, 0.5, 0.2, smallest) Q^T on 4 words of uniform pi: M = K / 4."""
    Q, _ = np.linalg.qr(np.random.default_rng(8).standard_normal((4, 4)))
    K = Q @ np.diag([1.0, 0.5, 0.2, smallest]) @ Q.T
    return K, np.full(4, 0.25), np.array([1.0, -0.5, 0.25, 2.0])


def test_a_kernel_that_is_not_psd_beyond_rounding_is_refused_unless_perturbed():
    """Eigenvalues of M below -100 n eps |M| are no rounding (K is PSD by construction): a
    ValueError, unless the kernel is a deliberate perturbation (then clipped to 0). A
    rounding-sized negative eigenvalue (-1e-16 |M|) is clipped in both cases."""
    K, pi, ybar = _psd_problem(-1e-11)
    with pytest.raises(ValueError, match="not PSD"):
        ls.limit_solver(K, pi, ybar, 1.0)
    assert np.min(ls.limit_solver(K, pi, ybar, 1.0, perturbed=True).eigenvalues) == 0.0
    K, pi, ybar = _psd_problem(-1e-16)
    assert np.min(ls.limit_solver(K, pi, ybar, 1.0).eigenvalues) == 0.0


def test_the_spectral_bound_is_attained_to_first_order_in_t():
    """One word (pi = 1): M = K = lambda. A solve off by eps in its eigenvalue (M' = lambda -
    eps, |M - M'| = eps) gives g_t - g'_t = alpha^2 lambda eps ybar t^2 / 2 + O(t^3), and the
    Duhamel bound alpha^2 sqrt(K |M|) eps |ybar| t^2 / 2 is exactly that to first order: the
    bound holds at every t and its ratio to the error tends to 1 as t -> 0."""
    alpha, lam, eps, ybar = 1.7, 0.8, 0.08, 1.3
    solver = ls.LimitSolver(alpha=alpha, pi=np.ones(1), ybar=np.array([ybar]),
                            eigenvalues=np.array([lam - eps]), basis=np.array([[lam]]),
                            coefficients=np.array([ybar]), norm_M=lam - eps,
                            null_term=np.zeros(1), spectral_error=eps)
    times = np.geomspace(1e-4, 10.0, 30)
    exact = ybar * -np.expm1(-alpha * times * lam)
    approximate = ls.g_at(solver, times)[:, 0]
    # each value is a few correctly rounded operations (expm1, products, a quotient): 4 eps
    # relative each covers their rounding
    rounding = 4 * np.finfo(float).eps * (np.abs(exact) + np.abs(approximate))
    ratios = []
    for t, error, slack in zip(times, np.abs(exact - approximate), rounding, strict=True):
        bound = ls.spectral_bound(solver, lam, float(t))
        assert error <= bound + slack, t
        ratios.append(error / bound)
    assert ratios[0] >= 0.999  # alpha t lambda = 1.4e-4: the first order is the whole error


@pytest.mark.parametrize("exact_words", [10**9, 2])  # the full solve, then the low-rank one
def test_the_extension_needs_a_cross_kernel_and_is_g_at_on_the_words_themselves(
        exact_words, monkeypatch):
    """g_extended_at reads the limit at other inputs through the solver's cross kernel; with
    the words' own kernel as the cross kernel it is g_at, bit for bit (the same products in the
    same order, plus a null term of 0 for the full solve); without a cross kernel it is a
    ValueError, not a silent answer."""
    monkeypatch.setattr(ls, "EXACT_WORDS", exact_words)
    monkeypatch.setattr(ls, "FIRST_RANK", 1)
    K, pi, ybar = _psd_problem(0.05)
    solver = ls.limit_solver(K, pi, ybar, 1.3, cross=K)
    assert (solver.spectral_error > 0.0) is (exact_words == 2)
    times = (0.5, 2.0)
    np.testing.assert_array_equal(ls.g_extended_at(solver, times), ls.g_at(solver, times))
    with pytest.raises(ValueError, match="without a cross kernel"):
        ls.g_extended_at(ls.limit_solver(K, pi, ybar, 1.3), times)
