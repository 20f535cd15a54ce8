"""The derived orders behind the drift-max and lazy-training claims (derivations.scaling):
the Gaussian maximum's growth, and the c -> -c parity that cancels the first-order term of the
tangent kernel's motion (so the sharp lazy-training order is 2 beta - 2, not beta - 1)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import max_drift, scaling
from proofs_check.checks.parameter_drift import expected_halfnormal_max, expected_product_max


def test_gaussian_maximum_growth_is_sqrt_2_log_n_and_matches_the_exact_mean():
    growth = max_drift.gaussian_maximum_growth()
    assert sp.simplify(growth - sp.sqrt(2 * sp.log(scaling.N))) == 0
    # leading order only: the exact E max |Z_i| approaches it slowly from below
    ratios = [expected_halfnormal_max(n) / float(growth.subs(scaling.N, n))
              for n in (10**2, 10**4, 10**8)]
    assert ratios[0] < ratios[1] < ratios[2] < 1.0 and ratios[2] > 0.93


def test_max_drift_scale():
    beta, n = scaling.BETA, scaling.N
    assert sp.simplify(max_drift.max_drift_scale("bounded") - n ** (beta - 1)) == 0
    assert sp.simplify(max_drift.max_drift_scale("gaussian")
                       - n ** (beta - 1) * sp.sqrt(2 * sp.log(n))) == 0
    assert sp.simplify(max_drift.max_drift_scale("gaussian_product")
                       - n ** (beta - 1) * sp.log(n)) == 0
    # its local log-log slope is beta - 1 + 1/(2 log N): the log factor must be divided out
    slope = scaling.n_exponent(max_drift.max_drift_scale("gaussian"))
    assert sp.simplify(slope - (beta - 1 + 1 / (2 * sp.log(n)))) == 0


def test_the_product_maximum_grows_like_log_n_and_matches_its_exact_mean():
    """max_i |X_i Y_i| of independent standard Gaussians (the b increment of a linear network):
    the leading order log N, and the quadrature mean against E|X Y| = 2/pi (N = 1, exact) and a
    Monte Carlo mean (N = 1024, 2000 maxima: its 5-sigma interval)."""
    growth = max_drift.gaussian_product_maximum_growth()
    assert sp.simplify(growth - sp.log(scaling.N)) == 0
    assert abs(expected_product_max(1) - 2 / np.pi) <= 1e-10
    maxima = np.abs(np.random.default_rng(7).standard_normal((2000, 1024))
                    * np.random.default_rng(8).standard_normal((2000, 1024))).max(axis=1)
    half_width = 5 * maxima.std(ddof=1) / np.sqrt(maxima.size)
    assert abs(expected_product_max(1024) - maxima.mean()) <= half_width
    # log N from below, slowly (the next order is -(1/2) log log N)
    ratios = [expected_product_max(n) / np.log(n) for n in (10**4, 10**8, 10**16)]
    assert ratios[0] < ratios[1] < ratios[2] < 1.0 and ratios[2] > 0.93


@pytest.mark.parametrize(("activation", "trainable", "c_random", "w_random", "growth"), [
    ("tanh", "cwb", True, True, "gaussian"),         # theory.md §6: c^i times bounded factors
    ("tanh", "c", True, True, "bounded"),            # (Y - f) S with S bounded
    ("tanh", "wb", False, True, "bounded"),          # c = 0: the c^i factor is 0
    ("linear", "cwb", True, True, "gaussian_product"),  # Delta b = c^i (w^i . v)
    ("linear", "b", True, True, "gaussian_product"),
    ("linear", "cw", True, True, "gaussian"),        # G^w bounded; Delta c = (Y - f) S, S ~ w
    ("linear", "c", False, True, "gaussian"),
    ("linear", "b", True, False, "gaussian"),        # w = 0: G^b = 0 at first order; the c^i bound
    ("linear", "b", False, True, "bounded"),
])
def test_the_max_drift_growth_of_each_case(activation, trainable, c_random, w_random, growth):
    assert max_drift.max_drift_growth(activation, tuple(trainable), c_random, w_random) == growth


def test_lazy_training_orders():
    beta = scaling.BETA
    for antisymmetric in (False, True):
        orders = scaling.lazy_training_orders(antisymmetric)
        assert orders["first_order_mean"] == beta - 1
        assert orders["first_order_fluctuation"] == beta - sp.Rational(3, 2)
        assert orders["second_order"] == 2 * beta - 2
        assert orders["third_order"] == 3 * beta - 3
        assert ("first_order_fluctuation" in orders["surviving"]) is not antisymmetric
        for value in (sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(9, 10)):
            assert orders["sharp"].subs(beta, value) == 2 * value - 2  # every beta >= 1/2
            assert scaling.error_exponents()["lazy_training"].subs(beta, value) == value - 1
    # the fastest surviving term: beta - 3/2 or 3 beta - 3 (independent units), 3 beta - 3
    # (mirrored units). The two tie at beta = 3/4; beta - 3/2 is the faster above it, 3 beta - 3
    # below it, so both sides are checked.
    for value, fastest in ((sp.Rational(1, 2), sp.Rational(-3, 2)),
                           (sp.Rational(3, 4), sp.Rational(-3, 4)),
                           (sp.Rational(9, 10), sp.Rational(-3, 5))):
        assert scaling.lazy_training_orders(False)["fastest"].subs(beta, value) == fastest
    assert scaling.lazy_training_orders(True)["fastest"].subs(beta, sp.Rational(1, 2)) == \
        sp.Rational(-3, 2)


def test_first_order_kernel_motion_is_odd_in_c():
    """The facts behind the cancellation, from the derived update and integrand: per unit the
    kernel integrand is even in c, the c increment (divided by the network's residual, common
    to all units) is even and the w, b increments are odd; so grad k . Delta theta is odd in c
    and its mean over the symmetric mu_0 vanishes."""
    update = scaling.derive_sgd_update(1)
    c = update.unit.c
    flip = {c: -c}
    residual = None
    for p, new in update.model_form.items():
        increment = sp.factor(new - p)
        if residual is None:  # the c increment: eta N^-2beta (residual) S
            residual = next(f for f in sp.Mul.make_args(increment) if f.has(scaling.Y))
        per_residual = sp.simplify(increment / residual)
        parity = 1 if p == c else -1
        assert sp.simplify(per_residual.xreplace(flip) - parity * per_residual) == 0, p
    integrand = scaling.derive_kernel_integrand(1)
    ks = scaling.kernel_symbols(1)
    assert sp.expand(integrand.xreplace({ks.c: -ks.c}) - integrand) == 0


def test_the_check_divides_a_linear_networks_max_by_log_n():
    """examples/linear_two_state.toml trains b with a linear activation: the max drift is
    normalised by log N, and its allowance (the slope of log(m_N / log N) over the quick
    ladder) is small because m_N / log N is nearly flat there (0.90 to 0.92 by Monte Carlo);
    with the half-normal m_N in its place it would be the slope of sqrt(2 log N) / log N,
    about 1 / (2 log N) = 0.07."""
    import math
    from pathlib import Path

    from derivations.inputs.files import load_layers
    from proofs_check.checks.parameter_drift import max_factor, normalisation_allowance

    example = Path(__file__).resolve().parents[1] / "examples" / "linear_two_state.toml"
    config = load_layers(str(example), []).config
    assert max_factor(config, 1024) == pytest.approx(math.log(1024), rel=1e-14)
    assert normalisation_allowance(config, (128, 256, 512, 1024)) < 0.01
    default = load_layers(None, []).config  # tanh: sqrt(2 log N)
    assert max_factor(default, 1024) == pytest.approx(math.sqrt(2 * math.log(1024)), rel=1e-14)


def test_the_max_drifts_allowance_is_the_steepest_slope_between_rungs():
    """Allowance (ii) of the max-drift check: the largest |slope| of log(m_N / sqrt(2 log N))
    between consecutive rungs (not their mean): on the ladder (2, 4, 1024) the slopes are
    0.12 and 0.009, and the allowance is the steeper."""
    import math

    from derivations.inputs.files import load_layers
    from proofs_check.checks.parameter_drift import normalisation_allowance

    config = load_layers(None, []).config  # tanh, Gaussian c: m_N of half-normals
    ladder = (2, 4, 1024)
    ratios = [math.log(expected_halfnormal_max(n) / math.sqrt(2 * math.log(n))) for n in ladder]
    slopes = [abs((ratios[i + 1] - ratios[i]) / math.log(ladder[i + 1] / ladder[i]))
              for i in range(2)]
    assert slopes[0] > 10 * slopes[1]
    assert normalisation_allowance(config, ladder) == pytest.approx(max(slopes), rel=1e-12)


@pytest.mark.parametrize("trainable", [("c", "x"), ("w", "B"), ()])
def test_an_unknown_or_empty_trainable_group_is_refused(trainable):
    """The derivations accept only a non-empty subset of (c, w, b): a misspelt group must not be
    dropped silently (that would derive the kernel of fewer groups than the caller named)."""
    from derivations.errors import InputError

    with pytest.raises(InputError, match="non-empty subset"):
        scaling.derive_kernel_integrand(1, trainable)


def test_the_overall_rate_takes_a_float_beta_at_its_exact_binary_value():
    """overall_rate(0.6): 0.6 is not a dyadic rational, so its exact binary value b differs from
    3/5; r = min(b - 1/2, 1 - b, 1/2) must be computed at b, as the checks compute beta."""
    binary = sp.Rational(5404319552844595, 2**53)  # float 0.6, by hand: round(0.6 * 2**53)
    assert float(binary) == 0.6 and binary != sp.Rational(3, 5)
    assert scaling.overall_rate(0.6) == binary - sp.Rational(1, 2)
    assert scaling.overall_rate(0.6, zero_output=True) == 1 - binary
