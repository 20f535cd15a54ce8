"""Model, tangent recursions, SGD update, NTK increment and scaling (theory.md §2, §3, §6)."""

from __future__ import annotations

import pytest
import sympy as sp

from derivations.activations import ACTIVATION_NAMES, activation_derivative
from derivations.model import (
    SIGMA_D1,
    SIGMA_D2,
    normalize_derivatives,
    substitute_activation,
    unit_symbols,
    unrolled_memory,
    vector_symbols,
)
from derivations.scaling import (
    BETA,
    derive_kernel_integrand,
    derive_output_increment,
    derive_sgd_update,
    kernel_symbols,
    learning_rate_exponent,
    overall_rate,
    predicted_rates,
)
from derivations.tangents import derive_tangent_step, unrolled_tangents


@pytest.mark.parametrize("d", [1, 2])
def test_tangent_recursion_equals_derivative_of_unrolled_memory(d: int) -> None:
    """G^w_k, G^b_k from the derived recursion == diff of the nested S_k, k = 0..3 (sigma
    undefined), exactly: the difference expands to 0."""
    unit = unit_symbols(d)
    inputs = [vector_symbols(f"x{k}", d) for k in range(4)]
    memory = unrolled_memory(unit, inputs)
    tangents = unrolled_tangents(unit, inputs)
    for k in range(4):
        s, gw, gb = tangents[k]
        assert sp.expand(s - memory[k]) == 0
        for a in range(d):
            direct = normalize_derivatives(sp.diff(memory[k], unit.w[a]))
            assert sp.simplify(direct - gw[a]) == 0
        assert sp.simplify(normalize_derivatives(sp.diff(memory[k], unit.b)) - gb) == 0
    # negative control: the recursion without the b G_{k-1} term misses the memory's derivative
    step = derive_tangent_step(unit)
    truncated = step.gw[0].subs(step.gw_prev[0], 0)
    assert truncated != step.gw[0]


def test_tangent_step_has_the_model_form() -> None:
    unit = unit_symbols(2)
    step = derive_tangent_step(unit)
    z = unit.w[0] * step.x[0] + unit.w[1] * step.x[1] + unit.b * step.s_prev
    for a in range(2):
        assert sp.expand(step.gw[a] - SIGMA_D1(z) * (step.x[a] + unit.b * step.gw_prev[a])) == 0
    assert sp.expand(step.gb - SIGMA_D1(z) * (step.s_prev + unit.b * step.gb_prev)) == 0


def test_concrete_activation_substitution() -> None:
    z = sp.Symbol("z", real=True)
    assert sp.simplify(activation_derivative("tanh", 1, z) - (1 - sp.tanh(z) ** 2)) == 0
    sig = 1 / (1 + sp.exp(-z))
    assert sp.simplify(activation_derivative("sigmoid", 1, z) - sig * (1 - sig)) == 0
    assert activation_derivative("linear", 1, z) == 1
    unit = unit_symbols(1)
    inputs = [vector_symbols(f"x{k}", 1) for k in range(3)]
    gw = unrolled_tangents(unit, inputs)[2][1][0]
    linear = substitute_activation(gw, "linear")
    x = [v[0] for v in inputs]
    assert sp.expand(linear - (x[2] + unit.b * x[1] + unit.b**2 * x[0])) == 0


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_second_derivatives_substitute_to_the_concrete_activation(name: str) -> None:
    """Curvature terms (sigma'' appears once a tangent is differentiated again, e.g. d^2 S/dw^2)
    go through normalize_derivatives -> sigma'' -> substitute_activation; the result must equal
    d^2/dw^2 of the nested memory written with the concrete activation from the start
    (S_1 = sigma(w x_1 + b sigma(w x_0)), checked at a rational point to 1e-25 at 30 digits)."""
    unit = unit_symbols(1)
    inputs = [vector_symbols(f"x{k}", 1) for k in range(2)]
    w = unit.w[0]
    generic = normalize_derivatives(sp.diff(unrolled_memory(unit, inputs)[1], w, 2))
    assert generic.has(SIGMA_D2)
    concrete = sp.Lambda(sp.Symbol("z"), activation_derivative(name, 0, sp.Symbol("z")))
    direct = sp.diff(unrolled_memory(unit, inputs, concrete)[1], w, 2)
    point = {w: sp.Rational(7, 10), unit.b: sp.Rational(-2, 5),
             inputs[0][0]: sp.Rational(-1, 1), inputs[1][0]: sp.Rational(1, 2)}
    gap = (substitute_activation(generic, name) - direct).xreplace(point)
    assert abs(sp.N(gap, 30)) < 1e-25


def test_sgd_update_matches_model_form() -> None:
    update = derive_sgd_update(2)
    assert set(update.new) == set(update.unit.parameters)
    for p, value in update.new.items():
        assert sp.expand(value - update.model_form[p]) == 0
    # negative control: swapping the w- and b-updates breaks the identity
    w1, b = update.unit.w[0], update.unit.b
    assert sp.expand(update.new[w1] - w1 - (update.model_form[b] - b)) != 0


def test_kernel_integrand_is_ntk_form() -> None:
    ks = kernel_symbols(2)
    expected = ks.s * ks.s_other + ks.c**2 * (
        ks.gw[0] * ks.gw_other[0] + ks.gw[1] * ks.gw_other[1] + ks.gb * ks.gb_other
    )
    assert sp.expand(derive_kernel_integrand(2) - expected) == 0
    assert sp.expand(derive_kernel_integrand(2, ("c",)) - ks.s * ks.s_other) == 0
    assert sp.expand(derive_kernel_integrand(2, ("b",)) - ks.c**2 * ks.gb * ks.gb_other) == 0


@pytest.mark.parametrize(("n_units", "d", "groups"), [(2, 2, ("c", "w", "b")), (2, 1, ("w",))])
def test_output_increment_is_kernel_form(n_units: int, d: int, groups: tuple[str, ...]) -> None:
    result = derive_output_increment(n_units, d, groups)
    assert sp.expand(result.increment - result.kernel_form) == 0
    # negative control: dropping unit 2's c^2 factor changes the expression
    c2 = result.units[1].c
    wrong = result.kernel_form.subs(c2**2, c2)
    assert sp.expand(result.increment - wrong) != 0


def test_learning_rate_exponent_and_rates() -> None:
    assert sp.simplify(learning_rate_exponent() - (2 * BETA - 2)) == 0
    rates = predicted_rates()
    # hand-computed values of min(beta - 1/2, 1 - beta, 1/2) and min(1 - beta, 1/2)
    table = {
        "1/2": ("0", "1/2"),
        "2/3": ("1/6", "1/3"),
        "3/4": ("1/4", "1/4"),
        "9/10": ("1/10", "1/10"),
        "3/5": ("1/10", "2/5"),
    }
    for beta, (plain, anti) in table.items():
        assert overall_rate(sp.Rational(beta)) == sp.Rational(plain)
        assert overall_rate(sp.Rational(beta), zero_output=True) == sp.Rational(anti)
    half = sp.Rational(1, 2)
    assert rates["output_at_init"].subs(BETA, sp.Rational(3, 4)) == sp.Rational(1, 4)
    assert rates["parameter_drift"].subs(BETA, sp.Rational(3, 4)) == sp.Rational(1, 4)
    assert rates["kernel_at_init"] == half
    assert "output_at_init" not in predicted_rates(zero_output=True)
