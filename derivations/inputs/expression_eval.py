"""Meanings of a parsed target expression (theory.md §1): exact SymPy (:func:`to_sympy`) and
NumPy on batches of input windows (:func:`evaluate`).
"""

from __future__ import annotations

import numpy as np
import sympy

from derivations.inputs.exact_evaluation import bounded_power
from derivations.inputs.expression import (
    Call,
    Expression,
    Negate,
    Node,
    Number,
    Power,
    Product,
    Sum,
    Variable,
    numpy_function,
    sympy_function,
)


def variable_symbol(lag: int, component: int, dimension: int) -> sympy.Symbol:
    """The real SymPy symbol for component ``component`` (1-based) of X_{k-lag}.

    Named ``x<lag>`` when d == 1 and ``x<lag>_<component>`` when d > 1, as in the config text.
    """
    if dimension == 1:
        return sympy.Symbol(f"x{lag}", real=True)
    return sympy.Symbol(f"x{lag}_{component}", real=True)


def _to_sympy_node(node: Node, dimension: int) -> sympy.Expr:
    if isinstance(node, Number):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, Variable):
        return variable_symbol(node.lag, node.component, dimension)
    if isinstance(node, Negate):
        return -_to_sympy_node(node.operand, dimension)
    if isinstance(node, Sum):
        terms = [_to_sympy_node(t, dimension) for t in node.terms]
        return sympy.Add(*[-t if neg else t for t, neg in zip(terms, node.negated, strict=True)])
    if isinstance(node, Product):
        factors = [_to_sympy_node(f, dimension) for f in node.factors]
        return sympy.Mul(
            *[sympy.Pow(f, -1) if inv else f for f, inv in zip(factors, node.inverted, strict=True)]
        )
    if isinstance(node, Power):
        return bounded_power(
            _to_sympy_node(node.base, dimension), _to_sympy_node(node.exponent, dimension)
        )
    if isinstance(node, Call):
        return sympy_function(node.function)(_to_sympy_node(node.argument, dimension))
    raise TypeError(f"not an expression node: {node!r}")


def to_sympy(expr: Expression) -> sympy.Expr:
    """The SymPy expression of the parse tree: exact Rationals for the decimal literals,
    real symbols from :func:`variable_symbol`, sigmoid(z) = 1/(1+exp(-z)), abs -> Abs."""
    return _to_sympy_node(expr.tree, expr.dimension)


def _evaluate_node(node: Node, window: np.ndarray) -> np.ndarray | float:
    if isinstance(node, Number):
        return float(node.value)
    if isinstance(node, Variable):
        return window[..., node.lag, node.component - 1]
    if isinstance(node, Negate):
        return -_evaluate_node(node.operand, window)
    if isinstance(node, Sum):
        total = _evaluate_node(node.terms[0], window)
        for term, neg in zip(node.terms[1:], node.negated[1:], strict=True):
            value = _evaluate_node(term, window)
            total = total - value if neg else total + value
        return total
    if isinstance(node, Product):
        total = _evaluate_node(node.factors[0], window)
        for factor, inv in zip(node.factors[1:], node.inverted[1:], strict=True):
            value = _evaluate_node(factor, window)
            total = np.true_divide(total, value) if inv else total * value
        return total
    if isinstance(node, Power):
        return np.power(
            np.asarray(_evaluate_node(node.base, window), dtype=float),
            _evaluate_node(node.exponent, window),
        )
    if isinstance(node, Call):
        argument = np.asarray(_evaluate_node(node.argument, window), dtype=float)
        return numpy_function(node.function)(argument)
    raise TypeError(f"not an expression node: {node!r}")


def evaluate(expr: Expression, window: np.ndarray) -> np.ndarray:
    """y(X_{k-q}, ..., X_k) on a batch of input windows (theory.md §1).

    ``window`` has shape (..., q+1, d) with ``window[..., j, :] = X_{k-j}`` and q >= expr.max_lag;
    returns a float array of shape (...). Invalid operations (log of a negative number, 1/0)
    give nan/inf silently, as in IEEE arithmetic; callers check finiteness.
    """
    window = np.asarray(window, dtype=float)
    if window.ndim < 2 or window.shape[-1] != expr.dimension:
        raise ValueError(
            f"window must have shape (..., q+1, {expr.dimension}), got {window.shape}"
        )
    if window.shape[-2] < expr.max_lag + 1:
        raise ValueError(
            f"window holds lags 0..{window.shape[-2] - 1}, expression uses lag {expr.max_lag}"
        )
    with np.errstate(all="ignore"):
        value = _evaluate_node(expr.tree, window)
        return np.array(np.broadcast_to(value, window.shape[:-2]), dtype=float)
