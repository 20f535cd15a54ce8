"""Target expressions y(X_{k-q}, ..., X_k) (theory.md §1): what an expression is.

The parse tree (frozen dataclasses), the whitelisted one-argument functions with their SymPy and
NumPy meanings (:data:`FUNCTIONS`), and the limits on size and nesting. Text becomes a tree only
through :func:`derivations.inputs.expression_parser.parse_expression` (no ``eval``, ``sympify``
or ``parse_expr``); :mod:`derivations.inputs.expression_eval` turns a tree into SymPy (exact)
or evaluates it on arrays; :mod:`derivations.inputs.exact_evaluation` evaluates it exactly with
bounded sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

import numpy as np
import sympy
from scipy.special import erf as _np_erf
from scipy.special import expit as _np_expit

from derivations.errors import InputError

MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 100  # nesting of parentheses, calls, unary signs and powers

# The whitelisted functions: name -> (SymPy function, NumPy function). sigmoid(z) = 1/(1+exp(-z)).
_FUNCTION_TABLE: dict[str, tuple[Callable[[sympy.Expr], sympy.Expr], Callable]] = {
    "sin": (sympy.sin, np.sin),
    "cos": (sympy.cos, np.cos),
    "tan": (sympy.tan, np.tan),
    "exp": (sympy.exp, np.exp),
    "log": (sympy.log, np.log),
    "sqrt": (sympy.sqrt, np.sqrt),
    "tanh": (sympy.tanh, np.tanh),
    "abs": (sympy.Abs, np.abs),
    "erf": (sympy.erf, _np_erf),
    "sigmoid": (lambda z: 1 / (1 + sympy.exp(-z)), _np_expit),
}
FUNCTIONS: tuple[str, ...] = tuple(_FUNCTION_TABLE)


def sympy_function(name: str) -> Callable[[sympy.Expr], sympy.Expr]:
    """The SymPy function of a grammar function name (one of FUNCTIONS)."""
    return _FUNCTION_TABLE[name][0]


def numpy_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The NumPy (ufunc) function of a grammar function name (one of FUNCTIONS)."""
    return _FUNCTION_TABLE[name][1]


class ExpressionError(InputError):
    """Bad target expression. ``str(err)`` is one line naming the problem and its column."""


class LagError(ExpressionError):
    """A variable's lag exceeds the maximum the caller allows (a window too short for it)."""


# ----------------------------------------------------------------------------- parse tree


@dataclass(frozen=True)
class Number:
    """A decimal literal; ``value`` is its exact rational value, ``text`` the literal as typed."""

    text: str
    value: Fraction


@dataclass(frozen=True)
class Variable:
    """Component ``component`` (1-based) of X_{k-lag}."""

    lag: int
    component: int


@dataclass(frozen=True)
class Negate:
    """Unary minus: -operand."""

    operand: Node


@dataclass(frozen=True)
class Sum:
    """terms[0] ± terms[1] ± ...; ``negated[i]`` says whether term i is subtracted."""

    terms: tuple[Node, ...]
    negated: tuple[bool, ...]


@dataclass(frozen=True)
class Product:
    """factors[0] */÷ factors[1] ...; ``inverted[i]`` says whether factor i divides."""

    factors: tuple[Node, ...]
    inverted: tuple[bool, ...]


@dataclass(frozen=True)
class Power:
    """base ** exponent."""

    base: Node
    exponent: Node


@dataclass(frozen=True)
class Call:
    """function(argument), ``function`` one of :data:`FUNCTIONS`."""

    function: str
    argument: Node


Node = Union[Number, Variable, Negate, Sum, Product, Power, Call]  # noqa: UP007


@dataclass(frozen=True)
class Expression:
    """A parsed target expression.

    ``dimension`` is d (components per input), ``max_lag`` the largest lag j used by a variable
    (0 if none), ``tree`` the root :data:`Node`.
    """

    text: str
    dimension: int
    max_lag: int
    tree: Node
