"""neural-tangents vs our kernel and limit ODE (issue 6, item 1; theory.md §3-§4).

Kernel: with b frozen at 0, A = E[S S'] + c_std^2 x.x' E[erf' erf'] equals
nngp + (c_std / w_std)^2 (ntk - nngp) of NT's Dense(W1 = w_std sqrt(d)) -> Erf -> Dense(1)
(derivation: numerics/peer_neural_tangents.py docstring). Both our quadrature kernel (within its own
error estimate + rounding) and the generated closed form (within rounding) must match, for
d = 1 and d = 2 and several (w_std, c_std). Negative controls: W1 without sqrt(d), W1 off by
sqrt(2), NT's ntk alone when c_std != w_std — each rejected by the same tolerance.

Dynamics: numerics.limit with uniform weights on training words vs
NT gradient_descent_mse (time divided by y_train.size). Negative controls: the time map that
forgets the division (t / n) or doubles it (t n) is rejected by the same tolerance.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics import peer_comparisons
from numerics import peer_neural_tangents as xc
from numerics.kernel import KernelSpec, kernel_on_words
from numerics.limit import quadrature_bound

pytestmark = pytest.mark.crosscheck

STATES_1D = np.array([[-1.0], [0.3], [1.0]])
STATES_2D = np.array([[1.0, -0.5], [0.2, 0.8], [-0.7, -0.4]])


def _rejected(comparison: xc.ErfKernelComparison) -> bool:
    return float(np.max(np.abs(comparison.ours - comparison.nt))) > comparison.quadrature_tolerance


@pytest.mark.parametrize(
    ("states", "w_std", "c_std"),
    [(STATES_1D, 1.0, 1.0), (STATES_1D, 0.5, 2.0), (STATES_1D, 1.7, 0.3),
     (STATES_2D, 1.0, 1.0), (STATES_2D, 0.6, 1.5), (STATES_2D, 1.3, 0.4)],
)
def test_erf_kernel_equals_nt_nngp_ntk(nt_lib, states, w_std, c_std):
    comp = xc.compare_erf_kernel(states, w_std, c_std, word_length=2)
    # tolerances: our quadrature error estimate + node-count summation bound + closed-form
    # rounding (quadrature); 2 x closed-form rounding (generated closed form vs NT)
    assert np.max(np.abs(comp.ours - comp.nt)) <= comp.quadrature_tolerance
    assert np.max(np.abs(comp.closed - comp.nt)) <= 2.0 * comp.reference_rounding
    # group by group: our c-group kernel E[S S'] is NT's nngp (W2 = 1)
    assert np.max(np.abs(comp.ours_c - comp.nt_nngp)) <= comp.quadrature_tolerance
    # only x_0 matters at b = 0: words with the same last symbol have equal rows (NT side)
    same = comp.words[:, -1][:, None] == comp.words[:, -1][None, :]
    i, j = np.nonzero(same)
    assert np.array_equal(comp.nt[i], comp.nt[j])
    results = xc.erf_kernel_results(comp, "test")
    assert all(r.passed for r in results) and all(r.library == "neural-tangents" for r in results)


def test_wrong_first_layer_mapping_is_rejected(nt_lib):
    # d = 2: forgetting NT's input kernel x.x'/d (W1 = w_std instead of w_std sqrt(2))
    comp = xc.compare_erf_kernel(STATES_2D, 1.0, 1.0, first_layer_std=1.0)
    assert _rejected(comp)
    # d = 1: W1 off by sqrt(2)
    comp = xc.compare_erf_kernel(STATES_1D, 1.0, 1.0, first_layer_std=np.sqrt(2.0))
    assert _rejected(comp)
    results = xc.erf_kernel_results(comp, "negative control")
    assert not results[0].passed
    # the tolerance is sharp: W1 off by a relative 1e-8 is already rejected
    comp = xc.compare_erf_kernel(STATES_2D, 0.6, 1.5,
                                 first_layer_std=(1.0 + 1e-8) * xc.nt_first_layer_std(0.6, 2))
    assert _rejected(comp)
    assert np.max(np.abs(comp.closed - comp.nt)) > 2.0 * comp.reference_rounding
    quadrature, closed = xc.erf_kernel_results(comp, "sharpness control")  # as the report has them
    assert not quadrature.passed and not closed.passed


def test_ntk_alone_is_not_our_kernel_when_c_std_differs(nt_lib):
    comp = xc.compare_erf_kernel(STATES_1D, 0.5, 2.0,
                                 combine=lambda nngp, ntk, w_std, c_std: ntk)
    assert _rejected(comp)
    comp = xc.compare_erf_kernel(STATES_2D, 0.6, 1.5,
                                 combine=lambda nngp, ntk, w_std, c_std: nngp + ntk)
    assert _rejected(comp)


def test_ntk_alone_is_our_kernel_when_c_std_equals_w_std(nt_lib):
    comp = xc.compare_erf_kernel(STATES_2D, 0.8, 0.8, word_length=1,
                                 combine=lambda nngp, ntk, w_std, c_std: ntk)
    assert not _rejected(comp)


# ----------------------------------------------------------------------------- dynamics


def _recurrent_kernel() -> np.ndarray:
    """The tanh kernel with recurrence (b trainable) on the 9 words of length 2: any PSD K
    works for the ODE comparison; this is the kind the suite solves."""
    spec = KernelSpec(activation="tanh", states=STATES_1D, c_std=1.0, w_std=1.0, b_max=0.5,
                      groups=("c", "w", "b"))
    return kernel_on_words(spec, 2).K


_TIMES = (0.1, 0.5, 2.0, 7.0)


@pytest.mark.parametrize("train", [list(range(9)), [0, 2, 4, 6, 8], [1, 5, 7]])
def test_limit_ode_equals_gradient_descent_mse(nt_lib, train):
    K = _recurrent_kernel()
    ybar = np.random.default_rng(np.random.SeedSequence(6)).normal(size=9)
    alpha = 1.3
    ours = xc.ours_uniform_limit(K, ybar, alpha, train, _TIMES)
    theirs = xc.nt_gradient_descent(K, ybar, alpha, train, _TIMES)
    tol = 2.0 * xc.ode_rounding(K, ybar, alpha, train, _TIMES)  # two spectral solutions
    assert np.max(np.abs(ours - theirs)) <= tol
    # not vacuous: g moves well away from 0 and towards ybar on the training words
    assert np.max(np.abs(ours)) > 0.1


@pytest.mark.parametrize("wrong_map", [lambda t, n: t / n, lambda t, n: t * n,
                                       lambda t, n: t * (1.0 + 1e-9)])  # last: sharpness
def test_gradient_descent_without_size_rescaling_is_rejected(nt_lib, wrong_map):
    K = _recurrent_kernel()
    ybar = np.random.default_rng(np.random.SeedSequence(6)).normal(size=9)
    train = [0, 2, 4, 6, 8]
    ours = xc.ours_uniform_limit(K, ybar, 1.0, train, _TIMES)
    theirs = xc.nt_gradient_descent(K, ybar, 1.0, train, _TIMES, time_map=wrong_map)
    tol = 2.0 * xc.ode_rounding(K, ybar, 1.0, train, _TIMES)
    assert np.max(np.abs(ours - theirs)) > tol


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7), rank=st.integers(1, 9),
       alpha=st.floats(0.1, 3.0), t=st.floats(0.0, 20.0))
def test_limit_ode_random_psd_kernels(nt_lib, seed, n, rank, alpha, t):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    features = rng.normal(size=(n, rank))
    K = features @ features.T  # PSD, singular when rank < n
    ybar = rng.normal(size=n)
    # training words: an independent subset (NT's test-point formula divides by the
    # eigenvalues of K_train); the others are test points
    train = xc.independent_words(K)
    assert np.linalg.eigvalsh(K[np.ix_(train, train)])[0] > 0
    assert 1 <= len(train) <= min(rank, n)
    times = (t,)
    ours = xc.ours_uniform_limit(K, ybar, alpha, train, times)
    theirs = xc.nt_gradient_descent(K, ybar, alpha, train, times)
    assert np.max(np.abs(ours - theirs)) <= 2.0 * xc.ode_rounding(K, ybar, alpha, train, times)


@pytest.mark.parametrize(("states", "w_std", "c_std"),
                         [(STATES_1D, 1.0, 1.0), (STATES_2D, 0.6, 1.5)])
def test_end_to_end_erf_limit_equals_nt(nt_lib, states, w_std, c_std):
    comp = xc.compare_erf_kernel(states, w_std, c_std, word_length=2)
    n = comp.ours.shape[0]
    ybar = np.tanh(comp.points[:, 0] + 0.5 * np.arange(n) / n)
    # at b = 0 rows of words with the same x_0 coincide: train on independent words only
    train = xc.independent_words(comp.nt)
    assert len(train) < n  # some test points
    alpha, times = 1.0, (0.5, 2.0, 8.0)
    ours = xc.ours_uniform_limit(comp.ours, ybar, alpha, train, times)
    theirs = xc.nt_gradient_descent(comp.nt, ybar, alpha, train, times)
    pi = xc.training_weights(n, train)
    # the kernels differ by at most the kernel tolerance: rigorous propagation to g
    # (numerics.limit.quadrature_bound) + rounding of both solutions
    tol = (quadrature_bound(comp.quadrature_tolerance, comp.ours, pi,
                            np.where(pi > 0, ybar, 0.0), alpha, max(times))[0]
           + xc.ode_rounding(comp.ours, ybar, alpha, train, times)
           + xc.ode_rounding(comp.nt, ybar, alpha, train, times))
    assert np.max(np.abs(ours - theirs)) <= tol
    # negative control: NT with the wrong W1 mapping fails the same bound
    wrong = xc.compare_erf_kernel(states, w_std, c_std, word_length=2,
                                  first_layer_std=w_std * np.sqrt(states.shape[1] + 1))
    bad = xc.nt_gradient_descent(wrong.nt, ybar, alpha, train, times)
    assert np.max(np.abs(ours - bad)) > tol


def test_run_all_crosschecks_default_config(nt_lib, qe_lib):
    from derivations.inputs.config import load_config

    start = time.perf_counter()
    results = peer_comparisons.run_all_crosschecks(load_config(None))
    elapsed = time.perf_counter() - start
    assert elapsed < 60.0
    assert {r.library for r in results} == {"neural-tangents", "sympy", "quantecon"}
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    for r in results:
        assert r.max_deviation <= r.tolerance and r.tolerance_source and r.version


def test_run_all_crosschecks_rejects_a_time_off_by_one_part_in_a_billion(nt_lib, qe_lib,
                                                                       monkeypatch):
    """The report's section is as sharp as the comparisons it is built from: with NT's time
    off by a relative 1e-9 (the sharpness control above), both limit-ODE results of
    run_all_crosschecks fail by their own tolerances, and nothing else does."""
    from functools import partial

    from derivations.inputs.config import load_config

    wrong = partial(xc.nt_gradient_descent, time_map=lambda t, n: t * (1.0 + 1e-9))
    monkeypatch.setattr(peer_comparisons, "nt_gradient_descent", wrong)
    results = peer_comparisons.run_all_crosschecks(load_config(None))
    failed = [r.name for r in results if not r.passed]
    assert [name.split(":")[0] for name in failed] == [
        "limit ODE, uniform weights on training words (config kernel)",
        "limit ODE end to end (erf, b = 0)"]
    for r in results:
        assert r.passed == (r.max_deviation <= r.tolerance)


def test_run_all_crosschecks_rejects_nt_time_without_the_division_by_the_training_size(
        nt_lib, qe_lib, monkeypatch):
    """Both limit-ODE comparisons of the report train on at least two words, so a time map that
    forgets NT's division by y_train.size (t / n, the control above) fails both. Was: the erf
    comparison of the default config trained on one word (its 9 words have 2 independent rows),
    where t / 1 = t, and passed it."""
    from functools import partial

    from derivations.inputs.config import load_config

    results = peer_comparisons.run_all_crosschecks(load_config(None))
    limit_ode = [r for r in results if r.name.startswith("limit ODE")]
    assert len(limit_ode) == 2
    for r in limit_ode:
        training = int(r.size.split("(")[1].split()[0])  # "3 times x 9 words (2 training)"
        assert training >= 2, r.size
    wrong = partial(xc.nt_gradient_descent, time_map=lambda t, n: t / n)
    monkeypatch.setattr(peer_comparisons, "nt_gradient_descent", wrong)
    results = peer_comparisons.run_all_crosschecks(load_config(None))
    assert [r.passed for r in results if r.name.startswith("limit ODE")] == [False, False]


def test_run_all_crosschecks_compares_the_word_chains(nt_lib, qe_lib):
    """An exact chain with P > 0 (the default): sympy.stats on the base chain and on its words
    of length 2 (9 <= 16 words), QuantEcon on the base chain and on the longest word chain of at
    most 729 words and at most the config's word length."""
    from derivations.inputs.config import load_config

    config = load_config(None)
    m = len(config.chain.states)
    L_q = max(L for L in range(1, int(config.limit.word_length) + 1) if m**L <= 729)
    names = [r.name for r in peer_comparisons.run_all_crosschecks(config)]
    for what in ("stationary law", "fundamental matrix"):
        for label in ("config chain", "word chain, L = 2"):
            assert sum(name.startswith(f"{what} ({label}): sympy.stats") for name in names) == 1
    for label in ("config chain", f"word chain, L = {L_q}"):
        assert sum(name.startswith(f"stationary law ({label}): quantecon") for name in names) == 1
