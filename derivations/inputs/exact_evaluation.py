"""Exact (SymPy) evaluation of a user expression with bounded work (``rnnkl poisson --exact``).

An exact result can be astronomically large although the expression is short: x0**1e300 at
x0 = 3/10 is a fraction of 10^300 digits, and SymPy (or GMP inside it) would spend forever
building it, in one C call that no alarm interrupts. So the tree is evaluated bottom-up at
the given numbers, and every node is checked *before* the next operation is built:

* a power base**exponent with numeric base and exponent is refused when its exact size,
  estimated as |exponent| x (bits of the rational numbers in the base), exceeds
  MAX_POWER_BITS; this covers bases that become numbers only after substitution (x0**99999999)
  and irrational bases (sqrt(2)**999999999 = 2**499999999.5);
* every value must have magnitude at most 10^MAX_LOG10_MAGNITUDE (and be 0 or at least its
  reciprocal):
  beyond that the double-precision outputs of the command would overflow, and exp(1e300) or
  exp(-1e300) would carry unbounded exact work into the Poisson solve.

What still runs away (a step no estimate foresaw) is ended by the wall-clock guard of
derivations.errors.call_with_time_limit around the whole exact path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sympy

from derivations.errors import InputError
from derivations.inputs import expression as ex

MAX_POWER_BITS = 20_000  # exact powers up to ~6000 decimal digits
MAX_LOG10_MAGNITUDE = 300.0  # |value| in [1e-300, 1e300] (or 0): within double precision


class ExactSizeError(InputError):
    """An exact value that would be too large to build or to carry through the solve."""


def _bits(value: sympy.Expr) -> int:
    """Bits of the rational numbers in ``value`` (at least 2): the size factor of a power."""
    total = sum(max(abs(int(r.p)), abs(int(r.q)), 2).bit_length()
                for r in value.atoms(sympy.Rational))
    return max(total, 2)


def _magnitude(value: sympy.Expr) -> float | None:
    """log10 |value| from a 15-digit evaluation (mpmath has no overflow), or None when the
    value is not a real number SymPy can evaluate (then the caller's finiteness check acts)."""
    try:
        approx = sympy.N(value, 15)
    except (TypeError, ValueError, ArithmeticError):
        return None
    if not (approx.is_real and approx.is_number and approx.is_finite):
        return None
    if approx == 0:
        return -math.inf
    return float(sympy.log(abs(approx), 10))


def _power_of_ten(log10_size: float) -> str:
    """'1e300' or '10^4.34e+299': short for any size."""
    return f"1e{log10_size:.0f}" if abs(log10_size) < 1e6 else f"10^{log10_size:.3g}"


def bounded_power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """base ** exponent, refused (ExactSizeError) when both are numbers and the exact result
    would exceed MAX_POWER_BITS (module docstring); symbolic powers pass unchanged."""
    if base.is_number and exponent.is_number and base not in (sympy.S.Zero, sympy.S.One,
                                                             sympy.S.NegativeOne):
        size = _magnitude(exponent)
        too_big = size is not None and size > 0 and (
            10.0 ** min(size, MAX_LOG10_MAGNITUDE) * _bits(base) > MAX_POWER_BITS)
        if too_big:
            raise ExactSizeError(
                f"a power with exponent of size {_power_of_ten(size)} is too large to evaluate "
                f"exactly (more than {MAX_POWER_BITS} bits); drop --exact for double precision")
    return sympy.Pow(base, exponent)


def bounded(value: sympy.Expr) -> sympy.Expr:
    """``value``, refused when its magnitude is beyond 10^MAX_LOG10_MAGNITUDE or nonzero below
    its reciprocal (module docstring)."""
    size = _magnitude(value)
    if size is not None and math.isfinite(size) and abs(size) > MAX_LOG10_MAGNITUDE:
        raise ExactSizeError(
            f"an intermediate value of size {_power_of_ten(size)} is beyond double precision "
            "(|value| must lie in [1e-300, 1e300] or be 0); drop --exact or rescale")
    return value


def exact_value(expr: Any, numbers: Mapping[tuple[int, int], sympy.Rational]) -> sympy.Expr:
    """The exact value of the parsed expression ``expr`` (derivations.inputs.expression.Expression)
    at ``numbers[(lag, component)]`` (exact rationals for x{lag}_{component}), evaluated
    bottom-up with every node bounded (module docstring). Raises ExactSizeError."""
    def node_value(node: Any) -> sympy.Expr:
        if isinstance(node, ex.Number):
            return sympy.Rational(node.value.numerator, node.value.denominator)
        if isinstance(node, ex.Variable):
            return numbers[(node.lag, node.component)]
        if isinstance(node, ex.Negate):
            return -node_value(node.operand)
        if isinstance(node, ex.Sum):
            terms = [node_value(t) for t in node.terms]
            return bounded(sympy.Add(*[-t if neg else t
                                       for t, neg in zip(terms, node.negated, strict=True)]))
        if isinstance(node, ex.Product):
            factors = [node_value(f) for f in node.factors]
            return bounded(sympy.Mul(*[sympy.Pow(f, -1) if inv else f
                                       for f, inv in zip(factors, node.inverted, strict=True)]))
        if isinstance(node, ex.Power):
            return bounded(bounded_power(node_value(node.base), node_value(node.exponent)))
        if isinstance(node, ex.Call):
            return bounded(ex.sympy_function(node.function)(node_value(node.argument)))
        raise TypeError(f"not an expression node: {node!r}")

    return node_value(expr.tree)
