"""SGD update, one-step output increment (NTK form), learning-rate exponent and rates.

theory.md §2-§3 and §6. Every result is derived:

* :func:`derive_sgd_update`: theta - eta d/dtheta (1/2)(Y - f)^2 by ``sympy.diff``, with the
  derivatives of the previous memory state renamed to tangent states (so the w- and b-updates
  come out as c G^w and c G^b with the G of :mod:`derivations.tangents`).
* :func:`derive_kernel_integrand`: the first-order coefficient of ``sympy.series`` in eta of
  f(theta + eta v; x') with v the SGD direction computed on x, for a unit whose memory state is
  an undefined function S(w, b) of its parameters; dividing by eta N^{-2 beta} (Y - f) leaves the
  per-unit kernel integrand S S' + c^2 (G^w . G^w' + G^b G^b') (one term per trainable group).
* :func:`derive_output_increment`: the same expansion for a network of several units built
  from the actual memory step, and the kernel form assembled from the derived integrand and
  the derived tangent recursion; the two agree identically (tests).
* :func:`learning_rate_exponent`: eta_N = alpha N^gamma; ``solve`` for gamma so that the
  increment eta N^{-2 beta} * (sum of N terms of order 1) is O(1/N): gamma = 2 beta - 2.
* :func:`predicted_rates`: the exponents of N of the error terms of theory.md §6 from the orders
  of the terms (``n_exponent``), and r = min of their negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations.errors import InputError
from derivations.model import (
    UnitSymbols,
    memory_step,
    network_output,
    normalize_derivatives,
    unit_symbols,
    vector_symbols,
)
from derivations.tangents import apply_step, derive_tangent_step, previous_state_symbols

GROUPS: tuple[str, ...] = ("c", "w", "b")

N = sp.Symbol("N", positive=True)
BETA = sp.Symbol("beta", positive=True)
ETA = sp.Symbol("eta", positive=True)
ALPHA = sp.Symbol("alpha", positive=True)
GAMMA = sp.Symbol("gamma", real=True)
Y = sp.Symbol("Y", real=True)


def _check_groups(trainable: Sequence[str]) -> tuple[str, ...]:
    groups = tuple(g for g in GROUPS if g in trainable)
    unknown = set(trainable) - set(GROUPS)
    if unknown or not groups:
        raise InputError(f"trainable groups must be a non-empty subset of {GROUPS}")
    return groups


def trainable_parameters(unit: UnitSymbols, trainable: Sequence[str]) -> tuple[sp.Symbol, ...]:
    """The unit's parameters belonging to the trainable groups, in (c, w_1..w_d, b) order."""
    groups = _check_groups(trainable)
    params: list[sp.Symbol] = []
    if "c" in groups:
        params.append(unit.c)
    if "w" in groups:
        params.extend(unit.w)
    if "b" in groups:
        params.append(unit.b)
    return tuple(params)


@dataclass(frozen=True)
class KernelSymbols:
    """Symbols of the per-unit kernel integrand: the unit's c, its memory state on x and x'
    (S, S'), and its tangents (G^w, G^w' d-tuples; G^b, G^b')."""

    c: sp.Symbol
    s: sp.Symbol
    s_other: sp.Symbol
    gw: tuple[sp.Symbol, ...]
    gw_other: tuple[sp.Symbol, ...]
    gb: sp.Symbol
    gb_other: sp.Symbol


def kernel_symbols(d: int) -> KernelSymbols:
    """Symbols c, S, S', G^w_1..d, G^w'_1..d, G^b, G^b' for the integrand of dimension d."""
    return KernelSymbols(
        c=sp.Symbol("c", real=True),
        s=sp.Symbol("S", real=True),
        s_other=sp.Symbol("S'", real=True),
        gw=vector_symbols("G^w", d),
        gw_other=vector_symbols("G^w'", d),
        gb=sp.Symbol("G^b", real=True),
        gb_other=sp.Symbol("G^b'", real=True),
    )


