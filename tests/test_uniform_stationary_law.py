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
# symmetric under x -> -x with an even target: the proof's F is odd on the words, so every
# flip-symmetric law (the uniform one too) has nu(F) = pi(F) = 0
PARITY = ['chain.states=[[-1.0], [1.0]]', 'chain.transition=[["1/10","9/10"],["9/10","1/10"]]',
          'target.expression=x0*x1']


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


# doubly stochastic (pi uniform) with F = x = (1, -1, 0): u* = (2/3, -4/3, 2/3), and both
# weights increasing and decreasing with the index have nu(u*) = 0 although nu(F) != pi(F)
CYCLE = ['chain.states=[[1.0], [-1.0], [0.0]]',
         'chain.transition=[["1/2","1/2","0"],["0","1/2","1/2"],["1/2","0","1/2"]]']


def test_tiers_poisson_picks_its_law_by_the_gap_in_u_not_in_f():
    """Before: the law was chosen by its gap in F, but the rival's u is u* - nu(u*) (the
    centring of F cancels in the solve); on CYCLE it equalled u* to rounding (2e-16 against the
    tolerance 2e-14) and tiers_poisson was inconclusive."""
    result = {r.name: r for r in tiers.run(_context(CYCLE))}["tiers_poisson"]
    (rival,) = result.rivals
    assert result.verdict == "pass" and rival.rejected
    assert "pi tilted towards larger u" in rival.name
    assert abs(rival.measured - 1.0 / 3.0) <= 1e-12  # |nu(u*)|: nu = pi (1 + u*/(2 max|u*|))


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
    else:  # over a million times the batches
        assert text.startswith("more batches than is feasible (over a million times")


@pytest.mark.parametrize(("half_width", "phrase"), [
    (500.0, "about 250000.0x the batches"),  # (500 / 1)^2: feasible
    (2000.0, "more batches than is feasible"),  # 4 million times: not
    (1e5, "more batches than is feasible")])
def test_the_variance_rivals_needs_draws_the_line_at_a_million_times_the_batches(half_width,
                                                                               phrase):
    assert _variance_needs(1.5, 0.5, half_width).startswith(phrase)


def _gap(law: np.ndarray, pi: np.ndarray, values: np.ndarray) -> float:
    return abs(float((law - pi) @ values)) / float(np.ptp(values))


@pytest.mark.parametrize("distance", [DETERMINISTIC_LAW_DISTANCE, STATISTICAL_LAW_DISTANCE])
def test_an_odd_function_on_a_symmetric_law_gets_a_law_with_another_mean(distance):
    """pi symmetric under the flip s -> m - 1 - s, F odd: the uniform law is far from pi in
    total variation but has the same mean of F, so a rival that only re-centres F is pi's own
    prediction. The law chosen for F moves the mean by at least distance / 10 of F's range."""
    pi = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    F = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert wrong_law(pi, distance)[0] == "uniform weights"  # the F-blind choice
    name, law = wrong_law(pi, distance, values=F)
    assert name != "uniform weights"
    assert _gap(law, pi, F) >= distance / 10 and _total_variation(law, pi) >= distance


@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12),
       st.lists(st.floats(-5.0, 5.0), min_size=12, max_size=12),
       st.sampled_from([DETERMINISTIC_LAW_DISTANCE, STATISTICAL_LAW_DISTANCE]))
def test_the_law_for_f_meets_both_distances_whenever_a_candidate_does(weights, values, distance):
    pi = np.array(weights) / sum(weights)
    F = np.array(values[: pi.size])
    name, law = wrong_law(pi, distance, values=F)
    assert np.isclose(law.sum(), 1.0) and np.all(law >= 0)
    if np.ptp(F) == 0:
        return
    m = pi.size
    index = np.arange(1.0, m + 1.0)
    centred = F - pi @ F
    tilted = pi * (1 + centred / (2 * np.max(np.abs(centred))))
    candidates = [np.full(m, 1.0 / m), index / index.sum(), index[::-1] / index.sum(),
                  tilted / tilted.sum()]
    if any(_total_variation(c, pi) >= distance and _gap(c, pi, F) >= distance / 10
           for c in candidates):
        assert _total_variation(law, pi) >= distance * (1 - 1e-12)
        assert _gap(law, pi, F) >= distance / 10 * (1 - 1e-12)


