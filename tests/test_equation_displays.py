"""`rnnkl equations` shows what the derivations produced: each displayed equation, read back
through its display symbols, must be the formula theory.md states (§2 SGD update, §3 fixed
points, kernel and limit ODE, the one-step increment, §4 closed forms, §6 rates and bounds).

The expected forms below are typed from theory.md itself, the specification, never from
derivations.equations: a display that drops a term, swaps two tangents or mis-scales the
increment prints a wrong equation while the derivation behind it stays right, so the
existence and format tests of tests/test_equations.py cannot see it. (The Poisson displays are
the objects derivations.poisson_exact builds; tests/test_poisson_exact.py evaluates those on
exact chains.)
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy as sp
from sympy.core.function import AppliedUndef

from derivations import equations as eqs
from derivations.limit import ExpectationData, ExpectationTheta
from derivations.model import SIGMA_D1


def _symbols(expr: sp.Basic) -> dict[str, sp.Symbol]:
    """The free symbols of a displayed equation by their printed name (the display's own
    symbols, assumptions included)."""
    return {str(s): s for s in expr.free_symbols if isinstance(s, sp.Symbol)}


def _functions(expr: sp.Basic) -> dict[str, type]:
    """The undefined functions applied in a displayed equation, by name (S, G^w, sigma, ...)."""
    return {f.func.__name__: f.func for f in expr.atoms(AppliedUndef)}


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


def test_fixed_points_are_the_recursions_of_section_3() -> None:
    """theory.md §3: S(x) = sigma(w.x_0 + b S(x_{-1:})), G^w = sigma'(z_0)(x_0 + b G^w(x_{-1:})),
    G^b = sigma'(z_0)(S(x_{-1:}) + b G^b(x_{-1:}))."""
    memory = eqs.equation("memory_fixed_point").equation
    tangent_w = eqs.equation("tangent_w").equation
    tangent_b = eqs.equation("tangent_b").equation
    names = _symbols(memory)
    w, b, x, x0, past = (names[k] for k in ("w", "b", "x", "x_0", "x_{-1:}"))
    fns = {**_functions(memory), **_functions(tangent_w), **_functions(tangent_b)}
    S, Gw, Gb, sigma = fns["S"], fns["G^w"], fns["G^b"], fns["sigma"]
    z0 = w * x0 + b * S(past)
    assert memory.lhs == S(x) and _same(memory.rhs, sigma(z0))
    assert tangent_w.lhs == Gw(x) and _same(tangent_w.rhs, SIGMA_D1(z0) * (x0 + b * Gw(past)))
    assert tangent_b.lhs == Gb(x)
    assert _same(tangent_b.rhs, SIGMA_D1(z0) * (S(past) + b * Gb(past)))


def test_sgd_update_is_section_2() -> None:
    """theory.md §2: c += eta N^-beta (Y - f) S, w += eta N^-beta (Y - f) c G^w,
    b += eta N^-beta (Y - f) c G^b (each group its own tangent)."""
    update = eqs.equation("sgd_update").equation
    s = _symbols(update)
    step = s["eta_N"] * s["N"] ** (-s["beta"]) * (s["Y_k"] - s["f_k"])
    expected = [
        s["c_k"] + step * s["S_k"],
        s["w_k"] + step * s["c_k"] * s["G^w_k"],
        s["b_k"] + step * s["c_k"] * s["G^b_k"],
    ]
    assert list(update.lhs) == [s["c_{k+1}"], s["w_{k+1}"], s["b_{k+1}"]]
    for shown, spec in zip(update.rhs, expected, strict=True):
        assert _same(shown, spec), (shown, spec)


def test_learning_rate_is_section_2() -> None:
    """theory.md §2: eta_N = alpha N^{2 beta - 2}, gamma = 2 beta - 2."""
    gamma, rate = eqs.equation("learning_rate_exponent").equation
    s = _symbols(rate)
    assert _same(gamma.rhs, 2 * s["beta"] - 2) and str(gamma.lhs) == "gamma"
    assert rate.lhs == s["eta_N"] and _same(rate.rhs, s["alpha"] * s["N"] ** (2 * s["beta"] - 2))


