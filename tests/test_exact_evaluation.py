"""derivations.inputs.exact_evaluation: the exact value of a target or Poisson function at
rational inputs (``rnnkl poisson --exact``), equal to SymPy's own substitution where that is
cheap, and refused with the right reason where the exact work or size is unbounded."""

from __future__ import annotations

import pytest
import sympy

from derivations.inputs.exact_evaluation import (
    MAX_LOG10_MAGNITUDE,
    MAX_POWER_BITS,
    ExactSizeError,
    exact_value,
)
from derivations.inputs.expression_eval import to_sympy, variable_symbol
from derivations.inputs.expression_parser import parse_expression

POINT = {(0, 1): sympy.Rational(3, 10), (1, 1): sympy.Rational(-7, 4), (2, 1): sympy.Rational(5)}


def _substituted(text: str) -> sympy.Expr:
    """SymPy's value of the same expression: to_sympy, then the point substituted."""
    expr = parse_expression(text, 1)
    return to_sympy(expr).subs({variable_symbol(lag, c, 1): v for (lag, c), v in POINT.items()})


@pytest.mark.parametrize("text", [
    "-x0", "x0 - -x1", "-x0**2", "x0/x1/x2", "x0/x1*x2", "x0 - x1 + x2", "x1**3 - 2*x0**-2",
    "2**x2 / 3", "(x0 + x1)**2 * (x2 - x0)", "tanh(x0) - sin(-x1)", "sigmoid(x1) * exp(-x0)",
    "sqrt(x2) + abs(x1) - log(x2)", "erf(-x0)", "x2**2**-1 + 0",
])
def test_exact_value_is_the_substituted_expression(text):
    value = exact_value(parse_expression(text, 1), POINT)
    assert sympy.simplify(value - _substituted(text)) == 0, text


@pytest.mark.parametrize(("text", "value"), [
    ("1**1e300", 1), ("0**1e300", 0), ("(-1)**1e300", 1), ("(x0/x0)**99999999999", 1),
])
def test_powers_of_zero_and_one_are_not_refused_for_their_exponent(text, value):
    """0, 1 and -1 raised to a huge exponent are small and cheap: the size guard spares them."""
    assert exact_value(parse_expression(text, 1), POINT) == value


def test_a_tiny_nonzero_value_is_refused_like_a_huge_one():
    """|value| must lie in [1e-300, 1e300] or be 0 (MAX_LOG10_MAGNITUDE = 300)."""
    assert MAX_LOG10_MAGNITUDE == 300.0
    for text in ("x0 * 1e-301", "x0 * 1e301", "-x0 * 1e301"):
        with pytest.raises(ExactSizeError, match="beyond double precision"):
            exact_value(parse_expression(text, 1), POINT)
    assert exact_value(parse_expression("x0 * 1e-299", 1), POINT) == sympy.Rational(3, 10**300)


def test_the_power_guard_counts_the_denominators_bits():
    """(1/3**600)**30 has 30 x 951 bits in its denominator > MAX_POWER_BITS: refused as too
    large to build, before it is built (not after, as a value beyond double precision)."""
    assert (3**600).bit_length() * 30 > MAX_POWER_BITS > (3**600).bit_length() * 20
    with pytest.raises(ExactSizeError, match="too large to evaluate exactly"):
        exact_value(parse_expression("(1/3**600)**30", 1), POINT)
    assert exact_value(parse_expression("(1/3**600)**0.5", 1), POINT) == sympy.Rational(1, 3**300)
