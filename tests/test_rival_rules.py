"""Each rule of proofs_check.rivals held to its statement in the module's docstrings, with the
numbers recomputed here from scipy (the t quantile, the t interval) and the docstring's
formulas, not read from the module: the acceptance window and its width, the resolution, the
closed window's edges, what an unrejected rival needs, the limit rival's statistic and its
guards, the rival "converges to h" tested on its own distance, and the figures' data."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from scipy.stats import t as t_distribution

from proofs_check.result import CheckResult, FigureData, Rival
from proofs_check.rivals import (
    ACCEPTANCE_CONFIDENCE,
    RIVAL_SHIFT,
    claim_figures,
    exponent_rival,
    fit_rival,
    limit_rival,
    limit_rivals_figure,
    rate_claims,
    rate_test,
)
from proofs_check.stats import fit_rate

NS = np.array([128, 256, 512, 1024, 2048, 4096])
REPLICAS = 16


def _fit(slope: float, se: float):
    """A real fit (16 replicas per rung: 15 dof) moved to the given slope and standard error."""
    rng = np.random.default_rng(5)
    samples = [(rng.normal(size=REPLICAS) * float(n) ** -0.5) ** 2 for n in NS]
    return dataclasses.replace(fit_rate(NS, samples, power=2), slope=slope, se=se)


def _claims(slope: float, se: float, predicted: float, allowance: float):
    test = rate_test(_fit(slope, se), predicted, allowance, [REPLICAS] * NS.size)
    base = CheckResult(name="x", claim="", equation="", quantity="", prediction=predicted,
                       measured=None, ci=None, tolerance=None, tolerance_source="",
                       accepted=False)
    return test, rate_claims(test, base=base, sharp_claim="")


def _half(se: float) -> float:
    """Half-width of the slope's two-sided 99.5% t interval (dof = replicas - 1)."""
    return float(t_distribution.ppf(0.5 + 0.995 / 2, REPLICAS - 1)) * se


def test_the_window_is_the_99_5_interval_widened_by_the_allowance_on_both_sides():
    slope, se, allowance = -0.41, 0.03, 0.07
    test, (bound, sharp) = _claims(slope, se, -0.5, allowance)
    half = _half(se)
    expected = (slope - half - allowance, slope + half + allowance)
    assert test.window == pytest.approx(expected, rel=1e-12)
    for result in (bound, sharp):
        assert result.window == pytest.approx(expected, rel=1e-12)
        assert result.tolerance == pytest.approx(half + allowance, rel=1e-12)
    assert test.half_width == pytest.approx(half, rel=1e-12)


def test_the_resolution_is_the_farther_edge_of_the_window_from_the_prediction():
    """Every exponent farther than the resolution from the prediction lies outside the
    window, on either side; the prediction below the slope makes the lower edge the nearer."""
    se, allowance = 0.02, 0.01
    edge = _half(se) + allowance
    for slope, predicted in ((-0.45, -0.5), (-0.55, -0.5)):
        test, _ = _claims(slope, se, predicted, allowance)
        expected = abs(slope - predicted) + edge
        assert test.resolution == pytest.approx(expected, rel=1e-12)
        for beyond in (predicted + 1.001 * expected, predicted - 1.001 * expected):
            assert exponent_rival(test, beyond, "r").rejected
        inside = predicted + math.copysign(0.999 * expected, slope - predicted)
        assert not exponent_rival(test, inside, "r").rejected


def test_a_rival_on_the_edge_of_the_window_is_not_rejected_and_the_edge_passes():
    """The window is closed: with no spread and no allowance it is the single slope, and an
    exponent equal to it lies inside. The slope at the slower rival exactly: that rival stands
    (and the bound fails); at the faster rival exactly: that rival stands (the bound holds,
    sharpness fails); at the prediction exactly: both claims pass."""
    _, (bound, sharp) = _claims(-0.5 + RIVAL_SHIFT, 0.0, -0.5, 0.0)
    slower = next(r for r in bound.rivals if r.prediction == -0.5 + RIVAL_SHIFT)
    assert not slower.rejected and bound.verdict == "fail"
    _, (bound, sharp) = _claims(-0.5 - RIVAL_SHIFT, 0.0, -0.5, 0.0)
    faster = next(r for r in sharp.rivals if r.prediction == -0.5 - RIVAL_SHIFT)
    assert not faster.rejected and bound.accepted and sharp.verdict == "fail"
    _, (bound, sharp) = _claims(-0.5, 0.0, -0.5, 0.0)
    assert bound.accepted and sharp.accepted
    assert bound.verdict == sharp.verdict == "pass"


