"""The activations sigma of theory.md §2: one definition each, and every constant derived from it.

This module is the one home of an activation. :data:`DEFINITIONS` maps a name to its SymPy
definition sigma(z); everything else is derived from that entry:

* the derivatives (:func:`activation_derivative`, by ``sympy.diff``), which the code generator
  prints into :mod:`numerics.generated` (``rnnkl derive``): sigma, sigma', sigma'' and the fused
  memory/tangent step used by both simulator backends and by the kernel quadrature;
* the exact constants sup |sigma| (the memory bound M), Lip(sigma) = sup |sigma'| (the
  contraction rho = b_max Lip(sigma) of theory.md §2), sup |sigma''| (the tangent-error bounds of
  theory.md §6), by calculus (:func:`sup_abs_derivative`), and their float views
  (:func:`activation_constants`) read by config validation, the kernel's tail bound, the checks
  and the benchmarks.

Adding an activation is one entry here and a regeneration (``rnnkl derive``); its mpmath
reference (numerics.reference) is the same definition printed for mpmath.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations.errors import InputError

Z = sp.Symbol("z", real=True)

DEFINITIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "arctan": sp.atan,
    "erf": sp.erf,
    "linear": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
    "tanh": sp.tanh,
}
ACTIVATION_NAMES: tuple[str, ...] = tuple(sorted(DEFINITIONS))


class ActivationNameError(InputError):
    """Unknown activation name."""


def activation_expression(name: str, z: sp.Expr = Z) -> sp.Expr:
    """theory.md §2, the activations: sigma(z) for ``name`` in :data:`ACTIVATION_NAMES`
    (the entry of :data:`DEFINITIONS`; sigmoid is 1/(1 + exp(-z)), linear is sigma(z) = z)."""
    try:
        definition = DEFINITIONS[name]
    except (KeyError, TypeError):
        raise ActivationNameError(
            f"unknown activation {name!r} (expected one of {', '.join(ACTIVATION_NAMES)})"
        ) from None
    return sp.sympify(definition(z))


def activation_derivative(name: str, order: int, z: sp.Expr = Z) -> sp.Expr:
    """The ``order``-th derivative of the activation (order 0: sigma itself), by
    ``sympy.diff`` of its definition, evaluated at ``z``."""
    return sp.diff(activation_expression(name, Z), Z, order).subs(Z, z)


# ------------------------------------------------------------------- sup |sigma^(n)| exactly

_U = sp.Symbol("u", real=True)


def _polynomial_chain(name: str) -> tuple[sp.Expr, tuple[sp.Expr, sp.Expr]] | None:
    """(du/dz as a polynomial in u = sigma(z), closed range of u) when sigma' is a polynomial in
    sigma (tanh: 1 - u^2 on [-1, 1]; sigmoid: u (1 - u) on [0, 1]), found by eliminating z; None
    otherwise. Every derivative is then a polynomial in u, whose sup is found on an interval."""
    sigma = activation_expression(name, Z)
    if sigma.is_polynomial(Z):
        return None
    derivative = sp.diff(sigma, Z)
    for candidate in (sp.expand(1 - _U**2), sp.expand(_U * (1 - _U))):
        difference = derivative - candidate.subs(_U, sigma)
        if any(abs(sp.N(difference.subs(Z, point))) > 1e-9 for point in (sp.Rational(3, 10), 2)):
            continue  # numerically not an identity: skip the symbolic proof
        if sp.simplify((derivative - candidate.subs(_U, sigma)).rewrite(sp.exp)) == 0:
            low = sp.limit(sigma, Z, -sp.oo)
            high = sp.limit(sigma, Z, sp.oo)
            return candidate, (low, high)
    return None


def _sup_abs_polynomial(p: sp.Expr, interval: tuple[sp.Expr, sp.Expr]) -> sp.Expr:
    lo, hi = interval
    candidates = [lo, hi]
    poly = sp.Poly(sp.diff(p, _U), _U)
    if not poly.is_zero:
        candidates += [r for r in sp.real_roots(poly) if lo <= r <= hi]
    return sp.Max(*[sp.Abs(sp.radsimp(p.subs(_U, c))) for c in candidates])


@lru_cache(maxsize=64)
def sup_abs_derivative(name: str, order: int) -> sp.Expr:
    """sup_z |sigma^(order)(z)| (order 0 = sup |sigma|), exact, derived by calculus: through the
    polynomial in u = sigma(z) of the chain rule where sigma' is one (sup over the closed range
    of u), otherwise from the real critical points and the limits at +-infinity.
    Lip(sigma) = sup |sigma'| (tanh 1, sigmoid 1/4, erf 2/sqrt(pi), linear 1)."""
    activation_expression(name)  # raises ActivationNameError for an unknown name
    chain = _polynomial_chain(name)
    if chain is not None:
        du, interval = chain
        p = _U
        for _ in range(order):
            p = sp.expand(sp.diff(p, _U) * du)
        return sp.nsimplify(_sup_abs_polynomial(p, interval))
    z = sp.Symbol("z", real=True)
    e = activation_derivative(name, order, z)
    if not e.has(z):
        return sp.Abs(e)
    critical = [c for c in sp.solve(sp.diff(e, z), z) if c.is_real]
    values = [sp.Abs(e.subs(z, c)) for c in critical]
    values += [sp.Abs(sp.limit(e, z, sp.oo)), sp.Abs(sp.limit(e, z, -sp.oo))]
    return sp.Max(*[sp.simplify(v) for v in values])


@dataclass(frozen=True)
class ActivationConstants:
    """Float views of :func:`sup_abs_derivative` (theory.md §2, §6): ``sup_sigma`` = sup |sigma|
    (math.inf if unbounded), ``lipschitz`` = Lip(sigma) = sup |sigma'|, ``sup_second`` =
    sup |sigma''|. Dimensionless. ``odd``: sigma(-z) = -sigma(z) identically (:func:`is_odd`)."""

    sup_sigma: float
    lipschitz: float
    sup_second: float
    odd: bool = False

    @property
    def bounded(self) -> bool:
        """sup |sigma| < infinity (every activation but linear)."""
        return math.isfinite(self.sup_sigma)


def _as_float(value: sp.Expr) -> float:
    return math.inf if value in (sp.oo, -sp.oo, sp.zoo) else float(value)


@lru_cache(maxsize=16)
def activation_constants(name: str) -> ActivationConstants:
    """The constants of ``name`` as floats, each the rounding of the exact
    :func:`sup_abs_derivative` (derived once per process, then cached)."""
    return ActivationConstants(
        sup_sigma=_as_float(sup_abs_derivative(name, 0)),
        lipschitz=_as_float(sup_abs_derivative(name, 1)),
        sup_second=_as_float(sup_abs_derivative(name, 2)),
        odd=is_odd(name),
    )


def is_odd(name: str) -> bool:
    """Whether sigma(-z) + sigma(z) simplifies to 0 (SymPy): tanh, erf, arctan and linear are
    odd, sigmoid is not (sigma(-z) + sigma(z) = 1). Then the memory recursion of theory.md §2 is
    odd in w and the kernel integrand even (numerics.quadrature.fold_plan)."""
    expression = activation_expression(name, Z)
    return bool(sp.simplify(expression.subs(Z, -Z) + expression) == 0)
