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
