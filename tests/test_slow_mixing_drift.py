"""A slowly mixing chain (two states that flip with probability 1/1000): the drift fluctuation
of the Poisson step is O(N^-1/2) only once N T is long against the chain's memory tau ~ 500
steps. At the quick budget (N T = 1000 .. 16000) the ladder saw the crossover (slope -0.34)
and poisson_drift FAILED the true bound. The window now carries the chain's exact finite-n
variance (checks.poisson_fluctuations.mixing_allowance): inconclusive, not FAIL."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from derivations.inputs.files import load_layers
from numerics.variance_estimators import stationary_autocovariances, sum_variance
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, poisson_fluctuations
from proofs_check.checks.poisson_fluctuations import mixing_allowance

STICKY = ['chain.states=[[-1.0],[1.0]]',
          'chain.transition=[["999/1000","1/1000"],["1/1000","999/1000"]]']


def _flip_chain(eps: float) -> np.ndarray:
    return np.array([[1.0 - eps, eps], [eps, 1.0 - eps]])


def _closed_form(eps: float, n: int) -> float:
    """Var(S_n)/n for F = +-1 on the symmetric two-state chain: Cov_k = rho^k, rho = 1 - 2 eps,
    so 1 + 2 sum_{k<n} (1 - k/n) rho^k = (1 + rho)/(1 - rho) - 2 rho (1 - rho^n)/(n (1 - rho)^2)
    (a geometric sum and its derivative, by hand)."""
    rho = 1.0 - 2.0 * eps
    return (1 + rho) / (1 - rho) - 2 * rho * (1 - rho**n) / (n * (1 - rho) ** 2)


@pytest.mark.parametrize("eps", [0.5, 0.3, 0.05, 1e-3])
@pytest.mark.parametrize("n", [1, 2, 10, 1000, 16000])
def test_the_finite_n_variance_is_the_closed_form_of_the_flip_chain(eps, n):
    pi = np.array([0.5, 0.5])
    covariances = stationary_autocovariances(_flip_chain(eps), np.array([-1.0, 1.0]), pi, n)
    assert sum_variance(covariances, n) == pytest.approx(_closed_form(eps, n), rel=1e-10)


def test_an_iid_chain_needs_no_mixing_allowance():
    P = np.tile([0.2, 0.5, 0.3], (3, 1))
    centred = np.array([1.0, -0.5, 0.3])
    centred -= np.array([0.2, 0.5, 0.3]) @ centred
    assert mixing_allowance(P, centred, np.array([0.2, 0.5, 0.3]), (500, 1000), (1000, 2000)
                            ) == 0.0


@given(st.lists(st.floats(0.1, 10.0), min_size=4, max_size=4),
       st.sampled_from([0.3, 0.01, 1e-3]))
def test_the_allowance_bounds_the_slope_change_of_any_weighted_fit(weights, eps):
    """A weighted least-squares slope is a weighted mean of pairwise slopes: values
    C N^-1/2 c_N (c_N the exact finite-n factor) fitted with any positive weights have a
    slope within the allowance of -1/2."""
    ladder, horizon = (100, 200, 400, 800), 2.0
    pi = np.array([0.5, 0.5])
    steps = tuple(int(n * horizon) for n in ladder)
    allowance = mixing_allowance(_flip_chain(eps), np.array([-1.0, 1.0]), pi, ladder, steps)
    factors = [math.sqrt(_closed_form(eps, int(n * horizon)) / _closed_form(eps, 10**12))
               for n in ladder]
    x = np.log(ladder)
    y = -0.5 * x + np.log(factors)
    slope = np.polyfit(x, y, 1, w=np.sqrt(weights))[0]
    assert abs(slope + 0.5) <= allowance + 1e-12
    if eps == 1e-3:  # memory ~ 500 steps against runs of 200 .. 1600: a real crossover
        assert allowance > 0.2


def test_a_slowly_mixing_chain_leaves_the_drift_inconclusive_not_failed(monkeypatch):
    config = load_layers(None, STICKY).config

    def drift():
        results = poisson_fluctuations.run(CheckContext(config, TINY, Cache(None, salt="sticky"),
                                                        seed=0))
        return {r.name: r for r in results}["poisson_drift"]

    result = drift()
    assert result.verdict == "inconclusive"
    assert result.details["mixing_allowance"] > result.details["boundary_allowance"]
    assert "finite-n variance allowance" in result.tolerance_source
    # no limit enters the drift's allowance: an unrejected rival does not ask for one
    assert all("limit" not in r.needs for r in result.rivals if not r.rejected)
    # without the chain's correction the same data fail the (true) bound
    monkeypatch.setattr(poisson_fluctuations, "mixing_allowance", lambda *args: 0.0)
    assert drift().verdict == "fail"


@pytest.mark.parametrize("eps", [0.3, 0.05, 0.01])
def test_the_allowance_is_the_steepest_pairwise_slope_of_the_finite_n_factors(eps):
    """Not merely a bound (the test above): max_{i<j} |log c_j - log c_i| / (log N_j - log N_i)
    with c_N = sqrt(V(n) / sigma^2), V from the closed form, n = 2 N."""
    ladder = (16, 64, 256, 1024)
    steps = tuple(2 * n for n in ladder)
    logs = [0.5 * math.log(_closed_form(eps, n) / _closed_form(eps, 10**12)) for n in steps]
    x = [math.log(n) for n in ladder]
    expected = max(abs(logs[j] - logs[i]) / (x[j] - x[i])
                   for i in range(len(ladder)) for j in range(i + 1, len(ladder)))
    allowance = mixing_allowance(_flip_chain(eps), np.array([-1.0, 1.0]), np.array([0.5, 0.5]),
                                 ladder, steps)
    assert allowance == pytest.approx(expected, rel=1e-9)


def test_a_sum_with_no_variance_at_some_lengths_only_has_no_finite_allowance():
    """The flip chain with eps = 1 alternates: S_n = 0 for even n, +-1 for odd n. A ladder
    whose rungs see V(n) = 0 and V(n) > 0 has no finite factor c_N: unbounded, not 0."""
    flip, centred, pi = _flip_chain(1.0), np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    assert mixing_allowance(flip, centred, pi, (2, 3), (2, 3)) == math.inf
    assert mixing_allowance(flip, centred, pi, (2, 4), (2, 4)) == 0.0  # every V(n) = 0


@pytest.mark.parametrize("eps", [0.3, 0.05])
@pytest.mark.parametrize("block", [5, 40])
def test_the_finite_batch_bias_is_the_closed_forms_distance_to_sigma2(eps, block):
    """|Var(S_b)/b - sigma^2| with sigma^2 = (1 + rho)/(1 - rho), rho = 1 - 2 eps (the closed
    form's n -> infinity limit): the tail of the autocovariances beyond b counts in full."""
    rho = 1.0 - 2.0 * eps
    expected = abs(_closed_form(eps, block) - (1 + rho) / (1 - rho))
    bias = poisson_fluctuations.finite_batch_bias(
        _flip_chain(eps), np.array([-1.0, 1.0]), np.array([0.5, 0.5]), block)
    assert bias == pytest.approx(expected, rel=1e-9)


def test_the_series_stops_although_the_centring_left_a_rounding_size_mean():
    """F~ centred in floating point keeps pi(F~) ~ 1e-16, which P^k F~ tends to and never
    loses: the series must stop on the decay of P^k F~ - pi(P^k F~), not of |P^k F~| (it ran
    to max_lag, and the finite-b bias with it)."""
    offset = 2.0**-52  # pi(F~) = 2.2e-16, above the stop's 1e-17 max|F~|
    covariances = stationary_autocovariances(_flip_chain(0.3), np.array([-1.0, 1.0]) + offset,
                                             np.array([0.5, 0.5]), 10_000)
    assert covariances.size < 200  # 0.4^k < 1e-17 by k = 43


def test_the_sticky_chains_variance_is_not_failed_by_a_truncated_bias():
    """On the sticky chain (flip probability 1/1000, correlation time 500 steps) with the tiny
    budget's batches of b = 50 steps, Var(S_b)/b is far below sigma^2. The finite-b bias must
    be that whole distance: it is |V(b) - sigma^2| with sigma^2 the Poisson formula's
    prediction (two routes to one number), so the window reaches the prediction and the check
    is inconclusive (the rivals sit inside it too), not failed. Summed to 20 b lags only, the
    bias missed a fifth of sigma^2 and the check failed."""
    config = load_layers(None, STICKY).config
    results = {r.name: r for r in poisson_fluctuations.run(
        CheckContext(config, TINY, Cache(None, salt="sticky-variance"), seed=0))}
    variance = results["poisson_variance"]
    assert variance.verdict == "inconclusive"
    assert not any(rival.rejected for rival in variance.rivals)
    bias = variance.details["finite_b_bias"]
    block = variance.details["batch_length"]
    assert block == 50
    _, Q, pi_L, F, _ = poisson_fluctuations._problem(
        CheckContext(config, TINY, Cache(None, salt="sticky-variance"), seed=0))
    centred = F - pi_L @ F
    v_b = sum_variance(stationary_autocovariances(Q, centred, pi_L, block), block)
    assert bias == pytest.approx(abs(variance.prediction - v_b), rel=1e-6)


def test_a_chain_too_slow_for_the_lag_budget_has_an_unknown_bias_not_a_wrong_one():
    """Flip probability 1e-6: correlations 0.999998^k need some 2 * 10^7 lags to fall below
    rounding, past BIAS_MAX_LAG; the truncated sum would understate the bias, so it is inf."""
    bias = poisson_fluctuations.finite_batch_bias(
        _flip_chain(1e-6), np.array([-1.0, 1.0]), np.array([0.5, 0.5]), 50)
    assert bias == math.inf
