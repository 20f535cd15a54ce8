"""Whitelisting parser for target expressions y(X_{k-q}, ..., X_k) (theory.md §1).

The user's text is never handed to ``eval``, ``compile``, ``sympify`` or ``parse_expr``. A small
tokenizer and a recursive-descent parser accept exactly:

* decimal literals (``2``, ``0.25``, ``.5``, ``1e-3``), kept exact as :class:`fractions.Fraction`;
* the binary operators ``+ - * / **`` (``**`` binds tightest and is right-associative;
  ``-x**2`` is ``-(x**2)``), unary ``+``/``-`` and parentheses;
* variables ``x<j>`` (d == 1) or ``x<j>_<i>`` (component i = 1..d) meaning component i of
  X_{k-j}; for d == 1 ``x<j>_1`` is accepted too;
* calls ``f(<expr>)`` of the one-argument functions in :data:`FUNCTIONS`.

Anything else raises :class:`ExpressionError` with a one-line message naming the problem and
its column. The result is a tree of frozen dataclasses, turned into SymPy by :func:`to_sympy`
(exact Rationals) or evaluated on arrays by :func:`evaluate` (NumPy/SciPy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

import numpy as np
import sympy
from scipy.special import erf as _np_erf
from scipy.special import expit as _np_expit

from derivations.errors import InputError
from derivations.exact_evaluation import bounded_power

FUNCTIONS: tuple[str, ...] = (
    "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "abs", "erf", "sigmoid",
)
MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 100  # nesting of parentheses, calls, unary signs and powers
_MAX_DECIMAL_EXPONENT = 400  # |e| in a literal "1e<e>" (beyond it floats over/underflow anyway)


class ExpressionError(InputError):
    """Bad target expression. ``str(err)`` is one line naming the problem and its column."""


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


# ----------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # "number" | "name" | "op" | "end"
    text: str
    column: int  # 1-based column of the first character


_DIGITS = "0123456789"
_DIGITS_SET = tuple(_DIGITS)  # single characters; excludes "" (so a slice at the end is no digit)
_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME_CHARS = _NAME_START + _DIGITS
_OPERATORS = ("**", "+", "-", "*", "/", "(", ")", ",")
_WHITESPACE = " \t\r\n"


def _show(text: str, limit: int = 24) -> str:
    """A short one-line rendering of user text for an error message."""
    shown = text if len(text) <= limit else text[:limit] + "..."
    return repr(shown)


def _scan_digits(text: str, position: int) -> int:
    while position < len(text) and text[position] in _DIGITS:
        position += 1
    return position


def _scan_number(text: str, position: int) -> int:
    """End of the decimal literal digits[.digits][(e|E)[+-]digits] starting at ``position``."""
    end = _scan_digits(text, position)
    if end < len(text) and text[end] == ".":
        end = _scan_digits(text, end + 1)
    if end < len(text) and text[end] in "eE":
        sign = end + 1 + (text[end + 1 : end + 2] in ("+", "-"))
        if text[sign : sign + 1] in _DIGITS_SET:
            end = _scan_digits(text, sign)
    return end


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in _WHITESPACE:
            position += 1
            continue
        column = position + 1
        if char in _DIGITS or (char == "." and text[position + 1 : position + 2] in _DIGITS_SET):
            end = _scan_number(text, position)
            tokens.append(_Token("number", text[position:end], column))
            position = end
            continue
        if char in _NAME_START:
            end = position + 1
            while end < len(text) and text[end] in _NAME_CHARS:
                end += 1
            tokens.append(_Token("name", text[position:end], column))
            position = end
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
        if operator is None:
            hint = " (use ** for powers)" if char == "^" else ""
            raise ExpressionError(f"unexpected character {char!r} at column {column}{hint}")
        tokens.append(_Token("op", operator, column))
        position += len(operator)
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# ----------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the grammar

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("+" | "-") unary | power
    power   := primary ("**" unary)?          (right-associative; -x**2 = -(x**2))
    primary := NUMBER | VARIABLE | FUNCTION "(" expr ")" | "(" expr ")"
    """

    def __init__(self, text: str, dimension: int, max_lag: int | None) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.dimension = dimension
        self.max_lag = max_lag
        self.used_lag = 0

    # -- helpers
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def fail_here(self, what: str) -> ExpressionError:
        token = self.peek()
        if token.kind == "end":
            return ExpressionError(f"{what}, found end of input at column {token.column}")
        return ExpressionError(f"{what}, found {_show(token.text)} at column {token.column}")

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"nesting deeper than {MAX_DEPTH} levels at column {token.column}"
            )

    def leave(self) -> None:
        self.depth -= 1

    # -- grammar
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression")
        tree = self.expr()
        token = self.peek()
        if token.kind != "end":
            if token.kind == "op" and token.text == ")":
                raise ExpressionError(f"unmatched ')' at column {token.column}")
            raise ExpressionError(
                f"expected an operator, found {_show(token.text)} at column {token.column}"
            )
        return tree

    def expr(self) -> Node:
        terms = [self.term()]
        negated = [False]
        while self.at_op("+", "-"):
            negated.append(self.advance().text == "-")
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Sum(tuple(terms), tuple(negated))

    def term(self) -> Node:
        factors = [self.unary()]
        inverted = [False]
        while self.at_op("*", "/"):
            inverted.append(self.advance().text == "/")
            factors.append(self.unary())
        return factors[0] if len(factors) == 1 else Product(tuple(factors), tuple(inverted))

    def unary(self) -> Node:
        if self.at_op("+", "-"):
            sign = self.advance()
            self.enter(sign)
            operand = self.unary()
            self.leave()
            return Negate(operand) if sign.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.at_op("**"):
            operator = self.advance()
            self.enter(operator)
            exponent = self.unary()
            self.leave()
            return Power(base, exponent)
        return base

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.advance()
            return _number(token)
        if token.kind == "name":
            self.advance()
            if self.at_op("("):
                return self.call(token)
            return self.variable(token)
        if self.at_op("("):
            self.advance()
            self.enter(token)
            inner = self.expr()
            self.leave()
            self.close_paren(token)
            return inner
        raise self.fail_here("expected a number, variable, function call or '('")

    def close_paren(self, opening: _Token) -> None:
        if self.at_op(")"):
            self.advance()
            return
        if self.at_op(","):
            raise ExpressionError(
                f"functions take exactly one argument: unexpected ',' at column "
                f"{self.peek().column}"
            )
        raise self.fail_here(f"expected ')' to close '(' at column {opening.column}")

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {_show(name.text)} at column {name.column} "
                f"(allowed: {', '.join(FUNCTIONS)})"
            )
        opening = self.advance()  # "("
        self.enter(opening)
        if self.at_op(")"):
            raise ExpressionError(
                f"function {name.text!r} takes exactly one argument, got none at column "
                f"{self.peek().column}"
            )
        argument = self.expr()
        self.leave()
        self.close_paren(opening)
        return Call(name.text, argument)

    def variable(self, name: _Token) -> Node:
        if name.text in FUNCTIONS:
            raise ExpressionError(
                f"function {name.text!r} at column {name.column} must be called as "
                f"{name.text}(...)"
            )
        match = _split_variable(name.text)
        if match is None:
            names = "x0, x1, ..." if self.dimension == 1 else "x0_1, x1_2, ..."
            raise ExpressionError(
                f"unknown name {_show(name.text)} at column {name.column} "
                f"(variables are {names}; functions: {', '.join(FUNCTIONS)})"
            )
        lag, component_text = match
        if component_text is None:
            if self.dimension != 1:
                raise ExpressionError(
                    f"variable {name.text!r} at column {name.column} needs a component "
                    f"(inputs have d = {self.dimension}: use {name.text}_1 .. "
                    f"{name.text}_{self.dimension})"
                )
            component = 1
        else:
            component = int(component_text)
            if component > self.dimension:
                raise ExpressionError(
                    f"variable {name.text!r} at column {name.column}: component {component} "
                    f"out of range 1..{self.dimension}"
                )
        if self.max_lag is not None and lag > self.max_lag:
            raise ExpressionError(
                f"variable {name.text!r} at column {name.column}: lag {lag} exceeds the "
                f"maximum {self.max_lag}"
            )
        self.used_lag = max(self.used_lag, lag)
        return Variable(lag, component)


