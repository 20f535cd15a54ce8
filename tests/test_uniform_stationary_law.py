"""Chains whose stationary law is uniform (doubly stochastic P; an i.i.d. uniform chain, whose
word chain has a uniform pi_L too). The Poisson checks' rival "pi replaced by uniform weights"
would be pi itself there: the report called tiers_poisson inconclusive on every doubly
stochastic chain, and on an i.i.d. uniform chain poisson_fluctuations stopped with an
OverflowError (the variance rival's "needs" divided by a gap of 0). The rival's law is now
another one (checks._common.wrong_law), chosen from pi before any measurement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, poisson_fluctuations, tiers
from proofs_check.checks._common import (
    DETERMINISTIC_LAW_DISTANCE,
    STATISTICAL_LAW_DISTANCE,
    wrong_law,
)
from proofs_check.checks.poisson_fluctuations import _variance_needs

IID = ['chain.states=[[-1.0], [0.5], [1.0]]',
       'chain.transition=[["1/3","1/3","1/3"],["1/3","1/3","1/3"],["1/3","1/3","1/3"]]']
DOUBLY_STOCHASTIC = ['chain.states=[[-1.0], [1.0]]',
                     'chain.transition=[["1/50","49/50"],["49/50","1/50"]]']


def _total_variation(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


@pytest.mark.parametrize("distance", [DETERMINISTIC_LAW_DISTANCE, STATISTICAL_LAW_DISTANCE])
@pytest.mark.parametrize("m", [2, 3, 9, 81])
def test_a_uniform_pi_gets_a_law_that_is_not_pi(m, distance):
    pi = np.full(m, 1.0 / m)
    name, law = wrong_law(pi, distance)
    assert name != "uniform weights" and np.isclose(law.sum(), 1.0) and np.all(law > 0)
    assert _total_variation(law, pi) >= distance


def test_a_pi_far_from_uniform_keeps_the_uniform_rival():
    pi = np.array([0.7, 0.2, 0.1])
    assert wrong_law(pi, STATISTICAL_LAW_DISTANCE)[0] == "uniform weights"
    # the deterministic comparison resolves any law beyond pi's rounding
    near = np.array([0.5 + 1e-6, 0.5 - 1e-6])
    assert wrong_law(near, DETERMINISTIC_LAW_DISTANCE)[0] == "uniform weights"
    assert wrong_law(near, STATISTICAL_LAW_DISTANCE)[0] != "uniform weights"


@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=30),
       st.sampled_from([DETERMINISTIC_LAW_DISTANCE, STATISTICAL_LAW_DISTANCE]))
def test_the_wrong_law_is_at_the_asked_distance_whenever_a_candidate_is(weights, distance):
    pi = np.array(weights) / sum(weights)
    m = pi.size
    index = np.arange(1.0, m + 1.0)
    candidates = [np.full(m, 1.0 / m), index / index.sum(), index[::-1] / index.sum()]
    farthest = max(_total_variation(c, pi) for c in candidates)
    _, law = wrong_law(pi, distance)
    assert _total_variation(law, pi) >= min(distance, farthest) - 1e-15


def _context(assignments: list[str]) -> CheckContext:
    config = load_layers(None, assignments).config
    return CheckContext(config, TINY, Cache(None, salt="uniform-pi"), seed=0)


def test_tiers_poisson_rejects_its_rival_on_a_doubly_stochastic_chain():
    results = {r.name: r for r in tiers.run(_context(DOUBLY_STOCHASTIC))}
    result = results["tiers_poisson"]
    assert result.verdict == "pass"
    (rival,) = result.rivals
    assert "uniform weights" not in rival.name and rival.rejected
    assert rival.measured > 1e6 * result.tolerance


def test_poisson_checks_run_and_reject_the_wrong_law_on_an_iid_uniform_chain():
    results = {r.name: r for r in poisson_fluctuations.run(_context(IID))}
    assert set(results) == {"poisson_pathwise", "poisson_variance", "poisson_drift",
                            "poisson_drift_sharpness"}
    for name in ("poisson_pathwise", "poisson_variance"):
        result = results[name]
        assert result.accepted
        wrong = [r for r in result.rivals if "instead of pi" in r.name]
        assert len(wrong) == 1 and "uniform weights" not in wrong[0].name
        assert wrong[0].rejected
    assert results["poisson_pathwise"].verdict == "pass"


@given(st.floats(0.0, 1e3), st.floats(0.0, 1e3), st.floats(1e-300, 1e3))
def test_the_variance_rivals_needs_is_a_phrase_for_any_gap(gap, bias, half_width):
    """Never an OverflowError; an exact tie and a bias that spans the gap ask for no batches."""
    text = _variance_needs(gap, bias, half_width)
    assert isinstance(text, str) and text and "\n" not in text
    if gap == 0.0:
        assert "equals the prediction" in text
    elif gap <= bias:
        assert text.startswith("longer batches")
    elif (gap - bias) * 1e3 >= half_width:
        factor = (half_width / (gap - bias)) ** 2
        assert text.startswith(f"about {factor:.1f}x the batches")
