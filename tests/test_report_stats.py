"""proofs_check.stats and proofs_check.cache: rate fits recover known exponents with calibrated
intervals; the cache is keyed by everything that determines a result and survives reloads."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import norm as normal_distribution
from scipy.stats import t as t_distribution

from proofs_check.cache import Cache, canonical_json
from proofs_check.checks._common import subleading_allowance
from proofs_check.checks._limit import floor_allowance
from proofs_check.rivals import exponent_rival, rate_test
from proofs_check.stats import _wls, fit_rate


def _power_law_samples(rng, ns, exponent, replicas):
    """Squared errors of i.i.d. N(0, N^(2 exponent)) draws: E[e] = N^(2 exponent) exactly."""
    scale = np.asarray(ns, dtype=float) ** exponent
    return (rng.normal(size=(len(ns), replicas)) * scale[:, None]) ** 2


def test_fit_rate_recovers_exponent_and_ci_covers():
    ns = np.array([100, 200, 400, 800, 1600])
    covered = 0
    trials = 200
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        fit = fit_rate(ns, _power_law_samples(rng, ns, -0.5, 64), power=2)
        covered += fit.ci[0] <= -0.5 <= fit.ci[1]
    # 95% intervals: coverage between 88% and 100% over 200 trials (binomial, generous).
    assert covered / trials >= 0.88


def test_fit_rate_rejects_wrong_exponent_with_enough_replicas():
    ns = np.array([100, 200, 400, 800, 1600])
    rng = np.random.default_rng(1)
    fit = fit_rate(ns, _power_law_samples(rng, ns, -0.25, 256), power=2, rng=rng, n_boot=100)
    test = rate_test(fit, -0.25, 0.0, [256] * ns.size)
    lo, hi = test.window
    assert lo <= -0.25 <= hi and not lo <= 0.0 <= hi
    assert exponent_rival(test, 0.0, "off by 1/4").rejected
    assert not exponent_rival(test, -0.25, "right").rejected
    lo, hi = fit.bootstrap_ci
    assert lo < fit.slope < hi


@pytest.mark.parametrize("power", [1, 2])
@pytest.mark.parametrize("scattered", [False, True])
def test_fit_rate_is_numpys_weighted_fit_with_the_birge_scaling(power, scattered):
    """The slope, its standard error, its interval and each level's interval, recomputed
    without proofs_check.stats: the delta-method variance of each level's log
    (var_r(e) / (R mean^2) / power^2), numpy's weighted polyfit on those weights, its covariance
    scaled by chi2/dof (numpy's ``cov=True``) when the levels scatter beyond their error bars
    and unscaled otherwise (``cov="unscaled"``), the t quantile with R - 1 degrees of freedom,
    and each level's normal interval on the log scale."""
    ns = np.array([100.0, 200.0, 400.0, 800.0, 1600.0])
    pattern = np.random.default_rng(5).chisquare(1, size=(ns.size, 200))
    samples = pattern / pattern.mean(axis=1, keepdims=True) / ns[:, None]  # means on N^-1
    if scattered:  # levels off the power law by up to 50%, far beyond their error bars
        samples = samples * np.array([1.0, 1.5, 0.6, 1.4, 0.7])[:, None]
    fit = fit_rate(ns, samples, power=power)
    means = samples.mean(axis=1)
    var_log = samples.var(axis=1, ddof=1) / samples.shape[1] / means**2 / power**2
    weights = 1.0 / np.sqrt(var_log)  # polyfit weighs residuals by w, i.e. w^2 = 1 / variance
    coefficients, cov = np.polyfit(np.log(ns), np.log(means) / power, 1, w=weights,
                                   cov=True if scattered else "unscaled")
    residuals = np.log(means) / power - np.polyval(coefficients, np.log(ns))
    chi2_red = float(np.sum((weights * residuals) ** 2)) / (ns.size - 2)
    assert (chi2_red > 1) is scattered  # the case is the one named
    assert fit.log_variance == pytest.approx(var_log, rel=1e-12)
    assert fit.slope == pytest.approx(coefficients[0], rel=1e-10)
    assert fit.se == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)
    half = t_distribution.ppf(0.975, samples.shape[1] - 1) * np.sqrt(cov[0, 0])
    assert fit.ci == pytest.approx((coefficients[0] - half, coefficients[0] + half), rel=1e-10)
    # each level's 95% interval: log value +- z sd(log value), z the normal quantile
    values = means ** (1 / power)
    spread = np.exp(normal_distribution.ppf(0.975) * np.sqrt(var_log))
    assert fit.values == pytest.approx(values, rel=1e-12)
    assert fit.value_ci == pytest.approx(np.stack([values / spread, values * spread], axis=1),
                                         rel=1e-12)


