"""The finite RNN of theory.md §2 as SymPy expressions.

sigma is an *undefined* SymPy function (:data:`SIGMA`), so every identity derived from these
expressions holds for any activation; :func:`substitute_activation` then puts in a concrete one
(defined in :mod:`derivations.activations`). Derivatives of sigma that SymPy writes as
``Subs(Derivative(sigma(xi), xi), xi, z)`` are renamed to the placeholder functions
:data:`SIGMA_D1` (sigma') and :data:`SIGMA_D2` (sigma'') by :func:`normalize_derivatives`.

Shapes: a unit has parameters c (scalar), w (tuple of d symbols), b (scalar); inputs are
tuples of d expressions; memory states S are scalars, tangent states G^w are d-tuples, G^b scalar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from derivations.activations import Z, activation_derivative, activation_expression
from derivations.errors import InputError

SIGMA = sp.Function("sigma")


class SIGMA_D1(sp.Function):  # noqa: N801 (a function symbol, named like SIGMA)
    """Placeholder sigma'(z) (undefined), printed sigma' in LaTeX."""

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:  # type: ignore[override]
        return r"\sigma'\left(" + printer._print(self.args[0]) + r"\right)"


class SIGMA_D2(sp.Function):  # noqa: N801
    """Placeholder sigma''(z) (undefined), printed sigma'' in LaTeX."""

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:  # type: ignore[override]
        return r"\sigma''\left(" + printer._print(self.args[0]) + r"\right)"


_SIGMA_DERIVATIVES = {1: SIGMA_D1, 2: SIGMA_D2}

def normalize_derivatives(expr: sp.Expr) -> sp.Expr:
    """Rename SymPy's ``Subs(Derivative(sigma(xi), (xi, n)), xi, a)`` (and
    ``Derivative(sigma(a), (a, n))`` for a symbol a) to ``sigma'(a)`` / ``sigma''(a)``."""

    def is_sigma_derivative(e: sp.Basic) -> bool:
        if isinstance(e, sp.Subs):
            e = e.expr
        return (
            isinstance(e, sp.Derivative)
            and e.expr.func == SIGMA
            and len(e.variable_count) == 1
            and e.expr.args[0] == e.variable_count[0][0]
        )

    def rename(e: sp.Basic) -> sp.Expr:
        if isinstance(e, sp.Subs):
            derivative, point = e.expr, e.point[0]
        else:
            derivative, point = e, e.expr.args[0]
        order = int(derivative.variable_count[0][1])
        if order not in _SIGMA_DERIVATIVES:
            raise ValueError(f"sigma derivative of order {order} has no placeholder")
        return _SIGMA_DERIVATIVES[order](point)

    renamed = expr.replace(is_sigma_derivative, rename)
    # the inner Derivative of a Subs is renamed first, leaving Subs(sigma'(xi), xi, a):
    return renamed.replace(
        lambda e: isinstance(e, sp.Subs) and not e.expr.has(sp.Derivative),
        lambda e: e.doit(),
    )


def substitute_activation(expr: sp.Expr, name: str) -> sp.Expr:
    """Replace sigma, sigma', sigma'' (placeholders or SymPy derivatives) by the concrete
    activation ``name`` and its derivatives; the result contains no undefined function."""
    expr = normalize_derivatives(expr)
    replacements = {
        SIGMA: sp.Lambda(Z, activation_expression(name, Z)),
        SIGMA_D1: sp.Lambda(Z, activation_derivative(name, 1, Z)),
        SIGMA_D2: sp.Lambda(Z, activation_derivative(name, 2, Z)),
    }
    for function, lam in replacements.items():
        expr = expr.replace(function, lam)
    return expr.doit()


@dataclass(frozen=True)
class UnitSymbols:
    """Parameters theta = (c, w, b) of one hidden unit (theory.md §2); w has d components."""

    c: sp.Symbol
    w: tuple[sp.Symbol, ...]
    b: sp.Symbol

    @property
    def d(self) -> int:
        return len(self.w)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """(c, w_1, ..., w_d, b): the order of every gradient vector in this package."""
        return (self.c, *self.w, self.b)


def unit_symbols(d: int, suffix: str = "") -> UnitSymbols:
    """Real symbols c, w_1..w_d, b (with an optional index suffix, e.g. unit number)."""
    if d < 1:
        raise InputError(f"dimension d must be >= 1, got {d}")
    return UnitSymbols(
        c=sp.Symbol(f"c{suffix}", real=True),
        w=tuple(sp.Symbol(f"w{suffix}_{a}", real=True) for a in range(1, d + 1)),
        b=sp.Symbol(f"b{suffix}", real=True),
    )


def vector_symbols(name: str, d: int) -> tuple[sp.Symbol, ...]:
    """A d-vector of real symbols name_1..name_d."""
    return tuple(sp.Symbol(f"{name}_{a}", real=True) for a in range(1, d + 1))


def dot(u: Sequence[sp.Expr], v: Sequence[sp.Expr]) -> sp.Expr:
    """Euclidean inner product of two equal-length sequences of expressions."""
    if len(u) != len(v):
        raise ValueError(f"dot of lengths {len(u)} and {len(v)}")
    return sp.Add(*(a * b for a, b in zip(u, v, strict=True)))


def pre_activation(unit: UnitSymbols, x: Sequence[sp.Expr], s_prev: sp.Expr) -> sp.Expr:
    """theory.md §2: z = w . x + b S_prev (scalar)."""
    return dot(unit.w, x) + unit.b * s_prev


def memory_step(
    unit: UnitSymbols, x: Sequence[sp.Expr], s_prev: sp.Expr, sigma: sp.FunctionClass = SIGMA
) -> sp.Expr:
    """theory.md §2, memory state: S_k = sigma(w . X_k + b S_{k-1}) (scalar)."""
    return sigma(pre_activation(unit, x, s_prev))


def unrolled_memory(
    unit: UnitSymbols, inputs: Sequence[Sequence[sp.Expr]], sigma: sp.FunctionClass = SIGMA
) -> list[sp.Expr]:
    """theory.md §2: S_0, ..., S_{K-1} as explicit nested expressions from S_{-1} = 0, for the
    inputs X_0, ..., X_{K-1} (``inputs[k]`` a d-vector, oldest first)."""
    states: list[sp.Expr] = []
    s_prev: sp.Expr = sp.Integer(0)
    for x in inputs:
        s_prev = memory_step(unit, x, s_prev, sigma)
        states.append(s_prev)
    return states


def network_output(
    units: Sequence[UnitSymbols], states: Sequence[sp.Expr], N: sp.Expr, beta: sp.Expr
) -> sp.Expr:
    """theory.md §2: f = N^{-beta} sum_i c^i S^i (the sum over the given units)."""
    return N ** (-beta) * sp.Add(*(u.c * s for u, s in zip(units, states, strict=True)))
