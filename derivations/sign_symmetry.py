"""The sign symmetry x -> -x, and the configurations on which it makes the limit vanish
(theory.md §1-§3). Exact: states and transitions are compared as given (rationals stay
rationals), the target's parity is read from its parse tree.

If the activation is odd (sigma(-z) = -sigma(z): tanh, erf, arctan, linear), the memory
recursion of theory.md §3 gives, for every theta and by induction over the path,

    S(theta; -x) = -S(theta; x),  G^w(theta; -x) = -G^w(theta; x),  G^b(theta; -x) = -G^b(theta; x)

(sigma' is even), so every term of A is odd in each argument: A(x, -x') = -A(x, x'). If the
chain is symmetric too, a permutation s of the states with xi_{s(i)} = -xi_i and
P_{s(i) s(j)} = P_ij (so pi_{s(i)} = pi_i, and the stationary law of past paths is invariant
under x -> -x), and the target is even, y(-x_{-q}, ..., -x_0) = y(x_{-q}, ..., x_0), then
ybar is even, and E_pihat[(y' - 0) A(x, x')] = 0 by pairing x' with -x'. So g = 0 solves the
limit ODE of theory.md §3 with g_0 = 0, and by uniqueness

    g_t(x) = 0 for every t and every past path x:

in the kernel regime the network does not learn this target (a parity), whatever the
initialisation and the trainable groups. Every limit built from the same odd network, the
same chain and an even target (E[Y_0 | X_0], a kernel without one of its terms) vanishes as
well. The same pairing makes the mean of every unit's SGD increment vanish,
E_pihat[(ybar - g_t) c dS/dtheta] = 0, so the leading N^{beta - 1} term of the parameter drift
(theory.md §6) has coefficient 0.

The target's parity is read from its parse tree by rules (:func:`parity`: x0*x1, x0**2,
(x0 + x1)**2, cos(x0), abs(x0), x0*tanh(x0) are even), in time linear in its size. A target
even only on the states (x0**3 - x0 on {-1, 0, 1}) or by a cancellation the rules do not see is
not recognised: the answer errs towards "no symmetry", never the other way. States that repeat
are not searched for a permutation (also "no symmetry"). States and transitions are numbers as
the configuration gives them (fractions.Fraction or float), compared exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sympy as sp

from derivations.activations import is_odd
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
    sympy_function,
)


def state_flip(states: Sequence[Sequence[Any]],
               transition: Sequence[Sequence[Any]]) -> tuple[int, ...] | None:
    """theory.md §1: the permutation s of the m states with xi_{s(i)} = -xi_i (every component)
    and P_{s(i) s(j)} = P_ij, compared exactly; None when there is none, or when two states are
    equal (the permutation would not be determined by the states)."""
    index = {tuple(state): i for i, state in enumerate(states)}
    if len(index) != len(states):
        return None
    flip = []
    for state in states:
        mirror = tuple(-value for value in state)
        if mirror not in index:
            return None
        flip.append(index[mirror])
    m = len(states)
    if any(transition[flip[i]][flip[j]] != transition[i][j] for i in range(m) for j in range(m)):
        return None
    return tuple(flip)


EVEN, ODD = "even", "odd"  # parities; None: neither (or not recognised)


@cache
def function_parity(name: str) -> str | None:
    """The parity of a whitelisted function of the target grammar, derived by SymPy: odd when
    f(-z) = -f(z), even when f(-z) = f(z) after SymPy's automatic canonicalisation (sin, tan,
    tanh, erf odd; cos, abs even; exp, log, sqrt, sigmoid neither)."""
    z = sp.Symbol("z", real=True)
    f = sympy_function(name)
    if f(-z) + f(z) == 0:
        return ODD
    if f(-z) - f(z) == 0:
        return EVEN
    return None


def parity(node: Node) -> str | None:
    """theory.md §1: the parity of a target's parse tree under x -> -x (every input negated):
    numbers even, variables odd; sums keep a common parity; products and quotients multiply
    parities; a power of an even base is even, of an odd base with an integer exponent has that
    exponent's parity; a function of an even argument is even, of an odd one has the
    function's parity (:func:`function_parity`). None when a rule does not decide (x0 + 1):
    the answer errs towards "neither". Linear in the size of the tree."""
    if isinstance(node, Number):
        return EVEN
    if isinstance(node, Variable):
        return ODD
    if isinstance(node, Negate):
        return parity(node.operand)
    if isinstance(node, Sum):
        parts = {parity(term) for term in node.terms}
        return parts.pop() if len(parts) == 1 else None
    if isinstance(node, Product):
        parts = [parity(factor) for factor in node.factors]
        if None in parts:
            return None
        return ODD if parts.count(ODD) % 2 else EVEN
    if isinstance(node, Power):
        base, exponent = parity(node.base), node.exponent
        if base == EVEN and parity(exponent) == EVEN:
            return EVEN
        power = _integer(exponent)
        if base == ODD and power is not None:
            return ODD if power % 2 else EVEN
        return None
    if isinstance(node, Call):
        argument = parity(node.argument)
        return EVEN if argument == EVEN else (function_parity(node.function)
                                              if argument == ODD else None)
    raise TypeError(f"not an expression node: {node!r}")


def _integer(node: Node) -> int | None:
    """The value of an integer literal, or of its negation (x0**-2); else None."""
    sign = 1
    if isinstance(node, Negate):
        node, sign = node.operand, -1
    if isinstance(node, Number) and node.value.denominator == 1:
        return sign * node.value.numerator
    return None


def target_is_even(target: Expression) -> bool:
    """y(-x_{-q}, ..., -x_0) = y(x_{-q}, ..., x_0) identically, by :func:`parity`."""
    return parity(target.tree) == EVEN


def limit_vanishes_reason(activation: str, states: Sequence[Sequence[Any]],
                          transition: Sequence[Sequence[Any]], target: Expression) -> str:
    """theory.md §3: a sentence saying why g_t = 0 identically on this configuration (odd
    activation, a sign-symmetric chain and an even target: module docstring), or "" when the
    three do not all hold."""
    if not is_odd(activation):
        return ""
    flip = state_flip(states, transition)
    if flip is None or not target_is_even(target):
        return ""
    pairs = sorted({tuple(sorted((i, j))) for i, j in enumerate(flip)})
    shown = ", ".join(f"{i} <-> {j}" if i != j else f"{i} (its own mirror)" for i, j in pairs)
    return (f"the activation {activation} is odd, the chain is symmetric under x -> -x (states "
            f"{shown}, with P unchanged) and the target is even, so every feature of the "
            "network is odd, ybar is even and the limit ODE's drift E[(y' - 0) A(x, x')] "
            "pairs x' with -x' to 0 (derivations.sign_symmetry)")