def _series_first_order(expr: sp.Expr, shifts: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """First-order coefficient of ``sympy.series`` in eta of expr(theta + eta v), then v := shifts.

    The direction v enters as fresh symbols first (the expansion is much cheaper that way)."""
    direction = {p: sp.Symbol(f"v[{p.name}]", real=True) for p in shifts}
    moved = expr.subs({p: p + ETA * v for p, v in direction.items()}, simultaneous=True)
    first = sp.series(moved, ETA, 0, 2).removeO().coeff(ETA, 1)
    # Subs(Derivative(F(xi, w_2, b), xi), xi, w_1) -> Derivative(F(w_1, w_2, b), w_1); the
    # derivatives of sigma at compound points become sigma'(z).
    first = normalize_derivatives(first).replace(
        lambda e: isinstance(e, sp.Subs) and all(p.is_Symbol for p in e.point),
        lambda e: e.doit(),
    )
    return first.subs({direction[p]: value for p, value in shifts.items()})


def _sgd_direction(loss: sp.Expr, params: Sequence[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    """theory.md §2, online SGD: the update direction v = -d loss / d theta (so theta += eta v)."""
    return {p: -sp.diff(loss, p) for p in params}


@lru_cache(maxsize=16)
def derive_kernel_integrand(d: int = 2, trainable: tuple[str, ...] = GROUPS) -> sp.Expr:
    """theory.md §3, kernel integrand (per unit), derived from one SGD step.

    One unit with memory states S(w, b) on x and S'(w, b) on x' (undefined functions of the
    unit's parameters), f = N^{-beta} c S, f' = N^{-beta} c S'. The first-order term of the
    series in eta of f'(theta + eta v), v = -grad (1/2)(Y - f)^2, divided by
    eta N^{-2 beta} (Y - f), with dS/dw -> G^w, dS/db -> G^b. Returns an expression in
    :func:`kernel_symbols` (d); frozen groups contribute nothing."""
    groups = _check_groups(trainable)
    unit = unit_symbols(d)
    ks = kernel_symbols(d)
    s_fn = sp.Function("S_fn")(*unit.w, unit.b)
    s_other_fn = sp.Function("S_fn_other")(*unit.w, unit.b)
    f = network_output([unit], [s_fn], N, BETA)
    f_other = network_output([unit], [s_other_fn], N, BETA)
    loss = (Y - f) ** 2 / 2
    direction = _sgd_direction(loss, trainable_parameters(unit, groups))
    first = _series_first_order(f_other, direction)
    # the unit's c is *the* c of the integrand; (Y - f) is divided out below.
    renames: dict[sp.Expr, sp.Expr] = {}
    for wa, g, g_other in zip(unit.w, ks.gw, ks.gw_other, strict=True):
        renames[sp.Derivative(s_fn, wa)] = g
        renames[sp.Derivative(s_other_fn, wa)] = g_other
    renames[sp.Derivative(s_fn, unit.b)] = ks.gb
    renames[sp.Derivative(s_other_fn, unit.b)] = ks.gb_other
    first = first.subs(renames).subs({s_fn: ks.s, s_other_fn: ks.s_other, unit.c: ks.c})
    f_value = network_output([unit], [ks.s], N, BETA).subs(unit.c, ks.c)
    integrand = sp.cancel(first / (N ** (-2 * BETA) * (Y - f_value)))
    return sp.expand(integrand)


def kernel_integrand_terms(d: int = 2) -> dict[str, sp.Expr]:
    """The integrand split by trainable group (theory.md §3: one term per group), each derived
    by :func:`derive_kernel_integrand` with only that group trainable."""
    return {g: derive_kernel_integrand(d, (g,)) for g in GROUPS}


@dataclass(frozen=True)
class SgdUpdate:
    """Derived SGD step of one unit: ``new[p]`` = p + eta * (...) for every trainable p, and
    the theory.md §2 form assembled from the derived tangents (``model_form``)."""

    unit: UnitSymbols
    new: dict[sp.Symbol, sp.Expr]
    model_form: dict[sp.Symbol, sp.Expr]


@lru_cache(maxsize=8)
def derive_sgd_update(d: int = 2, trainable: tuple[str, ...] = GROUPS) -> SgdUpdate:
    """theory.md §2, online SGD update of one unit (the network output f = N^{-beta} c S + rest,
    the rest not depending on this unit): theta_{k+1} = theta_k - eta_N d/dtheta (1/2)(Y - f)^2,
    with S = sigma(w . x + b S_prev(w, b)) and dS_prev/dw -> G^w_prev, dS_prev/db -> G^b_prev.

    ``model_form`` is c + eta N^-beta (Y - f) S, w + eta N^-beta (Y - f) c G^w, ... with S, G
    from :func:`derivations.tangents.derive_tangent_step` and f the same output expression."""
    unit = unit_symbols(d)
    x = vector_symbols("x", d)
    s_prev, gw_prev, gb_prev = previous_state_symbols(d)
    previous = sp.Function("S_prev_fn")(*unit.w, unit.b)
    rest = sp.Symbol("f_rest", real=True)  # output of the other units (independent of theta)
    s = memory_step(unit, x, previous)
    f = network_output([unit], [s], N, BETA) + rest
    loss = (Y - f) ** 2 / 2
    params = trainable_parameters(unit, trainable)
    direction = _sgd_direction(loss, params)
    renames: dict[sp.Expr, sp.Expr] = {
        sp.Derivative(previous, wa): g for wa, g in zip(unit.w, gw_prev, strict=True)
    }
    renames[sp.Derivative(previous, unit.b)] = gb_prev

    def closed(expr: sp.Expr) -> sp.Expr:
        return normalize_derivatives(expr).subs(renames).subs(previous, s_prev)

    new = {p: p + ETA * closed(direction[p]) for p in params}
    step = derive_tangent_step(unit, x)
    f_closed = closed(f)
    factor = ETA * N ** (-BETA) * (Y - f_closed)
    form = {unit.c: unit.c + factor * step.s}
    form.update({wa: wa + factor * unit.c * g for wa, g in zip(unit.w, step.gw, strict=True)})
    form[unit.b] = unit.b + factor * unit.c * step.gb
    return SgdUpdate(unit=unit, new=new, model_form={p: form[p] for p in params})


@dataclass(frozen=True)
class OutputIncrement:
    """First-order output increment on x' after one SGD step on x, for ``n_units`` units built
    from the memory step (``increment``, derived by series), and the kernel form
    eta N^{-2 beta} (Y - f) sum_i integrand_i (``kernel_form``) built from the derived integrand
    and the derived tangent recursion."""

    increment: sp.Expr
    kernel_form: sp.Expr
    units: tuple[UnitSymbols, ...]


@lru_cache(maxsize=8)
def derive_output_increment(
    n_units: int = 2, d: int = 2, trainable: tuple[str, ...] = GROUPS
) -> OutputIncrement:
    """theory.md §3, one-step output increment to first order in eta (NTK form).

    Units i = 1..n have S_i = sigma(w_i . x + b_i S_prev_i(w_i, b_i)) on the training input x
    and S'_i likewise on x'; the increment is the series coefficient of eta of f'(theta + eta v)
    with v the SGD direction on x, times eta; derivatives of the previous states are renamed to
    the tangent symbols of each unit."""
    groups = _check_groups(trainable)
    units = tuple(unit_symbols(d, str(i)) for i in range(1, n_units + 1))
    x = vector_symbols("x", d)
    x_other = vector_symbols("x'", d)
    renames: dict[sp.Expr, sp.Expr] = {}
    states, states_other, prev_symbols = [], [], []
    for i, unit in enumerate(units, start=1):
        fn = sp.Function(f"S_prev_fn{i}")(*unit.w, unit.b)
        fn_other = sp.Function(f"S_prev_fn{i}'")(*unit.w, unit.b)
        sym = previous_state_symbols(d, str(i))
        sym_other = previous_state_symbols(d, f"{i}'")
        prev_symbols.append((sym, sym_other))
        for j, wa in enumerate(unit.w):
            renames[sp.Derivative(fn, wa)] = sym[1][j]
            renames[sp.Derivative(fn_other, wa)] = sym_other[1][j]
        renames[sp.Derivative(fn, unit.b)] = sym[2]
        renames[sp.Derivative(fn_other, unit.b)] = sym_other[2]
        renames[fn] = sym[0]
        renames[fn_other] = sym_other[0]
        states.append(memory_step(unit, x, fn))
        states_other.append(memory_step(unit, x_other, fn_other))
    f = network_output(units, states, N, BETA)
    f_other = network_output(units, states_other, N, BETA)
    params = [p for unit in units for p in trainable_parameters(unit, groups)]
    direction = _sgd_direction((Y - f) ** 2 / 2, params)
    first = _series_first_order(f_other, direction)

    def closed(expr: sp.Expr) -> sp.Expr:
        expr = normalize_derivatives(expr)
        derivatives = {k: v for k, v in renames.items() if isinstance(k, sp.Derivative)}
        values = {k: v for k, v in renames.items() if not isinstance(k, sp.Derivative)}
        return expr.subs(derivatives).subs(values)

    increment = ETA * closed(first)
    integrand = derive_kernel_integrand(d, groups)
    ks = kernel_symbols(d)
    terms = []
    for unit, (sym, sym_other) in zip(units, prev_symbols, strict=True):
        step = derive_tangent_step(unit, x)
        s, gw, gb = apply_step(step, x, *sym)
        s_o, gw_o, gb_o = apply_step(step, x_other, *sym_other)
        mapping = {ks.c: unit.c, ks.s: s, ks.s_other: s_o, ks.gb: gb, ks.gb_other: gb_o}
        mapping.update(dict(zip(ks.gw, gw, strict=True)))
        mapping.update(dict(zip(ks.gw_other, gw_o, strict=True)))
        terms.append(integrand.xreplace(mapping))
    kernel_form = ETA * N ** (-2 * BETA) * (Y - closed(f)) * sp.Add(*terms)
    return OutputIncrement(increment=increment, kernel_form=kernel_form, units=units)


# ------------------------------------------------------------------ orders of magnitude in N


def n_exponent(expr: sp.Expr, n: sp.Symbol = N) -> sp.Expr:
    """The exponent a of a power law C N^a: the logarithmic derivative N d/dN log(expr)."""
    return sp.simplify(n * sp.diff(expr, n) / expr)


SUM_OF_N_ORDER_ONE_TERMS = N  # sum_{i<=N} of O(1) terms with nonzero mean: size N
SUM_OF_N_CENTRED_TERMS = sp.sqrt(N)  # sum of N i.i.d. centred terms: CLT size sqrt(N Var) ~ N^(1/2)


@lru_cache(maxsize=1)
def learning_rate_exponent() -> sp.Expr:
    """theory.md §2: gamma with eta_N = alpha N^gamma, solved from the requirement that the
    one-step increment eta_N N^{-2 beta} * (sum of N kernel terms) be O(1/N): gamma = 2 beta - 2."""
    increment_size = ALPHA * N**GAMMA * N ** (-2 * BETA) * SUM_OF_N_ORDER_ONE_TERMS
    (solution,) = sp.solve(sp.Eq(n_exponent(increment_size), -1), GAMMA)
    return solution


def learning_rate() -> sp.Expr:
    """eta_N = alpha N^{gamma} with the solved gamma (theory.md §2)."""
    return ALPHA * N ** learning_rate_exponent()


@lru_cache(maxsize=2)
def error_exponents(zero_output: bool = False) -> dict[str, sp.Expr]:
    """theory.md §6: exponents a (size N^a) of the error terms, from the orders of the terms.

    * ``output_at_init``: f_0 = N^{-beta} * (sum of N centred i.i.d. terms) -> 1/2 - beta
      (absent when ``zero_output``: f_0 = 0 exactly, with antisymmetric initialisation or when
      c or S is 0 at initialisation, derivations.kernel_dependence.initial_output_vanishes);
    * ``parameter_drift``: per step eta_N N^{-beta} * O(1), over N T steps -> beta - 1;
    * ``kernel_at_init``: (1/N) * (sum of N centred terms) -> -1/2 (also the order of the
      ergodic fluctuation (1/N) sum_{k < N t} [F(Z_k) - pi F] bounded by the Poisson equation);
    * ``lazy_training``: the empirical tangent kernel is a smooth function of the parameters
      (its gradient in each unit's parameters is O(1/N) per unit, N units), so it moves by the
      parameter drift: (1/N) * N * (drift) -> beta - 1.
    """
    eta = learning_rate()
    drift = eta * N ** (-BETA) * SUM_OF_N_ORDER_ONE_TERMS
    exponents = {
        "output_at_init": n_exponent(N ** (-BETA) * SUM_OF_N_CENTRED_TERMS),
        "parameter_drift": n_exponent(drift),
        "kernel_at_init": n_exponent(SUM_OF_N_CENTRED_TERMS / N),
        "lazy_training": n_exponent(SUM_OF_N_ORDER_ONE_TERMS / N * drift),
    }
    # Not a term of f^N - g_t: dropped from the overall rate in predicted_rates.
    if zero_output:
        del exponents["output_at_init"]
    return exponents


@lru_cache(maxsize=2)
def lazy_training_orders(antisymmetric: bool = False) -> dict[str, sp.Expr]:
    """theory.md §6, lazy training, term by term. A^N(theta) = (1/N) sum_i k(theta^i) moves by
    (1/N) sum_i [grad k . Delta theta^i + (1/2) Delta theta^i' Hess k Delta theta^i + ...] with
    Delta theta^i = (drift) Psi(theta^i), Psi a function of unit i alone to leading order.
    * ``first_order_mean``: (1/N) * (sum of N order-one terms) * drift -> beta - 1 (the bound);
    * its mean vanishes: grad k . Psi is odd under c -> -c (the c-increment has no factor c
      while d k / d c = 2 c (G . G'); the w, b increments carry one factor c while the
      derivatives of k in w, b are even in c), and mu_0 is symmetric in c; what remains is its
      fluctuation, ``first_order_fluctuation``: (1/N) (sum of N centred terms) * drift ->
      beta - 3/2. With antisymmetric initialisation the mirrored units cancel it exactly (a
      pair's two odd terms are opposite), so it does not survive;
    * ``second_order``: (1/N) (sum of N order-one terms) * drift^2 -> 2 beta - 2 (even in c);
    * ``third_order``: * drift^3 -> 3 beta - 3 (the next term of the expansion).
    ``surviving``: the terms whose coefficients do not vanish (a tuple of names); the motion's
    RMS is a sum of them, so its log-log slope lies between their smallest and largest
    exponents, the largest being the asymptotic order."""
    drift = learning_rate() * N ** (-BETA) * SUM_OF_N_ORDER_ONE_TERMS / ALPHA
    orders = {
        "first_order_mean": n_exponent(SUM_OF_N_ORDER_ONE_TERMS / N * drift),
        "first_order_fluctuation": n_exponent(SUM_OF_N_CENTRED_TERMS / N * drift),
        "second_order": n_exponent(SUM_OF_N_ORDER_ONE_TERMS / N * drift**2),
        "third_order": n_exponent(SUM_OF_N_ORDER_ONE_TERMS / N * drift**3),
    }
    surviving = ("second_order", "third_order") if antisymmetric else (
        "first_order_fluctuation", "second_order", "third_order")
    orders["sharp"] = sp.Max(*(orders[name] for name in surviving))
    orders["fastest"] = sp.Min(*(orders[name] for name in surviving))
    return {**orders, "surviving": surviving}  # type: ignore[dict-item]


def predicted_rates(zero_output: bool = False) -> dict[str, sp.Expr]:
    """theory.md §6 rates r (error O(N^{-r})) as expressions in beta: each error term's rate is
    minus its exponent; ``overall`` = the minimum over the terms,
    min(beta - 1/2, 1 - beta, 1/2), or min(1 - beta, 1/2) when f_0 = 0 exactly
    (``zero_output``: antisymmetric initialisation, or c or S at 0, :func:`error_exponents`)."""
    terms = ("output_at_init", "parameter_drift", "kernel_at_init")  # terms of f^N - g_t
    rates = {name: sp.simplify(-a) for name, a in error_exponents(zero_output).items()
             if name in terms}
    rates["overall"] = sp.Min(*rates.values())
    return rates


def overall_rate(beta: sp.Expr, zero_output: bool = False) -> sp.Expr:
    """The overall rate r of theory.md §6 at a given beta (exact for rational beta; a float
    is taken at its exact binary value, as proofs_check.checks._common does)."""
    exact = sp.Rational(beta) if isinstance(beta, float) else beta
    return predicted_rates(zero_output)["overall"].subs(BETA, exact)