def test_acceptance_interval_contains_the_95_ci_and_the_allowance_widens_it():
    ns = np.array([100, 200, 400])
    fit = fit_rate(ns, _power_law_samples(np.random.default_rng(2), ns, -0.5, 32), power=2)
    lo, hi = rate_test(fit, -0.5, 0.0, [32] * 3).window
    assert lo < fit.ci[0] and fit.ci[1] < hi
    lo2, hi2 = rate_test(fit, -0.5, 0.1, [32] * 3).window
    assert lo2 == pytest.approx(lo - 0.1) and hi2 == pytest.approx(hi + 0.1)


def test_subleading_allowance():
    assert subleading_allowance(0.0, 100) == 0.0
    x = 100 ** -0.5
    assert subleading_allowance(0.5, 100) == pytest.approx(0.5 * x / (1 - x))


def _ladder_fit(seed: int = 3):
    """A fit with unequal replica counts (unequal weights) over an 8-rung ladder."""
    ns = 256 * 2 ** np.arange(8)
    rng = np.random.default_rng(seed)
    counts = [128, 128, 128, 128, 128, 32, 8, 8]
    samples = [(rng.normal(size=r) * n**-0.5) ** 2 for n, r in zip(ns, counts, strict=True)]
    return fit_rate(ns, samples, power=2)


def test_slope_sensitivity_bounds_and_is_attained_by_the_refit():
    """Independent of the formula: refit with _wls (weights held fixed) after moving every log
    value within its bound; no move exceeds the sensitivity, and the sign-matched extreme move
    attains it (so a smaller bound would be wrong: the negative control)."""
    fit = _ladder_fit()
    x, y = np.log(fit.ns), np.log(fit.values)
    bounds = np.linspace(0.01, 0.3, fit.ns.size)
    bound = fit.slope_sensitivity(bounds)
    base = _wls(x, y, fit.log_variance)[0]
    assert base == pytest.approx(fit.slope, abs=1e-12)
    rng = np.random.default_rng(0)
    moves = [abs(_wls(x, y + rng.uniform(-1, 1, y.size) * bounds, fit.log_variance)[0] - base)
             for _ in range(200)]
    assert max(moves) <= bound * (1 + 1e-12)
    centred = x - np.average(x, weights=1 / fit.log_variance)
    extreme = abs(_wls(x, y + np.sign(centred) * bounds, fit.log_variance)[0] - base)
    assert extreme == pytest.approx(bound, rel=1e-10)
    assert max(moves) > 0.3 * bound  # the random moves are not trivially small
    assert fit.slope_sensitivity(np.where(np.arange(y.size) == 7, np.inf, 0.0)) == np.inf


def test_a_level_without_weight_cannot_move_the_slope():
    """A level whose log-variance is inf has WLS weight 0: the fit is the fit without it, so an
    unbounded move of that level (bound inf) leaves the sensitivity that of the other levels
    alone (the docstring's 0 * inf = 0), not inf."""
    from dataclasses import replace

    fit = _ladder_fit()
    keep = np.arange(fit.ns.size) != 3
    bounds = np.linspace(0.01, 0.3, fit.ns.size)
    weightless = replace(fit, log_variance=np.where(keep, fit.log_variance, np.inf))
    without = replace(fit, ns=fit.ns[keep], values=fit.values[keep],
                      log_variance=fit.log_variance[keep])
    expected = without.slope_sensitivity(bounds[keep])
    assert 0.0 < expected < np.inf
    assert weightless.slope_sensitivity(np.where(keep, bounds, np.inf)) == pytest.approx(
        expected, rel=1e-12)


def test_a_level_with_one_replica_is_refused():
    """One replica has no sample variance (ddof = 1): no weight, no interval; refused, like a
    ladder of one level."""
    ns = np.array([100.0, 200.0, 400.0])
    with pytest.raises(ValueError, match="replicas >= 2"):
        fit_rate(ns, [np.array([1.0, 2.0]), np.array([0.5]), np.array([0.3, 0.2])])
    with pytest.raises(ValueError, match="levels >= 2"):
        fit_rate(ns[:1], [np.array([1.0, 2.0])])
    assert np.isfinite(fit_rate(ns, [np.array([1.0, 2.0]), np.array([0.5, 0.6]),
                                     np.array([0.3, 0.2])]).slope)