def _is_index(text: str) -> bool:
    """A non-negative decimal integer without leading zeros, at most 9 digits."""
    return (
        0 < len(text) <= 9
        and all(ch in _DIGITS for ch in text)
        and (text == "0" or text[0] != "0")
    )


def _split_variable(name: str) -> tuple[int, str | None] | None:
    """``x<lag>`` -> (lag, None); ``x<lag>_<component>`` -> (lag, component text); else None."""
    if not name.startswith("x"):
        return None
    lag_text, underscore, component_text = name[1:].partition("_")
    if not _is_index(lag_text):
        return None
    if not underscore:
        return int(lag_text), None
    if not _is_index(component_text) or component_text == "0":
        return None
    return int(lag_text), component_text


def _number(token: _Token) -> Number:
    _, _, exponent = token.text.lower().partition("e")
    if exponent and abs(int(exponent)) > _MAX_DECIMAL_EXPONENT:
        raise ExpressionError(
            f"number {_show(token.text)} at column {token.column} is out of range"
        )
    value = Fraction(token.text)
    if not math.isfinite(float(token.text)):
        raise ExpressionError(
            f"number {_show(token.text)} at column {token.column} is out of range"
        )
    return Number(token.text, value)


def parse_expression(text: str, dimension: int, max_lag: int | None = None) -> Expression:
    """Parse a target expression y(X_{k-q}, ..., X_k) (theory.md §1) over inputs in R^d.

    ``dimension`` is d >= 1; ``max_lag`` (if given) is the largest lag j a variable x<j> may
    have. Raises :class:`ExpressionError` (one line, with the column) on anything outside the
    whitelist: unknown names or functions, bad characters, empty or over-long text, nesting
    deeper than :data:`MAX_DEPTH`.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}")
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ExpressionError(f"dimension must be a positive integer, got {dimension!r}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters ({len(text)})")
    parser = _Parser(text, dimension, max_lag)
    tree = parser.parse()
    return Expression(text=text, dimension=dimension, max_lag=parser.used_lag, tree=tree)


def expression_variables(expr: Expression) -> tuple[tuple[int, int], ...]:
    """Sorted distinct (lag, component) pairs (component 1-based) used by ``expr``."""
    found: set[tuple[int, int]] = set()
    stack: list[Node] = [expr.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Variable):
            found.add((node.lag, node.component))
        stack.extend(_children(node))
    return tuple(sorted(found))


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Negate):
        return (node.operand,)
    if isinstance(node, Sum):
        return node.terms
    if isinstance(node, Product):
        return node.factors
    if isinstance(node, Power):
        return (node.base, node.exponent)
    if isinstance(node, Call):
        return (node.argument,)
    return ()


# ----------------------------------------------------------------------------- SymPy


def variable_symbol(lag: int, component: int, dimension: int) -> sympy.Symbol:
    """The real SymPy symbol for component ``component`` (1-based) of X_{k-lag}.

    Named ``x<lag>`` when d == 1 and ``x<lag>_<component>`` when d > 1, as in the config text.
    """
    if dimension == 1:
        return sympy.Symbol(f"x{lag}", real=True)
    return sympy.Symbol(f"x{lag}_{component}", real=True)


def _sympy_sigmoid(z: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-z))


_SYMPY_FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "tanh": sympy.tanh,
    "abs": sympy.Abs,
    "erf": sympy.erf,
    "sigmoid": _sympy_sigmoid,
}


def sympy_function(name: str) -> Callable[[sympy.Expr], sympy.Expr]:
    """The SymPy function of a grammar function name (one of FUNCTIONS)."""
    return _SYMPY_FUNCTIONS[name]


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
        return _SYMPY_FUNCTIONS[node.function](_to_sympy_node(node.argument, dimension))
    raise TypeError(f"not an expression node: {node!r}")


def to_sympy(expr: Expression) -> sympy.Expr:
    """The SymPy expression of the parse tree: exact Rationals for the decimal literals,
    real symbols from :func:`variable_symbol`, sigmoid(z) = 1/(1+exp(-z)), abs -> Abs."""
    return _to_sympy_node(expr.tree, expr.dimension)


# ----------------------------------------------------------------------------- NumPy


_NUMPY_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "abs": np.abs,
    "erf": _np_erf,
    "sigmoid": _np_expit,
}


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
        return _NUMPY_FUNCTIONS[node.function](argument)
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