def _needs_counts(needs: str) -> tuple[float, list[int], list[int]]:
    match = re.match(r"about ([0-9.]+)x the replicas per N \(([0-9, ]+) instead of ([0-9, ]+)\)",
                     needs)
    assert match, needs
    wanted = [int(v) for v in match.group(2).split(", ")]
    return float(match.group(1)), wanted, [int(v) for v in match.group(3).split(", ")]


def test_the_replicas_an_unrejected_rival_needs_are_the_fewest_that_reject_it():
    """The interval shrinks like 1/sqrt(R): with R' replicas the half-width is
    half * sqrt(R / R'). The count offered is the smallest R' at which the rival's gap beyond
    the allowance exceeds that half-width (so one replica fewer would not do)."""
    slope, se, allowance, predicted = -0.5, 0.08, 0.02, -0.5
    test, _ = _claims(slope, se, predicted, allowance)
    rival = exponent_rival(test, predicted - RIVAL_SHIFT, "faster")
    assert not rival.rejected
    _, wanted, counts = _needs_counts(rival.needs)
    assert counts == [REPLICAS]
    room = RIVAL_SHIFT - allowance
    half = _half(se)
    assert half * math.sqrt(REPLICAS / wanted[0]) <= room * (1 + 1e-12)
    assert half * math.sqrt(REPLICAS / (wanted[0] - 1)) > room


def test_more_than_a_million_times_the_replicas_is_called_infeasible():
    """(half / room)^2 is the replica factor: 1e7 is called infeasible, 1e5 is a number."""
    se = 0.05
    half = _half(se)
    for factor, infeasible in ((1e7, True), (1e5, False)):
        room = half / math.sqrt(factor)
        test, _ = _claims(-0.5, se, -0.5, 0.0)
        rival = exponent_rival(test, -0.5 - room, "near")
        assert not rival.rejected
        assert rival.needs.startswith("more replicas than is feasible") is infeasible
        if not infeasible:
            assert _needs_counts(rival.needs)[0] == pytest.approx(factor, rel=1e-3)


def _tau(e_g: np.ndarray, distance: float) -> float:
    """The limit rival's docstring, recomputed: tau from E = sqrt(upper end of the 99.5% t
    interval of mean e_g)."""
    n = e_g.size
    sem = float(np.std(e_g, ddof=1)) / math.sqrt(n)
    e_up = math.sqrt(t_distribution.interval(ACCEPTANCE_CONFIDENCE, n - 1, loc=e_g.mean(),
                                             scale=sem)[1])
    return 2 * distance * e_up - distance**2 if distance >= e_up else e_up**2


def _lower_bound(t: np.ndarray) -> float:
    """The lower end of the 99.5% t interval of mean t."""
    return float(t_distribution.interval(ACCEPTANCE_CONFIDENCE, t.size - 1, loc=t.mean(),
                                         scale=float(np.std(t, ddof=1)) / math.sqrt(t.size))[0])


@pytest.mark.parametrize("distance", [0.05, 0.2])  # D below E = 0.118 (tau = E^2), above
def test_the_limit_rival_statistic_and_decision_follow_the_docstring(distance):
    """A network error of about 0.1 (RMS) against g, and e_h - e_g drawn with a spread that
    puts the mean of T above tau but its 99.5% lower bound below: not rejected; shifted
    up until the lower bound clears tau: rejected."""
    rng = np.random.default_rng(11)
    e_g = 0.01 * (1 + 0.3 * rng.standard_normal(8))
    tau = _tau(e_g, distance)
    noise = rng.standard_normal(8)
    noise = (noise - noise.mean()) / noise.std(ddof=1)  # mean 0, sample sd 1
    spread = 0.4 * abs(tau) + 1e-3
    for shift, rejected in ((abs(tau) * 0.1 + 0.2 * spread, False), (abs(tau) + 3 * spread, True)):
        e_h = e_g + tau + shift + spread * noise
        t_lo = _lower_bound(e_h - e_g)
        assert (e_h - e_g).mean() > tau
        assert bool(t_lo > tau) is rejected
        rival = limit_rival("f -> h", e_g, e_h, distance, 1e-6)
        assert rival.prediction == pytest.approx(tau, rel=1e-12)
        assert rival.measured == pytest.approx((e_h - e_g).mean(), rel=1e-12)
        assert rival.rejected is rejected
        assert f"{t_lo:.3g}" in rival.reason


