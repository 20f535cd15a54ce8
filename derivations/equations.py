"""Every derived equation of the suite, with a stable name, a description and its LaTeX.

``rnnkl equations [--format latex|markdown|json]`` prints :func:`all_equations`. Nothing here
is typed in: each equation is assembled from the objects the other modules derive (the model's
tangent recursion, the SGD update and output increment of :mod:`derivations.scaling`, the limit
of :mod:`derivations.limit`, the closed forms of :mod:`derivations.closed_forms`, the Poisson
equation of :mod:`derivations.poisson_exact`). Display symbols (S_k, G^w_k, ...) replace the derived
sub-expressions only by exact substitution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations import closed_forms, limit, scaling
from derivations.model import SIGMA_D1, pre_activation

REQUIRED_NAMES: tuple[str, ...] = (
    "memory_fixed_point",
    "tangent_w",
    "tangent_b",
    "sgd_update",
    "learning_rate_exponent",
    "output_increment",
    "kernel",
    "limit_ode",
    "poisson_equation",
    "poisson_solution",
    "asymptotic_variance",
    "kernel_linear_closed_form",
    "kernel_erf_no_recurrence",
)


@dataclass(frozen=True)
class NamedEquation:
    """A derived equation: stable ``name``, one-line ``description`` (with its theory.md
    section), and the SymPy object (an Eq or a Tuple of Eqs)."""

    name: str
    description: str
    equation: sp.Basic

    @property
    def latex(self) -> str:
        return sp.latex(self.equation)

    @property
    def sympy(self) -> str:
        return sp.srepr(self.equation)


def _display_d1() -> dict[sp.Expr, sp.Expr]:
    """d = 1 derivation symbols -> display symbols w, x_0 (vectors in general; w x_0 = w . x_0)."""
    return {
        sp.Symbol("w_1", real=True): sp.Symbol("w", real=True),
        sp.Symbol("x_0_1", real=True): sp.Symbol("x_0", real=True),
        sp.Symbol("x_1", real=True): sp.Symbol("X_k", real=True),
    }


def _fixed_points() -> list[NamedEquation]:
    eqs = limit.fixed_point_equations(1)
    rename = _display_d1()
    gw = limit.gw_functions(1)[0]
    gw_display = sp.Function("G^w")
    return [
        NamedEquation(
            "memory_fixed_point",
            "theory.md §3: memory state on a past path x = (x_0, x_{-1}, ...), unique as rho < 1 "
            "(w x_0 stands for w . x_0).",
            eqs["memory"].xreplace(rename),
        ),
        NamedEquation(
            "tangent_w",
            "theory.md §3: tangent G^w = dS/dw (derived by diff of the memory recursion).",
            eqs["tangent_w_1"].xreplace(rename).replace(gw, gw_display),
        ),
        NamedEquation(
            "tangent_b",
            "theory.md §3: tangent G^b = dS/db (derived by diff of the memory recursion).",
            eqs["tangent_b"].xreplace(rename),
        ),
    ]


def _sgd_update() -> list[NamedEquation]:
    update = scaling.derive_sgd_update(1)
    unit = update.unit
    from derivations.tangents import derive_tangent_step

    step = derive_tangent_step(unit)
    z = pre_activation(unit, step.x, step.s_prev)
    s_k, gw_k, gb_k, f_k = sp.symbols("S_k G^w_k G^b_k f_k", real=True)
    f_rest = sp.Symbol("f_rest", real=True)
    f_closed = scaling.N ** (-scaling.BETA) * unit.c * step.s + f_rest
    display = {}
    for p, value in update.new.items():
        value = value.subs(f_closed, f_k)
        value = value.subs({step.gw[0]: gw_k, step.gb: gb_k}).subs(step.s, s_k)
        if value.has(SIGMA_D1(z)):
            raise AssertionError(f"sgd_update display: {value}")
        display[p] = value
    names = {unit.c: "c", unit.w[0]: "w", unit.b: "b"}
    current = {p: sp.Symbol(f"{names[p]}_k", real=True) for p in unit.parameters}
    current[scaling.Y] = sp.Symbol("Y_k", real=True)
    current[scaling.ETA] = sp.Symbol("eta_N", positive=True)
    lhs = sp.Matrix([sp.Symbol(f"{names[p]}_{{k+1}}", real=True) for p in unit.parameters])
    rhs = sp.Matrix([display[p].xreplace(current) for p in unit.parameters])
    eta = scaling.learning_rate()
    lr = sp.Eq(sp.Symbol("eta_N", positive=True), eta)
    return [
        NamedEquation(
            "sgd_update",
            "theory.md §2: online SGD on (1/2)(Y_k - f_k)^2 (d/dtheta by diff; w stands for "
            "w_1..w_d); S_k, G^w_k, G^b_k the memory and tangent states at step k.",
            sp.Eq(lhs, rhs),
        ),
        NamedEquation(
            "learning_rate_exponent",
            "theory.md §2: eta_N = alpha N^gamma, gamma solved from 'increment = O(1/N)'.",
            sp.Tuple(sp.Eq(scaling.GAMMA, scaling.learning_rate_exponent()), lr),
        ),
    ]


def _output_increment() -> list[NamedEquation]:
    ks = scaling.kernel_symbols(1)
    i = sp.Symbol("i", integer=True, positive=True)
    names = {
        ks.c: "c",
        ks.s: "S",
        ks.s_other: "S'",
        ks.gw[0]: "G^w",
        ks.gw_other[0]: "G^w'",
        ks.gb: "G^b",
        ks.gb_other: "G^b'",
    }
    indexed = {k: sp.Indexed(sp.IndexedBase(v), i) for k, v in names.items()}
    integrand = scaling.derive_kernel_integrand(1).xreplace(indexed)
    f = sp.Symbol("f", real=True)
    rhs = (
        scaling.ETA
        * scaling.N ** (-2 * scaling.BETA)
        * (scaling.Y - f)
        * sp.Sum(integrand, (i, 1, scaling.N))
    )
    delta = sp.Symbol(r"\Delta f(x')")
    rates = scaling.predicted_rates()
    rates_anti = scaling.predicted_rates(zero_output=True)
    r = sp.Symbol("r")
    return [
        NamedEquation(
            "output_increment",
            "theory.md §3: one SGD step on x changes the output on x' by this, to first order in "
            "eta (series expansion; primes: on x'; G^w G^w' stands for G^w . G^w').",
            sp.Eq(delta, rhs),
        ),
        NamedEquation(
            "kernel_integrand",
            "theory.md §3: per-unit integrand read off the increment (one term per group).",
            sp.Eq(sp.Symbol("K_i"), integrand),
        ),
        NamedEquation(
            "predicted_rate",
            "theory.md §6: overall rate r (error O(N^-r)) from the orders of the error terms.",
            sp.Eq(r, rates["overall"]),
        ),
        NamedEquation(
            "predicted_rate_antisymmetric",
            "theory.md §6: overall rate when f_0 = 0 exactly (antisymmetric initialisation; "
            "also c or S drawn at 0, derivations.kernel_dependence).",
            sp.Eq(r, rates_anti["overall"]),
        ),
    ]


def _limit() -> list[NamedEquation]:
    kernel = limit.kernel_equation(1)
    gw = limit.gw_functions(1)[0]
    bounds = limit.derivative_bounds()
    sup_w = sp.Symbol(r"\sup_{k}|\partial S/\partial w|")
    sup_b = sp.Symbol(r"\sup_{k}|\partial S/\partial b|")
    errors = limit.memory_error_bounds()
    return [
        NamedEquation(
            "kernel",
            "theory.md §3: the limit kernel, E over theta ~ mu_0 of the derived integrand.",
            kernel.replace(gw, sp.Function("G^w")),
        ),
        NamedEquation(
            "limit_ode",
            "theory.md §3: limit ODE (eta_N N^{1-2 beta} N = alpha, dt = 1/N, (1/N) sum_i -> E).",
            limit.limit_ode(),
        ),
        NamedEquation(
            "derivative_bounds",
            "theory.md §3: uniform-in-k tangent bounds (geometric series of the recursion), "
            "L = Lip(sigma), rho = bbar L, X = max|x|, M = sup|S|.",
            sp.Tuple(sp.Eq(sup_w, bounds["dS_dw"]), sp.Eq(sup_b, bounds["dS_db"])),
        ),
        NamedEquation(
            "memory_error_bound",
            "theory.md §6: |S_k - S(theta; X_{<=k})| from S_{-1} = 0 (rsolve of the contraction).",
            sp.Eq(sp.Symbol("e_k"), errors["memory"]),
        ),
    ]


def _closed_forms() -> list[NamedEquation]:
    general = closed_forms.linear_kernel_coefficient_general()
    j, l_ = closed_forms.LAG_J, closed_forms.LAG_L
    x = sp.IndexedBase("x")
    xp = sp.IndexedBase("x'")
    L = sp.Symbol("L", integer=True, positive=True)
    coefficient = sp.Add(*general.values())
    lhs = limit.A_FN(limit.PATH, limit.PATH_OTHER)
    linear = sp.Eq(
        lhs,
        sp.Sum(coefficient * x[-j] * xp[-l_], (j, 0, L - 1), (l_, 0, L - 1)),
    )
    terms = closed_forms.erf_kernel_in_inner_products()
    display = {
        sp.Symbol("xx", real=True): sp.Symbol(r"\|x\|^2"),
        sp.Symbol("pp", real=True): sp.Symbol(r"\|x'\|^2"),
        sp.Symbol("xp", real=True): sp.Symbol(r"\left(x \cdot x'\right)"),
    }
    erf = sp.Eq(lhs, (terms["c"] + terms["w"]).xreplace(display))
    return [
        NamedEquation(
            "kernel_linear_closed_form",
            "theory.md §4: linear sigma on words of length L, E[b^n] = bbar^n/(n+1) (n even), 0 "
            "(odd); s_w2 = s_w^2, s_c2 = s_c^2; x_{-j} x'_{-l} stands for the inner product.",
            linear,
        ),
        NamedEquation(
            "kernel_erf_no_recurrence",
            "theory.md §4: erf, b frozen at 0, trainable c (arcsine NNGP) and w (NTK term).",
            erf,
        ),
    ]


def _poisson() -> list[NamedEquation]:
    from derivations import poisson_exact as poisson

    return [
        NamedEquation(
            "poisson_equation",
            "theory.md §5: Poisson equation of the chain (P, pi), with pi u = 0.",
            poisson.poisson_equation(),
        ),
        NamedEquation(
            "poisson_solution",
            "theory.md §5: u = Z (F - pi F), Z = (I - P + 1 pi)^{-1}.",
            poisson.poisson_solution(),
        ),
        NamedEquation(
            "asymptotic_variance",
            "theory.md §5: asymptotic variance of sum_k F(Z_k) (o: entrywise product).",
            poisson.asymptotic_variance(),
        ),
    ]


@lru_cache(maxsize=1)
def all_equations() -> tuple[NamedEquation, ...]:
    """Every derived equation, in a fixed order; names are unique and stable."""
    equations = [
        *_fixed_points(),
        *_sgd_update(),
        *_output_increment(),
        *_limit(),
        *_closed_forms(),
        *_poisson(),
    ]
    names = [e.name for e in equations]
    if len(set(names)) != len(names):
        raise AssertionError(f"duplicate equation names: {names}")
    return tuple(equations)


def equation(name: str) -> NamedEquation:
    """The equation called ``name`` (KeyError if unknown)."""
    for eq in all_equations():
        if eq.name == name:
            return eq
    raise KeyError(name)


def render(fmt: str) -> str:
    """All equations as ``json`` (list of {name, description, latex, sympy}), ``markdown``
    ($$...$$ blocks) or ``latex`` (equation environments with labels)."""
    equations = all_equations()
    if fmt == "json":
        items = [
            {"name": e.name, "description": e.description, "latex": e.latex, "sympy": e.sympy}
            for e in equations
        ]
        return json.dumps(items, indent=2) + "\n"
    if fmt == "markdown":
        parts = ["# Derived equations\n"]
        for e in equations:
            parts.append(f"## `{e.name}`\n\n{e.description}\n\n$$\n{e.latex}\n$$\n")
        return "\n".join(parts)
    if fmt == "latex":
        parts = []
        for e in equations:
            parts.append(
                f"% {e.name}: {e.description}\n\\begin{{equation}}\\label{{eq:{e.name}}}\n"
                f"{e.latex}\n\\end{{equation}}\n"
            )
        return "\n".join(parts)
    raise ValueError(f"unknown format {fmt!r}")
