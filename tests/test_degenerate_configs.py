"""Configurations where a quantity vanishes exactly (derivations.kernel_dependence): the kernel of
c alone does not move under training, a zero initialisation can make the kernel 0, and a rate
fit of errors that are exactly 0 says so instead of reporting a diverged network."""

from __future__ import annotations

import dataclasses
import itertools
import warnings

import numpy as np
import pytest

from derivations.inputs.config import load_config, with_overrides
from derivations.kernel_dependence import kernel_depends_on, kernel_moves, kernel_vanishes
from derivations.scaling import GROUPS
from numerics.limit import solve_limit
from numerics.tangent_kernel import empirical_kernel
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext
from proofs_check.cli import main
from proofs_check.rivals import fit_rival, rate_base, rate_claims, rate_figure, rate_test
from proofs_check.stats import fit_rate

ALL_SUBSETS = [g for r in (1, 2, 3) for g in itertools.combinations(GROUPS, r)]


# ----------------------------------------------------------------------------- the derivations


def test_only_the_kernel_of_c_alone_is_static():
    """theory.md §3: the c term S S' is a function of (w, b); every other term carries c^2 or
    a tangent, so it moves with a trained c, w or b."""
    assert {g: kernel_moves(g) for g in ALL_SUBSETS} == {
        g: g != ("c",) for g in ALL_SUBSETS}
    assert kernel_depends_on(("c",)) == {"c": False, "w": True, "b": True}
    assert kernel_depends_on(("w",)) == {"c": True, "w": True, "b": True}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf", "linear"])
def test_kernel_moves_exactly_when_moving_the_trained_parameters_moves_the_kernel(activation):
    """The derived dependence (with the activation substituted) against the numerics: moving the
    trained groups' parameters of random units changes their empirical kernel
    (numerics.tangent_kernel) on three-symbol words iff kernel_moves says so. With linear sigma,
    w alone gives a static kernel (G^w = sum_j b^j x_{-j}: no w), b alone does not (G^b carries b
    from the third input on); the general-sigma answer (activation None) said both move."""
    config = load_config(None)
    config = config.replace(network=dataclasses.replace(config.network, activation=activation))
    inputs = np.array([[[-1.0], [0.3], [1.0]], [[0.3], [0.3], [-1.0]], [[1.0], [-1.0], [0.3]]])
    rng = np.random.default_rng(1)
    for groups in ALL_SUBSETS:
        c, w, b = _units(rng, ())
        moved = {"c": c + 0.3 * rng.normal(size=c.shape) if "c" in groups else c,
                 "w": w + 0.3 * rng.normal(size=w.shape) if "w" in groups else w,
                 "b": b + 0.1 * rng.normal(size=b.shape) if "b" in groups else b}
        before = empirical_kernel(config, c, w, b, inputs, groups)
        after = empirical_kernel(config, moved["c"], moved["w"], moved["b"], inputs, groups)
        assert kernel_moves(groups, 1, activation) == bool(np.any(after != before)), groups
    assert kernel_moves(("w",), 1, "linear") is False and kernel_moves(("w",)) is True


def _units(rng: np.random.Generator, zero: tuple[str, ...], n: int = 40):
    c = np.zeros(n) if "c" in zero else rng.normal(size=n)
    w = np.zeros((n, 1)) if "w" in zero else rng.normal(size=(n, 1))
    b = np.zeros(n) if "b" in zero else rng.uniform(-0.5, 0.5, size=n)
    return c, w, b


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf", "linear"])
def test_a_vanishing_kernel_is_exactly_the_zero_empirical_kernel(activation):
    """The derived condition against the numerics: for every trainable subset and every set of
    zero-initialised groups, the empirical kernel of random units (numerics.tangent_kernel, the
    trainer's recursion) is exactly 0 on three-symbol words iff kernel_vanishes says so."""
    config = load_config(None)
    config = config.replace(network=dataclasses.replace(config.network, activation=activation))
    inputs = np.array([[[-1.0], [0.3], [1.0]], [[0.3], [0.3], [-1.0]], [[1.0], [-1.0], [0.3]]])
    rng = np.random.default_rng(0)
    for groups in ALL_SUBSETS:
        for zero in (z for r in (1, 2) for z in itertools.combinations(GROUPS, r)):
            K = empirical_kernel(config, *_units(rng, zero), inputs, groups)
            assert kernel_vanishes(groups, activation, zero) == bool(np.all(K == 0.0)), (
                groups, zero, float(np.max(np.abs(K))))


