"""The derived orders behind the drift-max and lazy-training claims (derivations.scaling):
the Gaussian maximum's growth, and the c -> -c parity that cancels the first-order term of the
tangent kernel's motion (so the sharp lazy-training order is 2 beta - 2, not beta - 1)."""

from __future__ import annotations

import sympy as sp

from derivations import scaling
from proofs_check.checks.parameter_drift import expected_halfnormal_max


def test_gaussian_maximum_growth_is_sqrt_2_log_n_and_matches_the_exact_mean():
    growth = scaling.gaussian_maximum_growth()
    assert sp.simplify(growth - sp.sqrt(2 * sp.log(scaling.N))) == 0
    # leading order only: the exact E max |Z_i| approaches it slowly from below
    ratios = [expected_halfnormal_max(n) / float(growth.subs(scaling.N, n))
              for n in (10**2, 10**4, 10**8)]
    assert ratios[0] < ratios[1] < ratios[2] < 1.0 and ratios[2] > 0.93


def test_max_drift_scale():
    beta, n = scaling.BETA, scaling.N
    assert sp.simplify(scaling.max_drift_scale(False) - n ** (beta - 1)) == 0
    assert sp.simplify(scaling.max_drift_scale(True)
                       - n ** (beta - 1) * sp.sqrt(2 * sp.log(n))) == 0
    # its local log-log slope is beta - 1 + 1/(2 log N): the log factor must be divided out
    slope = scaling.n_exponent(scaling.max_drift_scale(True))
    assert sp.simplify(slope - (beta - 1 + 1 / (2 * sp.log(n)))) == 0


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
    # (mirrored units)
    assert scaling.lazy_training_orders(False)["fastest"].subs(beta, sp.Rational(3, 4)) == \
        sp.Rational(-3, 4)
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