def test_poisson_checks_reject_the_wrong_law_on_a_sign_symmetric_chain():
    """Before: uniform weights on the words, whose mean of the odd F is pi's, so the pathwise
    rival stayed within the rounding tolerance (inconclusive) and the drift rival was not
    rejected."""
    results = {r.name: r for r in poisson_fluctuations.run(_context(PARITY))}
    for name in ("poisson_pathwise", "poisson_drift"):
        wrong = [r for r in results[name].rivals if "instead of pi" in r.name]
        assert len(wrong) == 1 and "uniform weights" not in wrong[0].name
        assert wrong[0].rejected, (name, wrong[0].reason)
    assert results["poisson_pathwise"].verdict == "pass"


def test_the_wrong_law_variance_is_the_formula_with_nu():
    """The rival sigma^2 is 2 nu(F~ u) - nu(F~^2), F~ = F - nu(F), (I - P + 1 nu) u = F~
    (module docstring of poisson_fluctuations), solved here directly. Not the solution's
    ``asymptotic_variance``: that is the martingale form, equal to the formula only for a true
    Poisson solution (with nu it differs, and the rival silently changed)."""
    from numerics.poisson_float import poisson_solve
    from proofs_check.checks._poisson_functions import rival_variances

    P = np.array([[0.2, 0.5, 0.3], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])
    F = np.array([1.0, -2.0, 0.5])
    nu = np.array([0.6, 0.3, 0.1])
    solution = poisson_solve(P, F)
    control = poisson_solve(P, F, pi=nu)
    centred = F - nu @ F
    u = np.linalg.solve(np.eye(3) - P + np.outer(np.ones(3), nu), centred)
    expected = float(nu @ (2 * centred * u - centred**2))
    value = rival_variances(solution, control, "rival", solution.pi)["rival"]
    assert abs(value - expected) <= 1e-13 * max(1.0, abs(expected))
    assert abs(control.asymptotic_variance - expected) > 1e-3  # the two forms differ here


# d = 3, symmetric under x -> -x, even target: the proof's F is odd and its variance rivals are
# too close, so the variance is tested on ybar (even), whose own wrong law is the uniform one
CUBE = ['chain.states=[[1.0,0.0,0.5],[-1.0,0.0,-0.5],[0.0,1.0,0.0],[0.0,-1.0,0.0]]',
        'chain.transition=[["1/4","1/4","1/4","1/4"],["1/4","1/4","1/4","1/4"],'
        '["1/2","1/4","1/8","1/8"],["1/4","1/2","1/8","1/8"]]',
        'target.expression=x0_1*x0_2 + x1_3**2']


def test_the_variance_function_gets_its_own_wrong_law():
    """Before: the law chosen for the proof's F was used for every candidate function; on CUBE
    that law (pi tilted towards larger F) put the indicator's wrong-law variance 2% from
    sigma^2, and poisson_variance stayed inconclusive at the quick budget."""
    from proofs_check.checks._poisson_functions import (
        SEPARATION,
        rival_variances,
        variance_function,
    )
    from proofs_check.checks.poisson_fluctuations import _problem

    context = _context(CUBE)
    _, Q, pi_L, F, _ = _problem(context)
    name, values, solution, control, rival = variance_function(Q, pi_L, F, context)
    assert name.startswith("ybar")
    law_name, law = wrong_law(pi_L, STATISTICAL_LAW_DISTANCE, values=values)
    assert np.array_equal(control.pi, law) and law_name in rival
    sigma2 = solution.asymptotic_variance
    assert all(abs(v - sigma2) >= SEPARATION * sigma2
               for v in rival_variances(solution, control, rival, pi_L).values())


def test_the_variance_function_reuses_the_solution_of_F_it_is_given():
    """run() solves the proof's F once and hands the solution on (it was solved twice: two dense
    LU solves on m^L words); a candidate other than F is still solved from its own values."""
    from proofs_check.checks._poisson_functions import solutions, variance_function
    from proofs_check.checks.poisson_fluctuations import _problem

    context = _context([])  # the default: the proof's F is the function chosen
    _, Q, pi_L, F, _ = _problem(context)
    solved = solutions(Q, pi_L, F)
    fresh = variance_function(Q, pi_L, F, context)
    reused = variance_function(Q, pi_L, F, context, solved)
    assert fresh[0] == reused[0] and reused[1] is F
    assert reused[2] is solved[0] and reused[3] is solved[1] and reused[4] == solved[2]
    assert np.array_equal(fresh[2].u, reused[2].u)  # the same numbers, bit for bit
    context = _context(CUBE)  # ybar is chosen there: solved from its values, not F's
    _, Q, pi_L, F, _ = _problem(context)
    solved = solutions(Q, pi_L, F)
    name, values, solution, _, _ = variance_function(Q, pi_L, F, context, solved)
    assert name.startswith("ybar") and solution is not solved[0]
    assert np.array_equal(solution.values, values)