@pytest.mark.parametrize(("sets", "fragment"), [
    (["init.c_std=0", 'network.trainable=["w", "b"]'], "init.c_std = 0 with trainable w, b"),
    (["init.w_std=0", 'network.trainable=["c"]'], "init.w_std = 0 with trainable c and tanh"),
    (["init.w_std=0", "init.c_std=0"], "init.c_std = 0 and init.w_std = 0"),
])
def test_a_configuration_whose_kernel_vanishes_is_refused_in_one_line(sets, fragment, capsys):
    args = ["config"] + [a for s in sets for a in ("--set", s)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "identically 0" in err


@pytest.mark.parametrize("sets", [["init.c_std=0"], ["init.w_std=0"],
                                  ["init.w_std=0", "network.activation=sigmoid",
                                   'network.trainable=["c"]']])
def test_a_zero_initialisation_that_still_learns_is_accepted(sets, capsys):
    """c = 0 with c trained (S S' remains), w = 0 with w trained (G^w remains), and w = 0 with
    sigmoid (sigma(0) = 1/2): the kernel is not 0."""
    assert main(["config"] + [a for s in sets for a in ("--set", s)]) == 0


# ----------------------------------------------------------------------------- the statistics


def _zero_test(predicted: float = -0.25):
    fit = fit_rate(np.array([64, 128, 256]), np.zeros((3, 8)), power=2,
                   rng=np.random.default_rng(0))
    return rate_test(fit, predicted, 0.05, [8, 8, 8])


def test_errors_exactly_zero_hold_the_bound_reject_every_exponent_and_fail_sharpness():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log-of-zero warning reaches the user
        test = _zero_test()
        base = rate_base(name="x", claim="c", equation="e", quantity="q", tolerance_source="s")
        bound, sharp = rate_claims(test, base=base, sharp_claim="sharp")
    assert test.fit.identically_zero and test.fit.slope == -np.inf
    assert bound.verdict == "pass" and sharp.verdict == "fail"
    assert all(r.rejected and "exactly 0 at every N" in r.reason
               for r in (*bound.rivals, *sharp.rivals))
    assert "exactly 0 at every N" in sharp.details["note"]
    assert test.resolution == 0.0


def test_a_distance_exactly_zero_never_rejects_the_rival_limit():
    rival = fit_rival("h", _zero_test(-0.5))
    assert not rival.rejected and "exactly 0" in rival.reason
    assert "no budget can tell the claim from h" in rival.needs  # was "would need nothing"


def test_zero_errors_say_their_resolution_in_words():
    """Was "rejects any exponent farther than 0 from the prediction", though the sharpness
    claim rejects the prediction itself."""
    from proofs_check.render import _detail_lines

    base = rate_base(name="x", claim="c", equation="e", quantity="q", tolerance_source="s")
    bound, sharp = rate_claims(_zero_test(), base=base, sharp_claim="sharp")
    for result in (bound, sharp):
        resolution = dict(_detail_lines(result))["resolution"]
        assert resolution.startswith("every exponent: the error is exactly 0 at every N")


def test_zeros_at_one_rung_only_are_no_power_law_and_no_divergence_claim():
    samples = np.array([[0.0] * 4, [1.0, 2.0, 1.5, 1.2], [0.5, 0.7, 0.6, 0.4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_rate(np.array([64, 128, 256]), samples, power=2)
    test = rate_test(fit, -0.25, 0.05, [4, 4, 4])
    bound, _ = rate_claims(test, base=rate_base(name="x", claim="c", equation="e",
                                                quantity="q", tolerance_source="s"),
                           sharp_claim="sharp")
    assert not fit.identically_zero and np.isnan(fit.slope)
    assert bound.verdict == "fail"
    assert "exactly 0 at some N only" in bound.rivals[0].reason


def test_the_rate_figure_of_zero_errors_renders_without_warnings():
    from proofs_check.figures import render_png

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_png(rate_figure(_zero_test(), "zero", "error"))
    assert png.startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- the check


@pytest.fixture(scope="module")
def static_context():
    config = with_overrides(load_config(None), word_length=3)
    config = config.replace(network=dataclasses.replace(config.network, trainable=("c",)))
    return CheckContext(config, TINY, Cache(None, salt="static"), seed=0)


def test_lazy_training_with_c_alone_checks_the_exact_statement(static_context):
    from proofs_check.checks import lazy_training

    result = lazy_training.run(static_context)
    assert not isinstance(result, tuple)  # one exact result, no bound-and-sharpness pair
    assert result.name == "lazy_training" and result.verdict == "pass"
    assert result.measured == 0.0 and result.rivals[0].measured > 0.0
    assert result.details["kernel_depends_on"] == {"c": False, "w": True, "b": True}


def test_lazy_training_with_c_alone_fails_when_the_kernel_moves(static_context, monkeypatch):
    """Mutant: the trainer moved a frozen parameter (the kernel motion is not 0)."""
    from proofs_check.checks import lazy_training

    real = lazy_training.kernel_motion
    monkeypatch.setattr(lazy_training, "kernel_motion",
                        lambda level, config, inputs, groups=None:
                        real(level, config, inputs, groups) + 1e-30)
    fresh = dataclasses.replace(static_context, cache=Cache(None, salt="static-mutant"))
    assert lazy_training.run(fresh).verdict == "fail"


# ----------------------------------------------------------------------------- extreme magnitudes


@pytest.mark.parametrize(("setting", "fragment"), [
    ("chain.states=[[-1e100], [0.3], [1.0]]", "chain.states: state 0 component 1 = -1e+100"),
    ('target.expression="1e31*x0"', "target.expression: the value -1e+31 at x0 = state 0"),
    ("init.c_std=1e31", "init.c_std: 1e+31"),
    ("init.w_std=2e30", "init.w_std: 2e+30"),
    ("target.noise_std=1e300", "target.noise_std: 1e+300"),
    ("training.alpha=1e40", "training.alpha: 1e+40"),
])
def test_numbers_beyond_the_magnitude_bound_are_refused_in_one_line(setting, fragment, capsys):
    """States at 1e100 made the limit's JSON and the report overflow (exit 3); every number the
    statistics multiply is bounded by MAX_MAGNITUDE = 1e30 (derivations.inputs.validation)."""
    assert main(["config", "--set", setting]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "beyond 1e+30" in err


def test_numbers_at_the_magnitude_bound_are_accepted():
    assert main(["config", "--set", "chain.states=[[-1e30], [0.3], [1.0]]",
                 "--set", "init.c_std=1e30", "--set", "training.alpha=1e30"]) == 0


def test_a_figure_of_overflowed_values_says_so_instead_of_stopping_the_report():
    from proofs_check.figures import not_drawn_text, render_png
    from proofs_check.result import FigureData

    overflowed = FigureData("rate", "diverged", {"N": np.array([64.0, 128.0]),
                                                 "error": np.array([np.inf, np.nan])},
                            {"slope": np.nan, "intercept": np.nan})
    assert render_png(overflowed).startswith(b"\x89PNG")
    assert not_drawn_text(overflowed).startswith(
        "not drawn: 1 of its 2 series hold values that are not finite")  # not "<= 0"
    broken = FigureData("rate", "a plotter bug", {"N": np.array([64.0, 128.0]),
                                                  "error": np.array([1.0])})  # wrong shape
    with pytest.raises(ValueError):
        render_png(broken)


def test_a_deterministic_rival_that_cannot_be_rejected_asks_for_another_configuration():
    """A tier whose rival stays within the tolerance (deviation 0 <= tolerance 0, as the limit
    ODE without the pi_L weights gave where g and the rival's g were both 0): a larger budget
    cannot change a deterministic comparison (it said "would need a larger budget")."""
    from proofs_check.checks.tiers import _result
    from proofs_check.render import verdict_explanation
    from proofs_check.rivals import DETERMINISTIC_NEEDS

    result = _result("tiers_limit", "claim", "limit_ode", "max |g_double - g_mpmath|", 0.0, 0.0,
                     "source", "limit ODE without the pi_L weights (K instead of K D)", 0.0, {})
    assert result.measured == 0.0 and result.verdict == "inconclusive"
    assert [r.needs for r in result.unrejected] == [DETERMINISTIC_NEEDS]
    assert "a larger budget" not in verdict_explanation(result)


@pytest.mark.parametrize("assignments", [
    ["target.expression=0"],  # ybar = 0 everywhere
    # an i.i.d. uniform chain and a target of lag 2: E[x2 | x0, x1] = 0 on the tier's 2-words
    # (seen on an unseen configuration: tiers_limit inconclusive, deviation 0 <= tolerance 0)
    ['chain.states=[[-1.0], [1.0]]', 'chain.transition=[["1/2","1/2"],["1/2","1/2"]]',
     "target.expression=x0*x1*x2"]])
def test_tiers_limit_compares_the_solvers_where_ybar_is_zero_on_its_words(assignments):
    """Where ybar is 0 on the words of length 2, g = 0 and the rival's g = 0: the solvers are
    compared on ybar + 1_{u*} instead (as where the sign symmetry makes g = 0), so the rival is
    rejected and the tier passes; the note says why."""
    from derivations.inputs.files import load_layers
    from proofs_check.checks import tiers

    config = load_layers(None, assignments).config
    context = CheckContext(config, TINY, Cache(None, salt="zero-ybar"), seed=0)
    result = {r.name: r for r in tiers.run(context)}["tiers_limit"]
    assert result.verdict == "pass", result.rivals
    assert result.rivals[0].measured > result.tolerance > 0.0
    assert "ybar is identically 0 on the words of length 2" in result.details["note"]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf", "linear"])
def test_the_kernel_reads_the_past_exactly_when_the_empirical_kernel_does(activation):
    """kernel_reads_past against the numerics: two three-symbol words with the same current
    input and different pasts give the same empirical-kernel rows (numerics.tangent_kernel)
    for every unit draw iff the derivation says the kernel reads the current input only (b
    drawn at 0 and frozen: no recurrence)."""
    from derivations.kernel_dependence import kernel_reads_past

    config = load_config(None)
    config = config.replace(network=dataclasses.replace(config.network, activation=activation))
    inputs = np.array([[[-1.0], [0.3], [1.0]], [[1.0], [-1.0], [1.0]], [[0.3], [0.3], [-1.0]]])
    rng = np.random.default_rng(4)
    for groups in ALL_SUBSETS:
        for zero in ((), ("b",), ("w",)):
            if kernel_vanishes(groups, activation, zero):
                continue
            # a group drawn at 0 but trained still reads the past once it moves: the check
            # concerns groups that stay at 0, so trained zero groups are drawn away from 0
            stays = tuple(g for g in zero if g not in groups)
            c, w, b = _units(rng, stays)
            K = empirical_kernel(config, c, w, b, inputs, groups)
            same = bool(np.allclose(K[0], K[1], rtol=0, atol=1e-14))
            assert same is not kernel_reads_past(groups, zero), (groups, zero)
    assert kernel_reads_past(("c", "w"), ("b",)) is False
    assert kernel_reads_past(("c", "w", "b"), ("b",)) is True  # b trained: it moves off 0


def test_without_recurrence_the_wrong_target_is_read_one_step_late():
    """b drawn at 0 and frozen, a target with a lag: g is the limit of E[Y_0 | X_0] already, so
    the rival "without its lagged inputs" was the prediction itself (within 1e-16: main theorem
    and frozen network inconclusive forever); the rival is E[Y_0 | X_0] read at X_{-1}, far
    from g."""
    from proofs_check.checks._limit import limit_on_words

    config = load_config(None, ["init.b_max=0", 'network.trainable=["c","w"]',
                                "network.activation=erf"])
    limit = limit_on_words(CheckContext(config, TINY, Cache(None, salt="b0"), seed=0))
    assert "read one step late" in str(limit["wrong_target_name"])
    pi_L = limit["pi_L"]
    m = 3
    last = np.arange(pi_L.size) % m
    previous = (np.arange(pi_L.size) // m) % m
    # the rival target depends on the previous symbol only, through E[Y_0 | X_0 = that symbol]
    means = np.bincount(last, pi_L * limit["ybar"], m) / np.bincount(last, pi_L, m)
    assert np.allclose(limit["ybar_wrong"], means[previous], rtol=0, atol=1e-14)
    default = limit_on_words(CheckContext(load_config(None), TINY, Cache(None, salt="b0"), 0))
    assert "without its lagged inputs" in str(default["wrong_target_name"])


def test_a_constant_target_tests_the_variance_on_a_function_that_varies():
    """Target y = 1: ybar is 1 on every word, so its sigma^2 and both rival variances are 0
    (1e-63 and 1e-32, rounding). The relative gaps of rounding errors passed the 10%
    separation, and poisson_variance was tested on that constant: prediction 3e-62, rivals
    "would need longer batches". A constant function is now never chosen."""
    from derivations.inputs.files import load_layers
    from proofs_check.checks import poisson_fluctuations
    from proofs_check.checks._poisson_functions import (
        SEPARATION,
        constant_on_words,
        rival_variances,
        variance_function,
    )
    from proofs_check.checks.poisson_fluctuations import _problem

    config = load_layers(None, ["target.expression=1"]).config
    context = CheckContext(config, TINY, Cache(None, salt="constant-target"), seed=0)
    _, Q, pi_L, F, _ = _problem(context)
    name, values, solution, control, rival = variance_function(Q, pi_L, F, context)
    assert not name.startswith("ybar") and not constant_on_words(values)
    sigma2 = solution.asymptotic_variance
    # sigma^2 of a non-constant F on an ergodic chain is O(1) here, not rounding
    assert sigma2 > 1e-6
    assert all(abs(v - sigma2) >= SEPARATION * sigma2
               for v in rival_variances(solution, control, rival, pi_L).values())
    result = {r.name: r for r in poisson_fluctuations.run(context)}["poisson_variance"]
    assert result.prediction == sigma2 and result.details["function"] == name


@pytest.mark.parametrize("values, constant", [
    (np.ones(9), True), (np.zeros(9), True), (np.full(9, -3.5), True),
    (np.array([1.0, 1.0 + 4e-16, 1.0]), True),  # two ulps apart: rounding
    (np.array([1.0, 1.0 + 1e-9, 1.0]), False), (np.array([0.0, 1e-300]), False),
    (np.eye(1, 27, 5).ravel(), False)])
def test_constant_on_words_means_equal_to_rounding(values, constant):
    from proofs_check.checks._poisson_functions import constant_on_words

    assert constant_on_words(values) is constant


def test_a_rival_limit_equal_to_g_asks_for_another_configuration_not_a_better_limit():
    """Target y = 0: g, the lagged target's limit and the kernel-term rivals are all 0, so the
    distance g - h is exactly 0; the rival said it "would need a more accurate limit"."""
    from proofs_check.rivals import limit_rival

    errors = np.random.default_rng(0).uniform(0.01, 0.02, 64)
    rival = limit_rival("h", errors, errors, distance=0.0, delta=1e-300)
    assert not rival.rejected and "distance 0" in rival.reason
    assert "another configuration" in rival.needs and "more accurate limit (" not in rival.needs
    near = limit_rival("h", errors, errors, distance=1e-5, delta=1e-5)
    assert not near.rejected and near.needs.startswith("a more accurate limit")


def test_a_zero_target_tests_the_pathwise_identity_on_a_function_that_varies():
    """Target y = 0: ybar = g_t = 0, so the proof's F is 0 on every word, both sides of the
    pathwise identity vanish and the wrong-law rival's discrepancy was 0 too: poisson_pathwise
    was inconclusive (found on an unseen configuration). The identity holds for every F, so
    it is now tested on the indicator of the most probable word (ybar is constant too): the
    prediction accepted and the wrong-law rival rejected by the same rounding bound."""
    from derivations.inputs.files import load_layers
    from proofs_check.checks import poisson_fluctuations
    from proofs_check.checks._poisson_functions import constant_on_words
    from proofs_check.checks.poisson_fluctuations import _problem

    config = load_layers(None, ["target.expression=0"]).config
    context = CheckContext(config, TINY, Cache(None, salt="zero-target"), seed=0)
    _, _, _, F, _ = _problem(context)
    assert constant_on_words(F)
    result = {r.name: r for r in poisson_fluctuations.run(context)}["poisson_pathwise"]
    assert result.details["function"] == "the indicator of the most probable word"
    assert "constant on the words" in result.details["note"]
    assert result.accepted and result.verdict == "pass", result
    (rival,) = result.rivals
    assert rival.rejected and rival.measured > 1e3 * result.tolerance


def test_the_pathwise_identity_keeps_the_proofs_function_where_it_varies():
    """The default configuration: the proof's own F, no note."""
    from proofs_check.checks import poisson_fluctuations

    context = CheckContext(load_config(None), TINY, Cache(None, salt="b0"), seed=0)
    result = {r.name: r for r in poisson_fluctuations.run(context)}["poisson_pathwise"]
    assert result.details["function"].startswith("the proof's F")
    assert "note" not in result.details


def test_a_zero_target_has_a_limit_error_of_exactly_zero():
    """Target y = 0: ybar = 0, so g_t = 0 exactly at every length and every error term of the
    limit is 0. The rounding term scales with max|ybar| (it bounds the rounding of the products
    by ybar) and read 4.4e-315 (a 1e-300 floor on max|ybar|): delta is now 0, and a target
    twice as large has exactly twice the rounding term (the same kernel, ybar times 2, a power
    of two, so every product is scaled exactly)."""
    from derivations.inputs.files import load_layers
    from numerics.limit import total_error
    from numerics.quadrature import QuadratureSettings

    fast = QuadratureSettings(w_step=0.1, b_nodes=12)

    def estimates(expression: str) -> dict:
        config = load_layers(None, [f"target.expression={expression}"]).config
        return solve_limit(config, 3, (1.0,), settings=fast).error_estimates

    zero = estimates("0")
    assert zero["rounding"] == 0.0 and total_error(zero) == 0.0
    once, twice = estimates('"x0_1"'), estimates('"2*x0_1"')
    assert once["rounding"] > 0.0 and twice["rounding"] == 2.0 * once["rounding"]
