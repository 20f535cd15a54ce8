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