def test_output_increment_and_kernel_integrand_are_section_3() -> None:
    """theory.md §3 (one step of §2's SGD on x, to first order in eta): the output on x' moves
    by eta N^{-2 beta} (Y - f) sum_{i=1}^N [S_i S'_i + c_i^2 (G^w_i G^w'_i + G^b_i G^b'_i)]."""
    increment = eqs.equation("output_increment").equation
    integrand = eqs.equation("kernel_integrand").equation
    (total,) = increment.rhs.atoms(sp.Sum)
    s = _symbols(increment)
    (i, low, high) = total.limits[0]
    assert len(total.limits) == 1 and low == 1 and high == s["N"]

    def base(name: str) -> sp.Indexed:
        return sp.IndexedBase(name)[i]

    spec = base("S") * base("S'") + base("c") ** 2 * (
        base("G^w") * base("G^w'") + base("G^b") * base("G^b'"))
    prefactor = s["eta"] * s["N"] ** (-2 * s["beta"]) * (s["Y"] - s["f"])
    assert _same(total.function, spec)
    assert _same(increment.rhs / total, prefactor)
    assert _same(integrand.rhs, spec)


def test_kernel_and_limit_ode_are_section_3() -> None:
    """theory.md §3: A(x, x') = E_theta[S S' + c^2 (G^w . G^w' + G^b G^b')] and
    d/dt g_t(x) = alpha E_data[(y' - g_t(x')) A(x, x')]."""
    kernel = eqs.equation("kernel").equation
    fns = _functions(kernel)
    s = _symbols(kernel)
    x, xp, c = s["x"], s["x'"], s["c"]
    expectation = kernel.rhs
    assert isinstance(expectation, ExpectationTheta) and kernel.lhs == fns["A"](x, xp)
    S, Gw, Gb = fns["S"], fns["G^w"], fns["G^b"]
    spec = S(x) * S(xp) + c**2 * (Gw(x) * Gw(xp) + Gb(x) * Gb(xp))
    assert _same(expectation.args[0], spec)
    ode = eqs.equation("limit_ode").equation
    s = _symbols(ode)
    fns = _functions(ode)
    t, x, xp, y = s["t"], s["x"], s["x'"], s["y'"]
    g, A = fns["g"], fns["A"]
    assert ode.lhs == sp.Derivative(g(t, x), t)
    (data,) = ode.rhs.atoms(ExpectationData)
    assert _same(ode.rhs, s["alpha"] * data)
    assert _same(data.args[0], (y - g(t, xp)) * A(x, xp))


@pytest.mark.parametrize("beta", [Fraction(1, 2), Fraction(3, 5), Fraction(3, 4), Fraction(9, 10)])
def test_predicted_rates_are_section_6(beta: Fraction) -> None:
    """theory.md §6: r = min(beta - 1/2, 1 - beta, 1/2), and min(1 - beta, 1/2) when f_0 = 0."""
    b = sp.Rational(beta.numerator, beta.denominator)
    for name, spec in (("predicted_rate", min(b - sp.Rational(1, 2), 1 - b, sp.Rational(1, 2))),
                       ("predicted_rate_antisymmetric", min(1 - b, sp.Rational(1, 2)))):
        rate = eqs.equation(name).equation
        assert rate.rhs.subs(_symbols(rate)["beta"], b) == spec, name


def test_bounds_are_the_geometric_series_of_section_3() -> None:
    """|G^w| <= Lip (X + bbar |G^w|) and |G^b| <= Lip (M + bbar |G^b|) along the recursion
    give L X / (1 - rho) and L M / (1 - rho); |S_k - S*_k| <= rho^{k+1} |S*_{-1}| <= M rho^{k+1}."""
    bounds = eqs.equation("derivative_bounds").equation
    s = _symbols(bounds)
    L, X, M, rho = s["L"], s["X"], s["M"], s["rho"]
    assert _same(bounds[0].rhs, L * X / (1 - rho))
    assert _same(bounds[1].rhs, L * M / (1 - rho))
    memory = eqs.equation("memory_error_bound").equation
    s = _symbols(memory)
    assert _same(memory.rhs, s["M"] * s["rho"] ** (s["k"] + 1))


