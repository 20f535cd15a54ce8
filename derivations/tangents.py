"""Tangent (sensitivity) recursions G^w, G^b, derived by ``sympy.diff`` of the memory step.

theory.md §2, tangent memory: the previous memory state S_{k-1} is itself a function of the
unit's parameters, so it is represented by an undefined function ``S_prev(w_1..w_d, b)``.
Differentiating S_k = sigma(w . X_k + b S_prev(w, b)) by the chain rule and renaming
dS_prev/dw -> G^w_prev, dS_prev/db -> G^b_prev gives

    G^w_k = sigma'(z_k) (X_k + b G^w_{k-1}),   G^b_k = sigma'(z_k) (S_{k-1} + b G^b_{k-1}).

:func:`unrolled_tangents` runs the derived recursion along several inputs; the tests compare it
with ``diff`` of :func:`derivations.model.unrolled_memory` (the fully nested expression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from derivations.model import (
    SIGMA,
    SIGMA_D1,
    UnitSymbols,
    memory_step,
    normalize_derivatives,
    pre_activation,
    vector_symbols,
)


@dataclass(frozen=True)
class TangentStep:
    """One derived step. ``s`` = S_k, ``gw`` = G^w_k (d-tuple), ``gb`` = G^b_k, as expressions of
    the previous states ``s_prev``, ``gw_prev`` (d-tuple), ``gb_prev`` and the input ``x``."""

    s: sp.Expr
    gw: tuple[sp.Expr, ...]
    gb: sp.Expr
    s_prev: sp.Symbol
    gw_prev: tuple[sp.Symbol, ...]
    gb_prev: sp.Symbol
    x: tuple[sp.Expr, ...]


def previous_state_symbols(
    d: int, prime: str = ""
) -> tuple[sp.Symbol, tuple[sp.Symbol, ...], sp.Symbol]:
    """Symbols (S_prev, (Gw_prev_1..d), Gb_prev) standing for S_{k-1}, G^w_{k-1}, G^b_{k-1}."""
    return (
        sp.Symbol(f"S_prev{prime}", real=True),
        vector_symbols(f"Gw_prev{prime}", d),
        sp.Symbol(f"Gb_prev{prime}", real=True),
    )


def derive_tangent_step(
    unit: UnitSymbols, x: Sequence[sp.Expr] | None = None, prime: str = ""
) -> TangentStep:
    """theory.md §2, tangent memory: G^w, G^b by ``sympy.diff`` of the memory step.

    ``x`` defaults to the symbols x_1..x_d. Returns the step with sigma' written ``sigma'(z)``."""
    d = unit.d
    if x is None:
        x = vector_symbols(f"x{prime}", d)
    x = tuple(x)
    s_prev, gw_prev, gb_prev = previous_state_symbols(d, prime)
    previous = sp.Function(f"S_prev_fn{prime}")(*unit.w, unit.b)
    s_k = memory_step(unit, x, previous)
    renames: dict[sp.Expr, sp.Expr] = {
        sp.Derivative(previous, wa): g for wa, g in zip(unit.w, gw_prev, strict=True)
    }
    renames[sp.Derivative(previous, unit.b)] = gb_prev

    def closed(expr: sp.Expr) -> sp.Expr:
        expr = normalize_derivatives(expr).subs(renames)
        return expr.subs(previous, s_prev)

    gw = tuple(closed(sp.diff(s_k, wa)) for wa in unit.w)
    gb = closed(sp.diff(s_k, unit.b))
    return TangentStep(
        s=closed(s_k), gw=gw, gb=gb, s_prev=s_prev, gw_prev=gw_prev, gb_prev=gb_prev, x=x
    )


def apply_step(
    step: TangentStep,
    x: Sequence[sp.Expr],
    s_prev: sp.Expr,
    gw_prev: Sequence[sp.Expr],
    gb_prev: sp.Expr,
) -> tuple[sp.Expr, tuple[sp.Expr, ...], sp.Expr]:
    """Evaluate the derived step at concrete previous states and input: (S, G^w, G^b)."""
    mapping: dict[sp.Expr, sp.Expr] = {step.s_prev: s_prev, step.gb_prev: gb_prev}
    mapping.update(dict(zip(step.gw_prev, gw_prev, strict=True)))
    mapping.update(dict(zip(step.x, x, strict=True)))
    return (
        step.s.xreplace(mapping),
        tuple(g.xreplace(mapping) for g in step.gw),
        step.gb.xreplace(mapping),
    )


def unrolled_tangents(
    unit: UnitSymbols, inputs: Sequence[Sequence[sp.Expr]]
) -> list[tuple[sp.Expr, tuple[sp.Expr, ...], sp.Expr]]:
    """theory.md §2: (S_k, G^w_k, G^b_k) for k = 0..K-1 by the derived recursion, from
    S_{-1} = G_{-1} = 0 (``inputs`` oldest first, each a d-vector)."""
    step = derive_tangent_step(unit)
    s: sp.Expr = sp.Integer(0)
    gw: tuple[sp.Expr, ...] = (sp.Integer(0),) * unit.d
    gb: sp.Expr = sp.Integer(0)
    out = []
    for x in inputs:
        s, gw, gb = apply_step(step, x, s, gw, gb)
        out.append((s, gw, gb))
    return out


def tangent_w_with_dsigma(unit: UnitSymbols) -> tuple[sp.Symbol, tuple[sp.Expr, ...], TangentStep]:
    """The derived G^w step with sigma'(z) replaced by a plain symbol ``dsigma`` (what the
    generated code computes once per step): returns (dsigma, G^w expressions, step)."""
    step = derive_tangent_step(unit)
    dsigma = sp.Symbol("dsigma", real=True)
    z = pre_activation(unit, step.x, step.s_prev)
    gw = tuple(g.subs(SIGMA_D1(z), dsigma) for g in step.gw)
    return dsigma, gw, step


__all__ = [
    "SIGMA",
    "TangentStep",
    "apply_step",
    "derive_tangent_step",
    "previous_state_symbols",
    "tangent_w_with_dsigma",
    "unrolled_tangents",
]