def test_floor_allowance_covers_a_limit_error_of_delta():
    """E* = exact power law; the measured E = RMS of f - g^L differs from E* by <= delta. The
    slope fitted to E stays within floor_allowance of the slope fitted to E* (same weights),
    for errors of g of either sign at every rung; delta >= E at a rung gives inf."""
    fit = _ladder_fit()
    x = np.log(fit.ns)
    e_true = 0.03 * (fit.ns / fit.ns[0]) ** -0.5
    delta = 0.4 * e_true[-1]
    rng = np.random.default_rng(1)
    for _ in range(100):
        e_meas = e_true + delta * rng.uniform(-1, 1, e_true.size)
        measured = replace_values(fit, e_meas)
        allowance = floor_allowance(measured, delta)
        s_true = _wls(x, np.log(e_true), fit.log_variance)[0]
        s_meas = _wls(x, np.log(e_meas), fit.log_variance)[0]
        assert abs(s_meas - s_true) <= allowance
    assert floor_allowance(replace_values(fit, e_true), 2 * e_true[-1]) == np.inf
    assert floor_allowance(replace_values(fit, e_true), 0.0) == 0.0


def replace_values(fit, values):
    from dataclasses import replace

    return replace(fit, values=np.asarray(values, dtype=float))


def test_cache_hits_misses_and_keys(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(3.0), "y": np.array(2.5)}

    cache = Cache(tmp_path, salt="s1")
    first = cache.get_or_compute("kind", {"N": 10, "p": Fraction(1, 3)}, compute)
    again = Cache(tmp_path, salt="s1").get_or_compute("kind", {"N": 10, "p": Fraction(1, 3)},
                                                      compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["x"], again["x"])
    Cache(tmp_path, salt="s1").get_or_compute("kind", {"N": 11, "p": Fraction(1, 3)}, compute)
    Cache(tmp_path, salt="s2").get_or_compute("kind", {"N": 10, "p": Fraction(1, 3)}, compute)
    assert len(calls) == 3
    assert not list(tmp_path.glob(".tmp-*"))


def test_cache_recomputes_a_corrupt_entry(tmp_path):
    cache = Cache(tmp_path, salt="s")
    cache.get_or_compute("k", {"a": 1}, lambda: {"x": np.ones(2)})
    (entry,) = tmp_path.glob("k-*.npz")
    entry.write_bytes(b"not a zip")
    fresh = Cache(tmp_path, salt="s")
    out = fresh.get_or_compute("k", {"a": 1}, lambda: {"x": np.zeros(2)})
    assert fresh.misses == 1
    np.testing.assert_array_equal(out["x"], np.zeros(2))


def test_canonical_json_is_order_independent():
    assert canonical_json({"b": 1, "a": (1.5, 2)}) == canonical_json({"a": [1.5, 2], "b": 1})
    with pytest.raises(TypeError):
        canonical_json({"f": object()})


def test_replica_text_groups_the_rungs_that_share_a_count():
    """standard: 128 replicas up to N = 4096, then 128 (4096 / N)^2 with its floor of 16 (by
    hand: 32 at 8192; 8 at 16384 and 2 at 32768, both floored to 16)."""
    from proofs_check.budget import BUDGETS
    from proofs_check.checks._common import replica_text

    assert replica_text(BUDGETS["standard"]) == (
        "128 (N = 256..4096), 32 (N = 8192), 16 (N = 16384..32768)")
    assert replica_text(BUDGETS["quick"]) == "96"


def test_level_seeds_differ_across_rungs_and_streams():
    """Each ladder level draws from its own root seed (independent levels, as the rate fit
    assumes); the same (seed, stream, N) gives the same seed."""
    from proofs_check.checks._common import level_seed

    ladder = (256, 512, 1024, 2048)
    seeds = {level_seed(0, key, n) for key in (200, 201) for n in ladder}
    assert len(seeds) == 2 * len(ladder)
    assert level_seed(3, 200, 512) == level_seed(3, 200, 512) != level_seed(4, 200, 512)