def _uniform_moment(n: int, b_max: Fraction) -> Fraction:
    """theory.md §4: E[b^n] = bbar^n / (n + 1) for even n, 0 for odd n."""
    return b_max**n / (n + 1) if n % 2 == 0 else Fraction(0)


@pytest.mark.parametrize("j, l", [(0, 0), (0, 2), (1, 1), (2, 0), (1, 3), (2, 2), (3, 4)])
def test_linear_closed_form_coefficient_is_section_4(j: int, l: int) -> None:
    """theory.md §4, linear sigma: S = sum_j b^j w.x_{-j}, G^w = sum_j b^j x_{-j},
    G^b = sum_{j>=1} j b^{j-1} w.x_{-j}, so the coefficient of x_{-j} . x'_{-l} in A is
    E[b^{j+l}] (s_w^2 + s_c^2) + j l s_c^2 s_w^2 E[b^{j+l-2}] (the last for j, l >= 1)."""
    closed = eqs.equation("kernel_linear_closed_form").equation
    (total,) = closed.rhs.atoms(sp.Sum)
    s = _symbols(closed)
    lag_j, lag_l = (limit[0] for limit in total.limits)
    assert [limit[1:] for limit in total.limits] == [(0, s["L"] - 1)] * 2
    b_max, s_w2, s_c2 = Fraction(3, 5), Fraction(7, 4), Fraction(2, 3)
    summand = total.function.subs({lag_j: j, lag_l: l, s["bbar"]: sp.Rational(3, 5),
                                   s["s_w2"]: sp.Rational(7, 4), s["s_c2"]: sp.Rational(2, 3)})
    coefficient = sp.piecewise_fold(summand).replace(
        lambda e: isinstance(e, sp.Indexed), lambda e: sp.Integer(1))
    spec = _uniform_moment(j + l, b_max) * (s_w2 + s_c2)
    if j >= 1 and l >= 1:
        spec += j * l * s_c2 * s_w2 * _uniform_moment(j + l - 2, b_max)
    assert sp.nsimplify(coefficient) == sp.Rational(spec.numerator, spec.denominator)


@pytest.mark.parametrize("xx, pp, xp", [(1.0, 1.0, 0.3), (0.25, 2.0, -0.6), (3.0, 0.5, 1.2)])
def test_erf_closed_form_is_section_4(xx: float, pp: float, xp: float) -> None:
    """theory.md §4, erf with b = 0 and c, w trained: A = E[erf(w.x) erf(w.x')]
    + s_c^2 (x.x') E[erf'(w.x) erf'(w.x')], with the two expectations as theory.md states them."""
    closed = eqs.equation("kernel_erf_no_recurrence").equation
    s = _symbols(closed)
    s_w2, s_c2 = 0.8, 1.7
    shown = float(closed.rhs.subs({s[r"\|x\|^2"]: xx, s[r"\|x'\|^2"]: pp,
                                   s[r"\left(x \cdot x'\right)"]: xp, s["s_w2"]: s_w2,
                                   s["s_c2"]: s_c2}))
    nngp = 2 / math.pi * math.asin(
        2 * s_w2 * xp / math.sqrt((1 + 2 * s_w2 * xx) * (1 + 2 * s_w2 * pp)))
    ntk = 4 / math.pi * (
        1 + 2 * s_w2 * (xx + pp) + 4 * s_w2**2 * (xx * pp - xp**2)) ** -0.5
    # both sides are a few double operations on O(1) numbers: agreement to 1e-14 relative
    assert shown == pytest.approx(nngp + s_c2 * xp * ntk, rel=1e-14)
