"""Closed-form kernels (theory.md §4): linear sigma on words, erf without recurrence.

Linear sigma. The derived recursion with sigma(z) = z, run along a word of length L (oldest
symbol first, S_{-1} = G_{-1} = 0 before it), gives S = sum_j b^j w . x_{-j},
G^w = sum_j b^j x_{-j}, G^b = sum_{j>=1} j b^{j-1} w . x_{-j}. Taking E over c ~ N(0, s_c^2),
w ~ N(0, s_w^2 I_d), b ~ U[-bbar, bbar] (moments derived by ``integrate``) of the derived
kernel integrand turns A into a bilinear form in the lagged inputs:

    A(x, x') = sum_{j, l < L} M[j, l] x_{-j} . x'_{-l},   M = sum over trainable groups.

:func:`linear_kernel_coefficients` derives M (exact in the parameters), and
:func:`linear_kernel_matrix` evaluates K_uv = A(u, v) on words with exact rational arithmetic.

Erf with b = 0. S = erf(w . x); with u = w . x, v = w . x' jointly Gaussian with covariance
Sigma = s_w^2 [[|x|^2, x.x'], [x.x', |x'|^2]]:
E[erf'(u) erf'(v)] = (4/pi) E[exp(-u^2 - v^2)] = (4/pi) det(I + 2 Sigma)^{-1/2} (rotate to
the eigenbasis of Sigma: a product of 1-D Gaussian integrals, each derived by ``integrate``);
by Price's theorem d/dSigma_12 E[erf(u) erf(v)] = E[erf'(u) erf'(v)], and E[erf(u) erf(v)] = 0
at Sigma_12 = 0 (independent, odd), so the NNGP term is the integral of the NTK term in
Sigma_12, which ``integrate`` returns as the arcsine formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp

from derivations.errors import InputError
from derivations.model import (
    substitute_activation,
    unit_symbols,
    vector_symbols,
)
from derivations.scaling import GROUPS, derive_kernel_integrand, kernel_symbols
from derivations.tangents import unrolled_tangents

S_W2 = sp.Symbol("s_w2", positive=True)  # s_w^2, variance of each component of w
S_C2 = sp.Symbol("s_c2", positive=True)  # s_c^2, variance of c
B_MAX = sp.Symbol("bbar", positive=True)
MOMENT_ORDER = sp.Symbol("n", integer=True, nonnegative=True)


class ClosedFormError(InputError):
    """Bad input to a closed-form kernel (shapes, word lengths, parameters)."""


# ------------------------------------------------------------------------------ moments


@lru_cache(maxsize=64)
def uniform_moment(n: int, b_max: sp.Expr = B_MAX) -> sp.Expr:
    """E[b^n] for b ~ U[-bbar, bbar], by ``integrate``: bbar^n/(n+1) for even n, 0 for odd n."""
    b = sp.Symbol("b", real=True)
    return sp.simplify(sp.integrate(b**n, (b, -b_max, b_max)) / (2 * b_max))


@lru_cache(maxsize=1)
def uniform_moment_general() -> sp.Expr:
    """E[b^n] for symbolic integer n >= 0, by ``integrate`` (for code generation):
    bbar^n (1 + (-1)^n) / (2 (n + 1))."""
    b = sp.Symbol("b", positive=True)
    # integrate over [0, bbar] and use b -> -b on [-bbar, 0]: E[b^n] = (1 + (-1)^n)/2 * ...
    half = sp.integrate(b**MOMENT_ORDER, (b, 0, B_MAX), conds="none")
    return sp.simplify((1 + (-1) ** MOMENT_ORDER) * half / (2 * B_MAX))


@lru_cache(maxsize=16)
def gaussian_moment(n: int, variance: sp.Expr) -> sp.Expr:
    """E[w^n] for w ~ N(0, variance), by ``integrate`` of the density."""
    w = sp.Symbol("w", real=True)
    density = sp.exp(-(w**2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)
    return sp.simplify(sp.integrate(w**n * density, (w, -sp.oo, sp.oo)))


# --------------------------------------------------------------------------- linear sigma


@lru_cache(maxsize=32)
def linear_word_states(L: int, d: int = 1) -> tuple[sp.Expr, tuple[sp.Expr, ...], sp.Expr]:
    """(S, G^w, G^b) of the derived recursion with sigma(z) = z after a word of length L whose
    symbols are x_{-(L-1)}, ..., x_{-0} (oldest first), each a d-vector ``x{j}_a`` = x_{-j}.

    theory.md §4: S = sum_j b^j w . x_{-j}, G^w = sum_j b^j x_{-j},
    G^b = sum_{j>=1} j b^{j-1} w . x_{-j} (the tests check these forms)."""
    if L < 1:
        raise ClosedFormError(f"word length L must be >= 1, got {L}")
    unit = unit_symbols(d)
    oldest_first = [vector_symbols(f"x{j}", d) for j in reversed(range(L))]
    s, gw, gb = unrolled_tangents(unit, oldest_first)[-1]
    s = sp.expand(substitute_activation(s, "linear"))
    gw = tuple(sp.expand(substitute_activation(g, "linear")) for g in gw)
    gb = sp.expand(substitute_activation(gb, "linear"))
    return s, gw, gb


def _expectation_polynomial(
    poly_expr: sp.Expr,
    unit_c: sp.Symbol,
    unit_w: Sequence[sp.Symbol],
    unit_b: sp.Symbol,
    b_moment: Callable[[int], sp.Expr],
) -> sp.Expr:
    """E over independent c ~ N(0, s_c2), w_a ~ N(0, s_w2), b (moments ``b_moment``) of a
    polynomial in (c, w, b), monomial by monomial."""
    gens = (unit_c, *unit_w, unit_b)
    poly = sp.Poly(sp.expand(poly_expr), *gens)
    total = sp.Integer(0)
    for powers, coefficient in poly.terms():
        factor = gaussian_moment(powers[0], S_C2)
        for p in powers[1:-1]:
            factor *= gaussian_moment(p, S_W2)
        factor *= b_moment(powers[-1])
        total += coefficient * factor
    return sp.expand(total)


@lru_cache(maxsize=64)
def linear_kernel_coefficients(
    L: int, trainable: tuple[str, ...] = GROUPS, wrong_b_moment: bool = False
) -> sp.ImmutableMatrix:
    """theory.md §4, linear sigma: the L x L matrix M (in s_w2, s_c2, bbar) with
    A(x, x') = sum_{j,l} M[j, l] x_{-j} . x'_{-l} on words of length L (j = lag).

    Derived: the kernel integrand (trainable groups) with S, G^w, G^b of
    :func:`linear_word_states` (d = 1, which suffices as E[w w^T] = s_w2 I: the tests confirm
    the d = 2 form), E over theta monomial by monomial, then the coefficient of x_{-j} x'_{-l}.
    ``wrong_b_moment`` replaces E[b^2] by bbar^2/2 (a deliberately wrong moment, used only as a
    negative control)."""
    groups = tuple(g for g in GROUPS if g in trainable)
    if not groups or set(trainable) - set(GROUPS):
        raise ClosedFormError(f"trainable groups must be a non-empty subset of {GROUPS}")
    unit = unit_symbols(1)
    s, gw, gb = linear_word_states(L, 1)
    lags = [vector_symbols(f"x{j}", 1)[0] for j in range(L)]
    others = [sp.Symbol(f"x'{j}_1", real=True) for j in range(L)]
    prime = dict(zip(lags, others, strict=True))
    ks = kernel_symbols(1)
    integrand = derive_kernel_integrand(1, groups)
    mapping = {
        ks.c: unit.c,
        ks.s: s,
        ks.s_other: s.xreplace(prime),
        ks.gw[0]: gw[0],
        ks.gw_other[0]: gw[0].xreplace(prime),
        ks.gb: gb,
        ks.gb_other: gb.xreplace(prime),
    }
    polynomial = integrand.xreplace(mapping)

    def b_moment(n: int) -> sp.Expr:
        if wrong_b_moment and n == 2:
            return B_MAX**2 / 2
        return uniform_moment(n)

    expectation = _expectation_polynomial(polynomial, unit.c, unit.w, unit.b, b_moment)
    poly = sp.Poly(expectation, *lags, *others)
    matrix = sp.zeros(L, L)
    for powers, coefficient in poly.terms():
        if coefficient == 0:
            continue
        i = [k for k in range(L) if powers[k]]
        o = [k for k in range(L) if powers[L + k]]
        if len(i) != 1 or len(o) != 1 or powers[i[0]] != 1 or powers[L + o[0]] != 1:
            raise AssertionError(f"linear kernel is not bilinear: monomial {powers}")
        matrix[i[0], o[0]] += coefficient
    return sp.ImmutableMatrix(matrix)


def _exact(value: Any) -> Fraction | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, sp.Rational):
        return Fraction(int(value.p), int(value.q))
    return None


def _word_rows(words: Sequence[Sequence[Sequence[Any]]], L: int, d: int) -> list[list[Any]]:
    """Each word (oldest first, L x d) as the row (x_{-0}, x_{-1}, ..., x_{-(L-1)}) of L*d."""
    rows = []
    for word in words:
        if len(word) != L or any(len(symbol) != d for symbol in word):
            raise ClosedFormError(f"every word must be {L} states of dimension {d}")
        rows.append([component for symbol in reversed(word) for component in symbol])
    return rows


def linear_kernel_matrix(
    words_a: Sequence[Sequence[Sequence[Any]]],
    words_b: Sequence[Sequence[Sequence[Any]]] | None,
    s_w2: Any,
    s_c2: Any,
    b_max: Any,
    trainable: Sequence[str] = GROUPS,
    wrong_b_moment: bool = False,
) -> sp.Matrix:
    """theory.md §4, linear sigma: K[u, v] = A(u, v) for words u in ``words_a``, v in
    ``words_b`` (default: words_a), each word L states of dimension d, OLDEST FIRST.
    Returns a SymPy Matrix (P_a x P_b); exact Rationals when every input is an int, Fraction or
    SymPy Rational (pure Fraction arithmetic, fast for ~100 words), else SymPy expressions."""
    if words_b is None:
        words_b = words_a
    if not words_a or not words_b:
        raise ClosedFormError("no words")
    L, d = len(words_a[0]), len(words_a[0][0])
    rows_a = _word_rows(words_a, L, d)
    rows_b = _word_rows(words_b, L, d)
    groups = tuple(g for g in GROUPS if g in trainable)
    coefficients = linear_kernel_coefficients(L, groups, wrong_b_moment)
    params = {S_W2: s_w2, S_C2: s_c2, B_MAX: b_max}
    exact_params = {k: _exact(v) for k, v in params.items()}
    values = [x for row in rows_a + rows_b for x in row]
    if all(v is not None for v in exact_params.values()) and all(
        _exact(v) is not None for v in values
    ):
        subs = {k: sp.Rational(v.numerator, v.denominator) for k, v in exact_params.items()}
        m = [[_exact(coefficients[j, l].subs(subs)) for l in range(L)] for j in range(L)]
        fa = [[_exact(v) for v in row] for row in rows_a]
        fb = [[_exact(v) for v in row] for row in rows_b]
        # W = rows_a (M kron I_d): W[u][l*d + a] = sum_j M[j][l] u[j*d + a]
        weighted = [
            [sum(m[j][l] * row[j * d + a] for j in range(L)) for l in range(L) for a in range(d)]
            for row in fa
        ]
        out = [[sum(wu * vv for wu, vv in zip(w, v, strict=True)) for v in fb] for w in weighted]
        return sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in out])
    subs = {k: sp.sympify(v) for k, v in params.items()}
    m_sym = coefficients.subs(subs)
    kron = sp.kronecker_product(m_sym, sp.eye(d))
    return sp.Matrix(rows_a) * kron * sp.Matrix(rows_b).T


# ------------------------------------------------------------------------- erf, b = 0

SIGMA_11 = sp.Symbol("Sigma_11", positive=True)
SIGMA_22 = sp.Symbol("Sigma_22", positive=True)
SIGMA_12 = sp.Symbol("Sigma_12", real=True)


@lru_cache(maxsize=1)
def gaussian_exp_quadratic() -> sp.Expr:
    """E[exp(-u^2 - v^2)] for (u, v) ~ N(0, Sigma): in the eigenbasis of Sigma (eigenvalues
    lambda_i) it is prod_i E[exp(-lambda_i xi^2)], xi ~ N(0, 1), each 1-D factor derived by
    ``integrate`` as (1 + 2 lambda)^{-1/2}; the product is det(I + 2 Sigma)^{-1/2}."""
    xi = sp.Symbol("xi", real=True)
    lam = sp.Symbol("lambda", positive=True)
    one_d = sp.integrate(
        sp.exp(-lam * xi**2) * sp.exp(-(xi**2) / 2) / sp.sqrt(2 * sp.pi), (xi, -sp.oo, sp.oo)
    )
    one_d = sp.simplify(one_d)  # (1 + 2 lambda)^(-1/2)
    base = sp.simplify(one_d ** (-2))  # 1 + 2 lambda, affine in lambda
    if sp.diff(base, lam, 2) != 0:
        raise AssertionError(f"1-D factor {one_d} is not (affine in lambda)^(-1/2)")
    # prod_i (base(0) + base'(0) lambda_i) = det(base(0) I + base'(0) Sigma)
    sigma = sp.Matrix([[SIGMA_11, SIGMA_12], [SIGMA_12, SIGMA_22]])
    determinant = (base.subs(lam, 0) * sp.eye(2) + sp.diff(base, lam) * sigma).det()
    return sp.expand(determinant) ** sp.Rational(-1, 2)


@lru_cache(maxsize=1)
def erf_gaussian_kernels() -> dict[str, sp.Expr]:
    """In Sigma_11, Sigma_22, Sigma_12: ``ntk`` = E[erf'(u) erf'(v)] and
    ``nngp`` = E[erf(u) erf(v)] (Price's theorem: integral of ``ntk`` over Sigma_12 from 0)."""
    z = sp.Symbol("z", real=True)
    d1 = sp.diff(sp.erf(z), z)  # 2/sqrt(pi) exp(-z^2)
    prefactor = sp.simplify((d1 / sp.exp(-(z**2))) ** 2)  # 4/pi
    ntk = prefactor * gaussian_exp_quadratic()
    s = sp.Symbol("s", real=True)
    nngp = sp.integrate(ntk.subs(SIGMA_12, s), (s, 0, SIGMA_12))
    return {"ntk": ntk, "nngp": sp.simplify(nngp)}


@lru_cache(maxsize=4)
def erf_no_recurrence_kernel_terms(d: int = 2) -> dict[str, sp.Expr]:
    """theory.md §4, erf with b frozen at 0, in the symbols x_a, x'_a (a = 1..d), s_w2, s_c2:
    ``c`` = E[erf(w.x) erf(w.x')] (NNGP, arcsine), ``w`` = E[c^2] x.x' E[erf'(w.x) erf'(w.x')]
    (NTK term; G^w = erf'(w.x) x when b = 0), from :func:`erf_gaussian_kernels` with
    Sigma = s_w2 [[|x|^2, x.x'], [x.x', |x'|^2]] and E[c^2] by ``integrate``."""
    x = vector_symbols("x", d)
    xp = vector_symbols("x'", d)
    xx = sum(a * a for a in x)
    pp = sum(a * a for a in xp)
    xp_dot = sum(a * b for a, b in zip(x, xp, strict=True))
    kernels = erf_gaussian_kernels()
    cov = {SIGMA_11: S_W2 * xx, SIGMA_22: S_W2 * pp, SIGMA_12: S_W2 * xp_dot}
    return {
        "c": kernels["nngp"].subs(cov),
        "w": gaussian_moment(2, S_C2) * xp_dot * kernels["ntk"].subs(cov),
    }


@lru_cache(maxsize=1)
def erf_kernel_in_inner_products() -> dict[str, sp.Expr]:
    """The erf (b = 0) kernel terms in the scalars xx = |x|^2, pp = |x'|^2, xp = x.x' (and
    s_w2, s_c2): the form the generated numeric code uses."""
    xx, pp, xp = sp.symbols("xx pp xp", real=True)
    kernels = erf_gaussian_kernels()
    cov = {SIGMA_11: S_W2 * xx, SIGMA_22: S_W2 * pp, SIGMA_12: S_W2 * xp}
    return {
        "c": kernels["nngp"].subs(cov),
        "w": gaussian_moment(2, S_C2) * xp * kernels["ntk"].subs(cov),
    }


LAG_J = sp.Symbol("j", integer=True, nonnegative=True)
LAG_L = sp.Symbol("l", integer=True, nonnegative=True)


def _expectation_symbolic_lags(expr: sp.Expr, c: sp.Symbol, w: sp.Symbol, b: sp.Symbol) -> sp.Expr:
    """E over c ~ N(0, s_c2), w ~ N(0, s_w2), b ~ U[-bbar, bbar] of a sum of monomials
    c^i w^k b^e with integer i, k and a symbolic exponent e (moments by ``integrate``)."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr), force=True))):
        coefficient, powers = sp.Integer(1), {c: 0, w: 0, b: 0}
        for factor in sp.Mul.make_args(term):
            base, exponent = factor.as_base_exp()
            if base in powers:
                powers[base] += exponent
            else:
                coefficient *= factor
        moment_b = uniform_moment_general().subs({MOMENT_ORDER: powers[b], B_MAX: B_MAX})
        total += (
            coefficient
            * gaussian_moment(int(powers[c]), S_C2)
            * gaussian_moment(int(powers[w]), S_W2)
            * moment_b
        )
    return sp.simplify(total)


@lru_cache(maxsize=1)
def linear_kernel_coefficient_general() -> dict[str, sp.Expr]:
    """theory.md §4, linear sigma: M_group[j, l] for symbolic lags j, l (per trainable group).

    Chain rule along the linear recursion S_k = w . x_k + b S_{k-1}: dS/dx_{-j} = w prod_{i<j} b
    (``Product``), G^w = dS/dw so dG^w/dx_{-j} = d/dw of it, G^b = dS/db so dG^b/dx_{-j} = d/db of
    it; then the derived integrand's expectation with E[b^n] for symbolic n. The tests compare
    with :func:`linear_kernel_coefficients` (fixed L, fully expanded) entry by entry."""
    c, w, b = sp.symbols("c w b", real=True)
    i = sp.Symbol("i", integer=True, positive=True)

    def s_coefficient(lag: sp.Symbol) -> sp.Expr:
        return w * sp.Product(b, (i, 1, lag)).doit()

    ks = kernel_symbols(1)
    out = {}
    for group in GROUPS:
        integrand = derive_kernel_integrand(1, (group,))
        mapping = {
            ks.c: c,
            ks.s: s_coefficient(LAG_J),
            ks.s_other: s_coefficient(LAG_L),
            ks.gw[0]: sp.diff(s_coefficient(LAG_J), w),
            ks.gw_other[0]: sp.diff(s_coefficient(LAG_L), w),
            ks.gb: sp.diff(s_coefficient(LAG_J), b),
            ks.gb_other: sp.diff(s_coefficient(LAG_L), b),
        }
        value = _expectation_symbolic_lags(integrand.xreplace(mapping), c, w, b)
        if group == "b":
            # dG^b/dx_{-0} = d/db (w) = 0: the lag-0 coefficient vanishes (the symbolic form
            # j b^(j-1) would give 0 * b^(-1), and its moment divides by j + l - 1 = 0)
            value = sp.Piecewise((0, sp.Eq(LAG_J * LAG_L, 0)), (value, True))
        out[group] = value
    return out
