"""Whitelisting parser for target expressions y(X_{k-q}, ..., X_k) (theory.md §1).

The user's text is never handed to ``eval``, ``compile``, ``sympify`` or ``parse_expr``. A small
tokenizer and a recursive-descent parser accept exactly:

* decimal literals (``2``, ``0.25``, ``.5``, ``1e-3``), kept exact as :class:`fractions.Fraction`;
* the binary operators ``+ - * / **`` (``**`` binds tightest and is right-associative;
  ``-x**2`` is ``-(x**2)``), unary ``+``/``-`` and parentheses;
* variables ``x<j>`` (d == 1) or ``x<j>_<i>`` (component i = 1..d) meaning component i of
  X_{k-j}; for d == 1 ``x<j>_1`` is accepted too;
* calls ``f(<expr>)`` of the one-argument functions in
  :data:`derivations.inputs.expression.FUNCTIONS`.

Anything else raises :class:`ExpressionError` with a one-line message naming the problem and
its column. The result is a tree of :mod:`derivations.inputs.expression`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from derivations.errors import reads_as_zero
from derivations.inputs.expression import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Call,
    Expression,
    ExpressionError,
    LagError,
    Negate,
    Node,
    Number,
    Power,
    Product,
    Sum,
    Variable,
)

_MAX_DECIMAL_EXPONENT = 400  # |e| in a literal "1e<e>" (beyond it floats over/underflow anyway)


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
            names = _variable_names(self.dimension, self.max_lag)
            shaped = re.fullmatch(r"x([0-9]+)(?:_([0-9]+))?", name.text)
            if shaped:  # a variable's shape with an index no variable has: say which
                raise ExpressionError(
                    f"variable {_show(name.text)} at column {name.column}: an index must be a "
                    f"number of at most 9 digits without leading zeros, components from 1 "
                    f"(variables are {names})"
                )
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
            raise LagError(
                f"variable {name.text!r} at column {name.column}: lag {lag} exceeds the "
                f"maximum {self.max_lag}"
            )
        self.used_lag = max(self.used_lag, lag)
        return Variable(lag, component)


def _variable_names(dimension: int, max_lag: int | None) -> str:
    """The variables an expression may use, as an unknown name's message lists them."""
    if max_lag == 0:
        return "x0" if dimension == 1 else f"x0_1 .. x0_{dimension}"
    return "x0, x1, ..." if dimension == 1 else "x0_1, x1_2, ..."


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
    if reads_as_zero(token.text):  # the float tiers would read another number
        raise ExpressionError(
            f"number {_show(token.text)} at column {token.column} is beyond double precision "
            "(it would be read as 0.0)"
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
