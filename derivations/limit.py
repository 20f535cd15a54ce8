"""The infinite-width limit of theory.md §3 as SymPy equations, and derivative bounds.

* :func:`fixed_point_equations`: S(theta; x) = sigma(w . x_0 + b S(theta; x_{-1:})) and the
  tangent fixed points, obtained by evaluating the derived step of
  :mod:`derivations.tangents` at the tail path's states.
* :func:`kernel_equation`: A(x, x') = E_theta[integrand], with the integrand derived in
  :func:`derivations.scaling.derive_kernel_integrand` (one term per trainable group).
* :func:`limit_ode`: d g_t(x)/dt = alpha E_pihat[(y' - g_t(x')) A(x, x')], derived from the
  one-step increment with eta_N = alpha N^{2 beta - 2}, time step dt = 1/N and the
  law-of-large-numbers replacement (1/N) sum_i -> E_theta.
* :func:`derivative_bounds`, :func:`memory_error_bounds`: from sup |sigma^(n)| (derived by
  calculus in :mod:`derivations.activations`), the uniform-in-k bounds on |dS/dw|, |dS/db| and the
  memory/tangent errors obtained by summing the recursion's geometric series with SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations.activations import activation_constants, sup_abs_derivative
from derivations.errors import InputError
from derivations.model import (
    SIGMA,
    unit_symbols,
    vector_symbols,
)
from derivations.scaling import (
    ALPHA,
    BETA,
    ETA,
    GROUPS,
    N,
    Y,
    derive_kernel_integrand,
    kernel_symbols,
    learning_rate,
)
from derivations.tangents import apply_step, derive_tangent_step

PATH = sp.Symbol("x", real=True)
PATH_OTHER = sp.Symbol("x'", real=True)
TAIL = sp.Symbol("x_{-1:}", real=True)
TIME = sp.Symbol("t", nonnegative=True)
Y_OTHER = sp.Symbol("y'", real=True)

S_FN = sp.Function("S")
GB_FN = sp.Function("G^b")
G_FN = sp.Function("g")
A_FN = sp.Function("A")


class ExpectationTheta(sp.Function):
    """Unevaluated E_{theta ~ mu_0}[...] (theory.md §3)."""

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:  # type: ignore[override]
        return r"\mathbb{E}_{\theta \sim \mu_0}\left[" + printer._print(self.args[0]) + r"\right]"


class ExpectationData(sp.Function):
    """Unevaluated E_{(x', y') ~ pihat}[...] (theory.md §3: stationary law of (path, target))."""

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:  # type: ignore[override]
        return (
            r"\mathbb{E}_{(x', y') \sim \hat\pi}\left[" + printer._print(self.args[0]) + r"\right]"
        )


def gw_functions(d: int) -> tuple[sp.FunctionClass, ...]:
    """G^w_1..G^w_d as undefined functions of the path."""
    return tuple(sp.Function(f"G^w_{a}") for a in range(1, d + 1))


@lru_cache(maxsize=4)
def fixed_point_equations(d: int = 1) -> dict[str, sp.Eq]:
    """theory.md §3, memory and tangent fixed points on a past path x = (x_0, x_{-1}, ...).

    Keys ``memory``, ``tangent_w_<a>`` (a = 1..d), ``tangent_b``. The right-hand sides are the
    derived step of :func:`derive_tangent_step` evaluated at the input x_0 and the states
    S(theta; x_{-1:}), G(theta; x_{-1:}) of the tail path."""
    unit = unit_symbols(d)
    step = derive_tangent_step(unit)
    x0 = vector_symbols("x_0", d)
    gw = gw_functions(d)
    s, g_w, g_b = apply_step(step, x0, S_FN(TAIL), tuple(g(TAIL) for g in gw), GB_FN(TAIL))
    equations = {"memory": sp.Eq(S_FN(PATH), s)}
    for a in range(d):
        equations[f"tangent_w_{a + 1}"] = sp.Eq(gw[a](PATH), g_w[a])
    equations["tangent_b"] = sp.Eq(GB_FN(PATH), g_b)
    return equations


def kernel_integrand_on_paths(d: int = 1, trainable: tuple[str, ...] = GROUPS) -> sp.Expr:
    """The derived per-unit integrand with S -> S(theta; x), S' -> S(theta; x'), G likewise
    (theory.md §3, integrand of A)."""
    ks = kernel_symbols(d)
    gw = gw_functions(d)
    mapping = {ks.s: S_FN(PATH), ks.s_other: S_FN(PATH_OTHER), ks.gb: GB_FN(PATH)}
    mapping[ks.gb_other] = GB_FN(PATH_OTHER)
    for a in range(d):
        mapping[ks.gw[a]] = gw[a](PATH)
        mapping[ks.gw_other[a]] = gw[a](PATH_OTHER)
    return derive_kernel_integrand(d, tuple(trainable)).xreplace(mapping)


def kernel_equation(d: int = 1, trainable: tuple[str, ...] = GROUPS) -> sp.Eq:
    """theory.md §3: A(x, x') = E_theta[S S' + c^2 (G^w . G^w' + G^b G^b')] (trainable terms)."""
    return sp.Eq(A_FN(PATH, PATH_OTHER), ExpectationTheta(kernel_integrand_on_paths(d, trainable)))


@dataclass(frozen=True)
class LimitOdeDerivation:
    """Steps of :func:`limit_ode`: ``rate_per_unit_time`` = (increment / dt) with eta_N solved,
    sum_i K_i = N Kbar and dt = 1/N, which is free of N (``n_free`` checks it); ``ode`` is the
    equation after (1/N) sum_i -> E_theta (A) and the time average over the data -> E_pihat."""

    rate_per_unit_time: sp.Expr
    n_free: bool
    ode: sp.Eq


@lru_cache(maxsize=1)
def limit_ode_derivation() -> LimitOdeDerivation:
    """theory.md §3, limit ODE: from Delta f = eta_N N^{-2 beta} (Y - f) sum_i K_i."""
    f = sp.Symbol("f", real=True)
    kbar = sp.Symbol("Kbar", real=True)  # (1/N) sum_i K_i, the empirical kernel
    increment = ETA * N ** (-2 * BETA) * (Y - f) * (N * kbar)
    dt = 1 / N
    rate = sp.simplify((increment / dt).subs(ETA, learning_rate()))
    n_free = not rate.has(N)
    # law of large numbers: Kbar -> A(x, x'); f -> g_t(x'), Y -> y'; average over the data
    g_other = G_FN(TIME, PATH_OTHER)
    limit_rate = rate.subs({kbar: A_FN(PATH, PATH_OTHER), f: g_other, Y: Y_OTHER})
    coefficient = limit_rate.coeff(ALPHA)
    ode = sp.Eq(sp.Derivative(G_FN(TIME, PATH), TIME), ALPHA * ExpectationData(coefficient))
    return LimitOdeDerivation(rate_per_unit_time=rate, n_free=n_free, ode=ode)


def limit_ode() -> sp.Eq:
    """theory.md §3: d/dt g_t(x) = alpha E_pihat[(y' - g_t(x')) A(x, x')], g_0 = 0."""
    return limit_ode_derivation().ode


# ---------------------------------------------------------------------- derivative bounds

LIP = sp.Symbol("L", positive=True)  # Lip(sigma) = sup |sigma'|
B_MAX = sp.Symbol("bbar", positive=True)  # |b| <= bbar
X_MAX = sp.Symbol("X", positive=True)  # max_k |X_k| (Euclidean)
S_MAX = sp.Symbol("M", positive=True)  # sup |S| (= sup |sigma| for bounded sigma)
RHO = sp.Symbol("rho", positive=True)  # bbar * L < 1
_J = sp.Symbol("j", integer=True, nonnegative=True)
_K = sp.Symbol("k", integer=True)


def _geometric_bound(first: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """For a_k <= first + rho a_{k-1}, a_{-1} = 0: the partial sum sum_{j<=k} first rho^j
    (bound at step k) and its k -> infinity value under rho < 1 (uniform bound)."""
    term = first * RHO**_J
    partial = sp.simplify(sp.Sum(term, (_J, 0, _K)).doit())
    uniform = sp.refine(sp.Sum(term, (_J, 0, sp.oo)).doit(), sp.Q.lt(RHO, 1))
    return partial, sp.simplify(uniform)


@lru_cache(maxsize=1)
def derivative_bounds() -> dict[str, sp.Expr]:
    """Bounds on the tangents of theory.md §2-§3 (Sobolev-type, uniform in k), in the symbols
    L = Lip(sigma), bbar, rho = bbar L, X = max |x_k|, M = sup |S|:

    |G^w_k| <= L (X + bbar |G^w_{k-1}|)  =>  |dS/dw| <= L X / (1 - rho);
    |G^b_k| <= L (M + bbar |G^b_{k-1}|)  =>  |dS/db| <= L M / (1 - rho);
    linear sigma (L = 1): |S_k| <= |w| X + bbar |S_{k-1}|  =>  M = |w| X / (1 - bbar).
    Keys ``dS_dw``, ``dS_db``, ``dS_dw_step_k``, ``dS_db_step_k``, ``S_linear``."""
    w_norm = sp.Symbol("|w|", positive=True)
    gw_k, gw = _geometric_bound(LIP * X_MAX)
    gb_k, gb = _geometric_bound(LIP * S_MAX)
    _, s_linear = _geometric_bound(w_norm * X_MAX)
    return {
        "dS_dw": gw,
        "dS_db": gb,
        "dS_dw_step_k": gw_k,
        "dS_db_step_k": gb_k,
        "S_linear": s_linear.subs(RHO, B_MAX),
    }


def numeric_derivative_bounds(activation: str, b_max: float, x_max: float) -> dict[str, float]:
    """The bounds of :func:`derivative_bounds` for a bounded activation (not linear), as floats:
    {"lip", "sup_sigma", "rho", "dS_dw", "dS_db"}. Raises InputError when rho >= 1."""
    if not activation_constants(activation).bounded:
        raise InputError(f"numeric_derivative_bounds: sup |S| is not bounded for {activation}")
    lip = sup_abs_derivative(activation, 1)
    sup_sigma = sup_abs_derivative(activation, 0)
    rho = sp.Rational(b_max) * lip  # exact value of the given float or Fraction
    if not rho < 1:
        raise InputError(f"rho = b_max * Lip(sigma) = {float(rho):.6g} >= 1")
    values = {LIP: lip, B_MAX: sp.Rational(b_max), X_MAX: sp.Rational(x_max)}
    values.update({S_MAX: sup_sigma, RHO: rho})
    bounds = derivative_bounds()
    return {
        "lip": float(lip),
        "sup_sigma": float(sup_sigma),
        "rho": float(rho),
        "dS_dw": float(bounds["dS_dw"].subs(values)),
        "dS_db": float(bounds["dS_db"].subs(values)),
    }


@lru_cache(maxsize=1)
def memory_error_bounds() -> dict[str, sp.Expr]:
    """theory.md §6, memory: e_k = |S_k - S(theta; X_{<=k})| with S_{-1} = 0 satisfies
    e_k <= rho e_{k-1}, e_{-1} <= M, solved by ``rsolve``: e_k <= M rho^{k+1}. Tangent errors
    satisfy e'_k <= rho e'_{k-1} + C rho^k (C = L2 bbar M (X + bbar B), L2 = sup |sigma''|,
    B the uniform tangent bound), e'_{-1} <= B: e'_k <= rho^{k+1} B + (k + 1) C rho^k."""
    e = sp.Function("e")
    c_const = sp.Symbol("C", positive=True)
    b_const = sp.Symbol("B", positive=True)
    memory = sp.rsolve(e(_K) - RHO * e(_K - 1), e(_K), {e(-1): S_MAX})
    tangent = sp.rsolve(e(_K) - RHO * e(_K - 1) - c_const * RHO**_K, e(_K), {e(-1): b_const})
    return {"memory": sp.simplify(memory), "tangent": sp.factor(sp.simplify(tangent))}


__all__ = [
    "SIGMA",
    "derivative_bounds",
    "fixed_point_equations",
    "kernel_equation",
    "limit_ode",
    "memory_error_bounds",
    "numeric_derivative_bounds",
    "numeric_memory_error_bounds",
]


@lru_cache(maxsize=1)
def _memory_error_functions():  # noqa: ANN202
    """The bounds of :func:`memory_error_bounds` as plain-float callables (math module)."""
    bounds = memory_error_bounds()
    c_symbol, b_symbol = sp.Symbol("C", positive=True), sp.Symbol("B", positive=True)
    memory = sp.lambdify((_K, RHO, S_MAX), bounds["memory"], "math")
    tangent = sp.lambdify((_K, RHO, c_symbol, b_symbol), bounds["tangent"], "math")
    return memory, tangent


def numeric_memory_error_bounds(
    activation: str, b_max: float, x_max: float, k: int
) -> dict[str, float]:
    """theory.md §6, memory, at step k for a bounded activation, as floats:
    ``memory`` = M rho^{k+1}; ``tangent_w`` / ``tangent_b`` = rho^{k+1} B + (k + 1) C rho^k with
    B the uniform bound of :func:`derivative_bounds` and
    C_w = L2 bbar M (X + bbar B_w)  (from |sigma'(z_k) - sigma'(z)| <= L2 |b| e_{k-1}),
    C_b = L2 bbar M (M + bbar B_b) + L M  (G^b also carries S_{k-1} - S_tail).
    (L = Lip, L2 = sup|sigma''|, M = sup|sigma|, X = max|x|.)"""
    base = numeric_derivative_bounds(activation, b_max, x_max)
    lip2 = activation_constants(activation).sup_second
    lip, m, rho = base["lip"], base["sup_sigma"], base["rho"]
    c_w = lip2 * b_max * m * (x_max + b_max * base["dS_dw"])
    c_b = lip2 * b_max * m * (m + b_max * base["dS_db"]) + lip * m
    memory_fn, tangent_fn = _memory_error_functions()

    def tangent(c_value: float, b_value: float) -> float:
        return float(tangent_fn(k, rho, c_value, b_value))

    return {
        "memory": float(memory_fn(k, rho, m)),
        "tangent_w": tangent(c_w, base["dS_dw"]),
        "tangent_b": tangent(c_b, base["dS_db"]),
    }
