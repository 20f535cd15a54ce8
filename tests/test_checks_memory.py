"""The memory-contraction check (its constants: tests/test_derivations_limit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.inputs.config import load_config
from proofs_check.budget import TINY, get_budget
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.checks import memory_contraction as memory


@pytest.mark.parametrize("path", [None, "examples/linear_two_state.toml",
                                  "examples/erf_no_recurrence.toml",
                                  "examples/antisymmetric_beta_half.toml"])
def test_memory_check_passes_and_rejects_its_control(path):
    config = load_config(path)
    context = CheckContext(config, get_budget("quick"), Cache(None, salt="t"), seed=0)
    result = memory.run(context)
    assert result.verdict == "pass", result.details
    assert all(r.rejected for r in result.rivals), result.rivals
    assert result.passed


def test_the_derived_bounds_are_attained_for_a_linear_activation():
    """The bounds must be sharp, not merely true: a bound twice too large would pass the claim
    (ratio <= 1) and still reject its rival (rho / 2), so only attainment catches it.

    For sigma(z) = z the recursion is exact algebra: with e_k = S_k - S*_k,
    e_k = b e_{k-1}, e_{-1} = -S*_{-1}, so |e_k| = |b|^{k+1} C0, and likewise
    |G^w_k - G^w*_k| = |b|^{k+1} E^w_{-1} (sup|sigma''| = 0 drops the second term). The ratio
    to the bound rho^{k+1} C0 (rho = b_max, Lip = 1) is (|b| / b_max)^{k+1}, so its maximum,
    at k = 0, is max |b| / b_max over the units: with 2000 units uniform on [-b_max, b_max]
    (quick budget) it is below 0.99 with probability 0.99^2000 < 1e-8. For G^b,
    e^b_k = -(k + 1) b^k S*_{-1} - b^{k+1} G^b*_{-1} against (k + 1) rho^k C0 + rho^{k+1} E^b:
    attained where the two terms share a sign, which about half the units do."""
    config = load_config("examples/linear_two_state.toml")
    context = CheckContext(config, get_budget("quick"), Cache(None, salt="t"), seed=0)
    result = memory.run(context)
    assert result.verdict == "pass"
    for family, ratios in result.details["families"].items():
        assert 0.99 <= ratios["max_ratio"] <= 1.0 + memory.RATIO_TOLERANCE, (family, ratios)


def test_memory_trajectory_matches_the_frozen_network():
    from numerics.frozen import frozen_memory

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(50, 2)), rng.uniform(-0.5, 0.5, size=50)
    inputs = rng.normal(size=(12, 2))
    S, Gw, Gb = memory.memory_trajectory("tanh", w, b, inputs)
    ref = frozen_memory(w, b, "tanh", inputs[None])
    np.testing.assert_allclose(S, ref.S[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(Gw, ref.Gw[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(Gb, ref.Gb[0], rtol=1e-13, atol=1e-15)


def test_a_wrong_contraction_rate_fails_the_check(monkeypatch):
    """Mutant: rho underestimated by 20% in the claim itself -> the check must fail."""
    from derivations.inputs.config import contraction_rate as real

    monkeypatch.setattr(memory, "contraction_rate", lambda config: 0.8 * real(config))
    context = CheckContext(load_config(None), get_budget("quick"), Cache(None, salt="t"), 0)
    assert memory.run(context).verdict == "fail"


@pytest.mark.parametrize("path", [None, "examples/antisymmetric_beta_half.toml"])
def test_errors_within_the_symbolically_derived_bounds(path):
    context = CheckContext(load_config(path), get_budget("quick"), Cache(None, salt="t"), seed=0)
    symbolic = memory.run(context).details["derived_symbolic_bound"]
    assert symbolic["within"] is True
    assert 0.0 < symbolic["max_ratio"] <= 1.0


def test_a_shrunk_symbolic_bound_fails_the_check(monkeypatch):
    """Mutant: the derived bounds divided by 10 are violated, so the verdict is fail."""
    import derivations.limit as limit

    original = limit.numeric_memory_error_bounds

    def shrunk(*args, **kwargs):
        return {key: value / 10.0 for key, value in original(*args, **kwargs).items()}

    monkeypatch.setattr(limit, "numeric_memory_error_bounds", shrunk)
    context = CheckContext(load_config(None), get_budget("quick"), Cache(None, salt="t"), seed=0)
    result = memory.run(context)
    assert result.details["derived_symbolic_bound"]["within"] is False
    assert result.verdict == "fail"


def test_limit_plan_drops_the_full_fallback_only_when_it_must():
    """proofs_check.commands._sizes.plan_limit: the memory model of the limit beyond 2187 words
    with the full eigen-solve as the low-rank solve's fallback (K + 3 n^2) and without it
    (K + 1.5 n^2, numerics.costs.SOLVE_LOW_RANK); a cap between the two runs low rank only, a
    cap below both is refused in one line naming the largest word length that fits."""
    from derivations.inputs.config import load_config
    from numerics.costs import MemoryCap, ResourceError, limit_bytes
    from proofs_check.commands._sizes import plan_limit

    config = load_config(None)  # m = 3, d = 1: L = 9 is 19683 words, "previous" truncation
    full = limit_bytes(3, 9, 1, False, groups=False)
    low = limit_bytes(3, 9, 1, False, groups=False, full_fallback=False)
    n2 = 8.0 * 3**18
    # x (1 + 1/m^2 + 1/m^4): the truncation estimate's two shorter lengths share the pass
    assert full - low == pytest.approx(1.5 * n2 * (1 + 1 / 9 + 1 / 81), rel=1e-12)
    assert plan_limit(config, 9, MemoryCap(2 * full, "test"), field="L", groups=False) == (
        full, True)
    assert plan_limit(config, 9, MemoryCap((full + low) / 2, "test"), field="L",
                      groups=False) == (low, False)
    with pytest.raises(ResourceError, match="L = 9: .* the largest L that fits is 8"):
        plan_limit(config, 9, MemoryCap(low / 2, "test"), field="L", groups=False)
    # up to 2187 words the solve is always the full one: the flag changes nothing
    assert limit_bytes(3, 6, 1, False, full_fallback=False) == limit_bytes(3, 6, 1, False)


def test_a_refused_ladder_rung_names_what_the_user_can_change():
    """proofs_check.commands._sizes.check_simulation on a report's rung: N and the replicas are
    the budget's, so the one line says "a smaller --budget or a larger --memory-cap" (it said
    only "no single field brings it under the cap (training.horizon = 2)")."""
    from numerics.costs import MemoryCap, ResourceError, simulation_bytes
    from proofs_check.commands._sizes import check_simulation

    config = load_config(None)
    need = simulation_bytes(512, 256, float(config.training.horizon), 1, 1, 0, False)
    least = simulation_bytes(512, 256, 1 / 512, 1, 1, 0, False)  # the shortest horizon
    tiny = MemoryCap(int(least / 2), "test")
    with pytest.raises(ResourceError, match=r"\(full budget\) .*no value of training.horizon "
                       r"brings it under the cap .*; or choose a smaller --budget or a larger "
                       r"--memory-cap$"):
        check_simulation(config, tiny, rung=(512, 256, "full"))
    between = MemoryCap(int((least + need) / 2), "test")  # a shorter horizon fits: named
    with pytest.raises(ResourceError, match=r"the largest training.horizon that fits is .*; or "
                       r"choose a smaller --budget"):
        check_simulation(config, between, rung=(512, 256, "full"))
    with pytest.raises(ResourceError) as refused:  # rnnkl simulate: run.N is the user's own
        check_simulation(config, MemoryCap(1, "test"))
    assert "--budget" not in str(refused.value)


@pytest.mark.parametrize("path", [None, "examples/antisymmetric_beta_half.toml"])
def test_the_statistic_figure_draws_the_measured_ratios(path):
    """The first figure is the check's statistic step by step: the largest of each family's
    curve is that family's reported ratio (and the rival's, its control ratio), and the
    largest of all is the measured value the verdict used; the second figure's errors are the
    per-step maxima of the same errors (each with its own bound, G^w's included)."""
    context = CheckContext(load_config(path), get_budget("quick"), Cache(None, salt="t"), 0)
    result = memory.run(context)
    statistic, errors = result.figures
    assert (statistic.kind, errors.kind) == ("curves", "memory")
    families = result.details["families"]
    curve_max = {}
    for family in ("S", "G^w", "G^b"):  # theory.md §6's three, not read from the check
        curve_max[family] = float(np.max(statistic.series[f"p0|{family}|y"]))
        assert curve_max[family] == families[family]["max_ratio"]
        rival = statistic.series[f"p0|rival (rho/2, C/2): {family}|y"]
        assert float(np.max(rival)) == families[family]["max_ratio_control"]
        assert f"bound {family} (rho)" in errors.series
        assert errors.series[family].shape == errors.series["k"].shape
    assert max(curve_max.values()) == result.measured
    assert np.all(statistic.series["p0|the bound: ratio 1 (claim: at most 1)|y"] == 1.0)


def test_without_recurrence_only_the_error_figure_is_drawn():
    """rho = 0 (erf, b frozen at 0): every error is below the floor, no ratio to draw."""
    context = CheckContext(load_config("examples/erf_no_recurrence.toml"), get_budget("quick"),
                           Cache(None, salt="t"), 0)
    result = memory.run(context)
    assert [f.kind for f in result.figures] == ["memory"]
    assert result.details["rho"] == 0.0


# (Lip, sup|sigma''|, sup|sigma|), worked out by hand: tanh'' = -2 tanh (1 - tanh^2) peaks at
# tanh = 1/sqrt(3); sigmoid'' = s (1 - s)(1 - 2 s) peaks at 4/(3 sqrt 3) / 8 = sqrt(3) / 18;
# linear has no second derivative and no bound on sigma (its sup term is then 0).
CONSTANTS = {"tanh": (1.0, 4.0 / (3.0 * np.sqrt(3.0)), 1.0),
             "sigmoid": (0.25, np.sqrt(3.0) / 18.0, 1.0),
             "linear": (1.0, 0.0, None)}


@pytest.mark.parametrize("activation", sorted(CONSTANTS))
def test_the_bounds_are_the_module_docstrings_formulas(activation):
    """|S - S*| <= rho^{k+1} C0; |G^w - G^w*| <= rho^{k+1} E^w + (k+1) rho^k L2 |b| C0 X /
    (1 - rho); |G^b - G^b*| <= rho^{k+1} E^b + (k+1) rho^k C0 (Lip + L2 |b| sup|sigma| /
    (1 - rho)), at X = 2 and |b| != 1 so that neither factor can drop out unseen."""
    lip, second, sup = CONSTANTS[activation]
    rho, X = 0.5, 2.0
    b, c0 = np.array([0.5, -0.25]), np.array([0.8, 0.3])
    ew, eb = np.array([0.1, 0.2]), np.array([0.05, 0.4])
    k = np.arange(4.0)[:, None]
    sup_term = 0.0 if sup is None else second * np.abs(b) * sup / (1 - rho)
    expected = (rho ** (k + 1) * c0,
                rho ** (k + 1) * ew + (k + 1) * rho**k * second * np.abs(b) * c0 * X / (1 - rho),
                rho ** (k + 1) * eb + (k + 1) * rho**k * c0 * (lip + sup_term))
    for got, want in zip(memory._bounds(rho, activation, X, b, c0, ew, eb, 4), expected,
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0.0)


def _tiny_context(path=None) -> CheckContext:
    return CheckContext(load_config(path), TINY, Cache(None, salt="t"), seed=0)


@pytest.mark.parametrize(("excess", "verdict"), [(1e-3, "fail"), (-1e-3, "pass")])
def test_a_ratio_just_above_one_fails(monkeypatch, excess, verdict):
    """The claim's bounds scaled so that the largest ratio is 1 +- 1e-3: only rounding
    (RATIO_TOLERANCE = 1e-4) is forgiven, so 1.001 fails and 0.999 passes."""
    measured = memory.run(_tiny_context()).measured
    real = memory._bounds

    def scaled(rate, *args):  # the claim's bounds only (the control's rate is rho / 2)
        bounds = real(rate, *args)
        if rate != memory.contraction_rate(load_config(None)):
            return bounds
        return tuple(bound * measured / (1.0 + excess) for bound in bounds)

    monkeypatch.setattr(memory, "_bounds", scaled)
    result = memory.run(_tiny_context())
    assert result.measured == pytest.approx(1.0 + excess, rel=1e-9)
    assert result.verdict == verdict


def test_the_reference_starts_below_double_precision():
    """theory.md §3's fixed point along the path is the recursion run from B steps earlier,
    with rho^B < 1e-17: the reference's own error is below rounding."""
    details = memory.run(_tiny_context()).details
    assert details["rho"] > 0.0 and details["rho"] ** details["burn_in"] < 1e-17


def test_the_input_bound_is_the_largest_euclidean_norm_of_a_state():
    """X = max_s |xi_s| in R^d: sqrt(2) for the state (1, 1) of the d = 2 example, where the
    largest single coordinate is 1."""
    details = memory.run(_tiny_context("examples/antisymmetric_beta_half.toml")).details
    assert details["input_bound"] == pytest.approx(np.sqrt(2.0), rel=1e-15)
