"""Which trained parameters the kernel depends on (theory.md §3 kernel, §6 lazy training).

The per-unit kernel integrand (derivations.scaling.derive_kernel_integrand) is a polynomial in
c and the unit's memory state and tangents on two words, S, S', G^w, G^w', G^b, G^b'. Those
are functions of the unit's (w, b) through the recursion of theory.md §2 (their parameters are
read off the unrolled recursion, derivations.tangents.unrolled_tangents, not typed in), and c
is itself. The empirical kernel A^N(theta_k) moves under training only if the integrand of the
trainable groups depends on a trainable parameter: with c alone trainable the integrand is
S S', a function of the frozen (w, b), and A^N(theta_k) = A^N(theta_0) exactly (the random
features regime); so it is with w alone and linear sigma (sigma' = 1: G^w = sum_j b^j x_{-j}
does not depend on w), found by reading the dependence with the activation substituted. The
lazy-training check (proofs_check.checks.lazy_training) then verifies that exact statement
instead of a rate.

A degenerate initialisation can make the kernel vanish (:func:`kernel_vanishes`): with c = 0
every tangent term c^2 G G' is 0; with w = 0 and sigma(0) = 0 the memory state and G^b stay 0
from S = G = 0. Then A = 0, g_t = 0 and f^N = 0 at all times: nothing learns and no rate can be
measured, so the configuration is refused (derivations.inputs.validation).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import sympy as sp

from derivations.model import substitute_activation, unit_symbols
from derivations.scaling import (
    GROUPS,
    derive_kernel_integrand,
    kernel_symbols,
    trainable_parameters,
)
from derivations.tangents import derive_tangent_step, unrolled_tangents


def integrand_parameters(d: int = 1, activation: str | None = None
                         ) -> dict[sp.Symbol, frozenset[sp.Symbol]]:
    """The unit parameters each symbol of the kernel integrand depends on: c on c; S and the
    tangents on the parameters in their unrolled recursion over three inputs (theory.md §2), for
    both words (the primed symbols), with sigma the ``activation`` when given (linear: sigma'
    = 1, so G^w = x_0 + b x_{-1} + ... does not depend on w), else a general sigma. Keys:
    derivations.scaling.kernel_symbols(d); values: subsets of
    derivations.model.unit_symbols(d).parameters."""
    unit = unit_symbols(d)
    # three inputs: b reaches G^b only at the third step (G^b_3 = S_2 + b G^b_2) when sigma'
    # carries no b (linear), and no parameter first appears later (there are only w and b)
    inputs = [tuple(sp.Symbol(f"x{k}_{a}", real=True) for a in range(1, d + 1))
              for k in (2, 1, 0)]
    s, gw, gb = unrolled_tangents(unit, inputs)[-1]
    if activation is not None:
        s, gb = (substitute_activation(e, activation) for e in (s, gb))
        gw = tuple(substitute_activation(g, activation) for g in gw)
    own = set(unit.parameters)
    ks = kernel_symbols(d)
    out: dict[sp.Symbol, frozenset[sp.Symbol]] = {ks.c: frozenset({unit.c})}
    for symbols, expr in ((ks.s, s), (ks.s_other, s), (ks.gb, gb), (ks.gb_other, gb)):
        out[symbols] = frozenset(expr.free_symbols & own)
    for a, g in enumerate(gw):
        out[ks.gw[a]] = out[ks.gw_other[a]] = frozenset(g.free_symbols & own)
    return out


@lru_cache(maxsize=64)
def kernel_depends_on(trainable: tuple[str, ...], d: int = 1,
                      activation: str | None = None) -> dict[str, bool]:
    """Per group of theory.md §2, whether the kernel integrand of the ``trainable`` groups
    depends on that group's parameters (trained or not), for the ``activation`` when given
    (:func:`integrand_parameters`)."""
    groups = tuple(g for g in GROUPS if g in trainable)
    unit = unit_symbols(d)
    depends = integrand_parameters(d, activation)
    used: set[sp.Symbol] = set()
    for symbol in derive_kernel_integrand(d, groups).free_symbols:
        used |= depends.get(symbol, frozenset())
    return {g: bool(set(trainable_parameters(unit, (g,))) & used) for g in GROUPS}


def kernel_moves(trainable: Sequence[str], d: int = 1, activation: str | None = None) -> bool:
    """theory.md §6, lazy training: True when the kernel integrand of the ``trainable`` groups
    depends on a trained group's parameters, so A^N(theta_k) can move; False when it is a
    function of frozen parameters only (module docstring: c alone; w alone with linear sigma,
    whose G^w does not depend on w)."""
    depends = kernel_depends_on(tuple(trainable), d, activation)
    return any(depends[g] for g in GROUPS if g in trainable)


@lru_cache(maxsize=64)
def kernel_vanishes(trainable: tuple[str, ...], activation: str,
                    zero_groups: tuple[str, ...]) -> bool:
    """theory.md §2-§3: True when the kernel integrand of the ``trainable`` groups vanishes for
    every unit at initialisation, given that the groups in ``zero_groups`` are drawn at 0
    (standard deviation or b_max 0). Then A = E_{mu_0}[integrand] = 0 and g_t = 0; and the
    finite network never moves: A^N(theta_0; x, x) = 0 is the squared gradient of f, so SGD's
    first step is 0 and theta stays theta_0. The memory state and the tangents start at 0
    (S = G = 0 before the first input); the largest set of them that one step of the derived
    recursion (derivations.tangents.derive_tangent_step, sigma the ``activation``) keeps at 0
    when they and the zero parameters are 0 stays 0 on every word (induction). The integrand
    with those set to 0 is then compared with 0. d = 1 suffices: w = 0 is 0 in every
    component."""
    groups = tuple(g for g in GROUPS if g in trainable)
    unit = unit_symbols(1)
    frozen_zero = {p: sp.Integer(0) for g in zero_groups if g in GROUPS
                   for p in trainable_parameters(unit, (g,))}
    step = derive_tangent_step(unit)
    maps = {step.s_prev: step.s, step.gw_prev[0]: step.gw[0], step.gb_prev: step.gb}
    zero = set(maps)  # S = G = 0 before the first input
    while True:
        at_zero = {**frozen_zero, **dict.fromkeys(zero, sp.Integer(0))}
        kept = {v for v in zero
                if sp.simplify(substitute_activation(maps[v].xreplace(at_zero), activation)) == 0}
        if kept == zero:
            break
        zero = kept
    ks = kernel_symbols(1)
    state = {step.s_prev: (ks.s, ks.s_other), step.gw_prev[0]: (ks.gw[0], ks.gw_other[0]),
             step.gb_prev: (ks.gb, ks.gb_other)}
    vanish = {symbol: sp.Integer(0) for v in zero for symbol in state[v]}
    if unit.c in frozen_zero:
        vanish[ks.c] = sp.Integer(0)
    return sp.expand(derive_kernel_integrand(1, groups).xreplace(vanish)) == 0


def initial_output_vanishes(antisymmetric: bool, activation: str,
                            zero_groups: tuple[str, ...]) -> bool:
    """theory.md §2 and §6: True when the output at initialisation f^N_0 = N^{-beta} sum_i c^i S^i
    is 0 for every draw of the units: antisymmetric initialisation (mirrored pairs cancel), c
    drawn at 0 (``"c"`` in ``zero_groups``), or a memory state S that stays 0 on every word,
    which is exactly when the kernel's c term S S' vanishes (:func:`kernel_vanishes` of
    ("c",): tanh, erf or linear with w drawn at 0). Then the output-at-initialisation term of
    f^N - g_t is absent, as with antisymmetric initialisation (derivations.scaling)."""
    return (antisymmetric or "c" in zero_groups
            or kernel_vanishes(("c",), activation, tuple(zero_groups)))


@lru_cache(maxsize=64)
def kernel_reads_past(trainable: tuple[str, ...], frozen_zero: tuple[str, ...]) -> bool:
    """theory.md §2-§3: whether the kernel integrand of the ``trainable`` groups depends on an
    input before the current one when the groups in ``frozen_zero`` stay at 0 (drawn at 0 and
    never trained). Read off the recursion unrolled over three inputs
    (derivations.tangents.unrolled_tangents) with those parameters set to 0: with b at 0,
    z = w . x_0, so S and G^w read the current input alone (no recurrence) and the kernel is a
    function of the current inputs of its two words; then the limit of a target is the limit
    of its conditional mean given the current input, E[Y_0 | X_0]."""
    groups = tuple(g for g in GROUPS if g in trainable)
    unit = unit_symbols(1)
    inputs = [(sp.Symbol(f"x{k}_1", real=True),) for k in (2, 1, 0)]
    past = {inputs[0][0], inputs[1][0]}
    s, gw, gb = unrolled_tangents(unit, inputs)[-1]
    zero = {p: sp.Integer(0) for g in frozen_zero if g in GROUPS and g not in trainable
            for p in trainable_parameters(unit, (g,))}
    ks = kernel_symbols(1)
    integrand = derive_kernel_integrand(1, groups)
    features = {ks.s: s, ks.gw[0]: gw[0], ks.gb: gb}
    return any(bool(expr.xreplace(zero).free_symbols & past)
               for symbol, expr in features.items() if symbol in integrand.free_symbols)