def test_a_limit_rival_closer_than_twice_the_limits_error_is_indistinguishable():
    """D = 1.5 delta: not more than twice delta, so not tested, however precise the data."""
    e_g = np.full(16, 1e-6) + 1e-8 * np.arange(16)
    e_h = e_g + 1.0
    rival = limit_rival("f -> h", e_g, e_h, 0.3, 0.2)
    assert not rival.rejected and "indistinguishable" in rival.reason
    assert limit_rival("f -> h", e_g, e_h, 0.3, 0.1).rejected  # D = 3 delta: tested


@pytest.mark.parametrize("e_g, e_h", [
    (np.array([0.01]), np.array([1.0])),                       # one replica
    (np.array([0.01, 0.02, 0.01]), np.array([1.0, np.nan, 1.0])),  # a diverged replica
])
def test_a_limit_rival_without_two_finite_samples_is_not_tested(e_g, e_h):
    rival = limit_rival("f -> h", e_g, e_h, 0.5, 1e-6)
    assert not rival.rejected and rival.prediction is None
    assert rival.reason == "not enough finite samples to test this rival"


def test_the_rival_converging_to_h_is_judged_on_the_lower_edge_of_its_own_window():
    """fit_rival: rejected when the distance to h decays slower than convergence needs, i.e.
    its window lies wholly above the exponent; a window holding the exponent leaves it
    standing; a distance whose levels are not all finite (no power law: no convergence to h)
    rejects it."""
    se = 0.02
    half = _half(se)
    above = rate_test(_fit(-0.5 + RIVAL_SHIFT, se), -0.5, 0.0, [REPLICAS] * NS.size)
    straddle = rate_test(_fit(-0.5 + 0.5 * half, se), -0.5, 0.0, [REPLICAS] * NS.size)
    diverged = rate_test(_fit(math.nan, se), -0.5, 0.0, [REPLICAS] * NS.size)
    assert fit_rival("h", above).rejected
    assert not fit_rival("h", straddle).rejected and fit_rival("h", straddle).needs
    assert fit_rival("h", diverged).rejected


def test_the_ladder_rows_are_the_fits_levels_and_intervals():
    fit = _fit(-0.5, 0.02)
    rows = rate_test(fit, -0.5, 0.0, [REPLICAS] * NS.size).ladder()
    assert [r.N for r in rows] == NS.tolist()
    assert [r.replicas for r in rows] == [REPLICAS] * NS.size
    assert [(r.value, r.lo, r.hi) for r in rows] == [
        (v, lo, hi) for v, (lo, hi) in zip(fit.values, fit.value_ci, strict=True)]
    assert all(r.lo < r.value < r.hi for r in rows)


def test_a_predicted_interval_replaces_the_predicted_slope_in_the_figure():
    figure = FigureData("rate", "t", {"N": NS}, {"predicted": -0.5, "rivals": {}})
    drawn = claim_figures((figure,), (), interval=(-0.75, -0.5))[0]
    assert "predicted" not in drawn.meta and drawn.meta["predicted_interval"] == (-0.75, -0.5)
    assert claim_figures((figure,), ())[0].meta["predicted"] == -0.5


def test_the_limit_rivals_figure_draws_only_rivals_with_both_numbers():
    rivals = (Rival("f^N converges to the limit of a", 0.1, 0.3, True, ""),
              Rival("b", 0.2, None, False, ""),
              Rival("c", None, None, False, ""))
    figure = limit_rivals_figure("t", rivals)
    assert figure.series["measured"].tolist() == [0.3]
    assert figure.series["allowed"].tolist() == [0.1]
    assert figure.meta["labels"] == ["a (rejected)"]
