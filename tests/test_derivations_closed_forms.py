"""Closed-form kernels (theory.md §4) against their definitions and Monte Carlo over theta."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from scipy.special import erf

from derivations.closed_forms import (
    B_MAX,
    MOMENT_ORDER,
    S_C2,
    S_W2,
    erf_kernel_in_inner_products,
    erf_no_recurrence_kernel_terms,
    gaussian_moment,
    linear_kernel_coefficients,
    linear_kernel_matrix,
    linear_word_states,
    uniform_moment,
    uniform_moment_general,
)
from derivations.model import unit_symbols, vector_symbols

Z_999 = 3.2905  # two-sided 99.9% normal quantile: Monte Carlo means are CLT-normal (n >= 1e5)


def test_moments() -> None:
    for n in range(9):
        expected = B_MAX**n / (n + 1) if n % 2 == 0 else 0  # theory.md §4, typed independently
        assert sp.simplify(uniform_moment(n) - expected) == 0
        assert sp.simplify(uniform_moment_general().subs(MOMENT_ORDER, n) - expected) == 0
    assert gaussian_moment(2, S_W2) == S_W2
    assert gaussian_moment(4, S_W2) == 3 * S_W2**2
    assert gaussian_moment(1, S_C2) == 0


def test_linear_word_states_match_model() -> None:
    L, d = 4, 2
    s, gw, gb = linear_word_states(L, d)
    unit = unit_symbols(d)
    x = [vector_symbols(f"x{j}", d) for j in range(L)]  # x[j] = x_{-j}
    b, w = unit.b, unit.w

    def wdot(v):
        return sum(wa * va for wa, va in zip(w, v, strict=True))

    assert sp.expand(s - sum(b**j * wdot(x[j]) for j in range(L))) == 0
    for a in range(d):
        assert sp.expand(gw[a] - sum(b**j * x[j][a] for j in range(L))) == 0
    assert sp.expand(gb - sum(j * b ** (j - 1) * wdot(x[j]) for j in range(1, L))) == 0


def test_linear_kernel_is_exact_and_fast() -> None:
    states = [(Fraction(1), Fraction(-1, 2)), (Fraction(-1), Fraction(1, 3)), (0, Fraction(3, 4))]
    words = [list(w) for w in itertools.product(states, repeat=4)]  # 81 words
    start = time.perf_counter()
    K = linear_kernel_matrix(words, None, Fraction(1), Fraction(3, 2), Fraction(1, 2))
    assert time.perf_counter() - start < 10.0
    assert K.shape == (81, 81)
    assert all(isinstance(v, sp.Rational) for v in K)
    assert K == K.T
    eigenvalues = np.linalg.eigvalsh(np.array(K.tolist(), dtype=float))
    assert eigenvalues.min() > -1e-9 * eigenvalues.max()  # a kernel: positive semi-definite
    # the symbolic path agrees with the exact path
    Ks = linear_kernel_matrix(words[:3], words[5:7], S_W2, S_C2, B_MAX)
    subs = {S_W2: 1, S_C2: sp.Rational(3, 2), B_MAX: sp.Rational(1, 2)}
    assert sp.simplify(Ks.subs(subs) - K[:3, 5:7]) == sp.zeros(3, 2)


def _mc_linear(words_x, words_y, s_w, s_c, b_max, groups, n, rng):
    """Monte Carlo of the integrand over theta for linear sigma, by the numeric recursion
    (independent of the closed form); words oldest first. Returns (means, standard errors)."""
    d = len(words_x[0][0])
    w = rng.normal(scale=s_w, size=(n, d))
    c = rng.normal(scale=s_c, size=n)
    b = rng.uniform(-b_max, b_max, size=n)

    def run(word):
        s = np.zeros(n)
        gw = np.zeros((n, d))
        gb = np.zeros(n)
        for x in np.asarray(word, dtype=float):
            gb = s + b * gb  # sigma' = 1; uses S_{k-1}
            gw = x[None, :] + b[:, None] * gw
            s = w @ x + b * s
        return s, gw, gb

    means, errors = [], []
    for u, v in zip(words_x, words_y, strict=True):
        su, gwu, gbu = run(u)
        sv, gwv, gbv = run(v)
        value = np.zeros(n)
        if "c" in groups:
            value += su * sv
        if "w" in groups:
            value += c**2 * np.sum(gwu * gwv, axis=1)
        if "b" in groups:
            value += c**2 * gbu * gbv
        means.append(value.mean())
        errors.append(value.std(ddof=1) / np.sqrt(n))
    return np.array(means), np.array(errors)


@pytest.mark.parametrize("groups", [("c", "w", "b"), ("b",)])
def test_linear_kernel_vs_monte_carlo(groups: tuple[str, ...]) -> None:
    rng = np.random.default_rng(np.random.SeedSequence(314))
    s_w, s_c, b_max = 1.0, 1.5, Fraction(9, 10)
    words_x = [[(1, 0), (Fraction(1, 2), -1), (0, 1), (1, 1)], [(-1, 1), (1, 0), (1, 0), (0, -1)]]
    words_y = [[(0, 1), (1, 1), (-1, 0), (1, 0)], [(-1, 1), (1, 0), (1, 0), (0, -1)]]
    means, errors = _mc_linear(words_x, words_y, s_w, s_c, float(b_max), groups, 400_000, rng)
    exact = [
        float(linear_kernel_matrix([u], [v], 1, Fraction(9, 4), b_max, groups)[0, 0])
        for u, v in zip(words_x, words_y, strict=True)
    ]
    wrong = [
        float(linear_kernel_matrix([u], [v], 1, Fraction(9, 4), b_max, groups, True)[0, 0])
        for u, v in zip(words_x, words_y, strict=True)
    ]
    assert np.all(np.abs(means - exact) <= Z_999 * errors), (means, exact, errors)
    # negative control: the wrong moment E[b^2] = bbar^2/2 is rejected on some pair
    assert np.any(np.abs(means - wrong) > Z_999 * errors), (means, wrong, errors)


def test_linear_coefficients_groups_add_up() -> None:
    total = linear_kernel_coefficients(3)
    parts = sum((linear_kernel_coefficients(3, (g,)) for g in "cwb"), sp.zeros(3, 3))
    assert sp.simplify(total - parts) == sp.zeros(3, 3)


def _model_erf_nngp(x, y, s_w2):  # theory.md §4 typed in, as an independent reference
    return (2 / np.pi) * np.arcsin(
        2 * s_w2 * x @ y / np.sqrt((1 + 2 * s_w2 * x @ x) * (1 + 2 * s_w2 * y @ y))
    )


def _model_erf_ntk(x, y, s_w2):
    xx, yy, xy = x @ x, y @ y, x @ y
    return (4 / np.pi) / np.sqrt(1 + 2 * s_w2 * (xx + yy) + 4 * s_w2**2 * (xx * yy - xy**2))


def _erf_numeric(terms, x, y, s_w2, s_c2):
    subs = {S_W2: s_w2, S_C2: s_c2}
    subs.update({sp.Symbol(f"x_{a + 1}", real=True): x[a] for a in range(2)})
    subs.update({sp.Symbol(f"x'_{a + 1}", real=True): y[a] for a in range(2)})
    return {k: float(v.subs(subs).evalf(30)) for k, v in terms.items()}


def test_erf_kernel_matches_model_formula() -> None:
    terms = erf_no_recurrence_kernel_terms(2)
    rng = np.random.default_rng(7)
    for _ in range(5):
        x, y = rng.normal(size=2), rng.normal(size=2)
        s_w2, s_c2 = 0.5 + rng.random(), 0.5 + rng.random()
        values = _erf_numeric(terms, x, y, s_w2, s_c2)
        assert values["c"] == pytest.approx(_model_erf_nngp(x, y, s_w2), rel=1e-12)
        expected_w = s_c2 * (x @ y) * _model_erf_ntk(x, y, s_w2)
        assert values["w"] == pytest.approx(expected_w, rel=1e-12)
    scalar = erf_kernel_in_inner_products()
    assert scalar["c"].free_symbols >= {S_W2}


def test_erf_kernel_vs_monte_carlo() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(2718))
    s_w2, s_c2, n = 1.44, 0.81, 400_000
    terms = erf_no_recurrence_kernel_terms(2)
    pairs = [
        (np.array([1.0, -0.5]), np.array([0.5, 1.0])),
        (np.array([1.0, 1.0]), np.array([1.0, 1.0])),
        (np.array([0.3, -1.0]), np.array([0.8, -0.2])),
    ]
    w = rng.normal(scale=np.sqrt(s_w2), size=(n, 2))
    c = rng.normal(scale=np.sqrt(s_c2), size=n)
    rejected = False
    for x, y in pairs:
        values = _erf_numeric(terms, x, y, s_w2, s_c2)
        nngp = erf(w @ x) * erf(w @ y)
        d1x = 2 / np.sqrt(np.pi) * np.exp(-((w @ x) ** 2))
        d1y = 2 / np.sqrt(np.pi) * np.exp(-((w @ y) ** 2))
        ntk = c**2 * (x @ y) * d1x * d1y
        for sample, exact in ((nngp, values["c"]), (ntk, values["w"])):
            se = sample.std(ddof=1) / np.sqrt(n)
            assert abs(sample.mean() - exact) <= Z_999 * se
        # negative control: the arcsine without the factors 2 (a common slip) is rejected
        wrong = (2 / np.pi) * np.arcsin(
            s_w2 * x @ y / np.sqrt((1 + s_w2 * x @ x) * (1 + s_w2 * y @ y))
        )
        se = nngp.std(ddof=1) / np.sqrt(n)
        rejected |= abs(nngp.mean() - wrong) > Z_999 * se
    assert rejected


def test_general_lag_coefficients_match_fixed_length_expansion() -> None:
    """The symbolic-lag M_group(j, l) (chain rule + symbolic moments) equals the fully expanded
    fixed-L derivation entry by entry, L = 1..5."""
    from derivations.closed_forms import LAG_J, LAG_L, linear_kernel_coefficient_general

    general = linear_kernel_coefficient_general()
    for L in range(1, 6):
        for group in "cwb":
            fixed = linear_kernel_coefficients(L, (group,))
            for j in range(L):
                for l in range(L):
                    value = general[group].subs({LAG_J: j, LAG_L: l})
                    assert sp.simplify(value - fixed[j, l]) == 0, (group, j, l)


def test_linear_kernel_d2_exact_against_direct_expectation() -> None:
    """d = 2: E over theta of the integrand built from the d = 2 word states (monomial by
    monomial, no reduction to d = 1) equals the bilinear form used by linear_kernel_matrix."""
    from derivations.closed_forms import _expectation_polynomial
    from derivations.scaling import derive_kernel_integrand, kernel_symbols

    L, d = 3, 2
    s, gw, gb = linear_word_states(L, d)
    unit = unit_symbols(d)
    lags = [vector_symbols(f"x{j}", d) for j in range(L)]
    other = [vector_symbols(f"y{j}", d) for j in range(L)]
    prime = {a: b for u, v in zip(lags, other, strict=True) for a, b in zip(u, v, strict=True)}
    ks = kernel_symbols(d)
    mapping = {ks.c: unit.c, ks.s: s, ks.s_other: s.xreplace(prime), ks.gb: gb}
    mapping[ks.gb_other] = gb.xreplace(prime)
    for a in range(d):
        mapping[ks.gw[a]] = gw[a]
        mapping[ks.gw_other[a]] = gw[a].xreplace(prime)
    integrand = derive_kernel_integrand(d).xreplace(mapping)
    direct = _expectation_polynomial(integrand, unit.c, unit.w, unit.b, uniform_moment)
    M = linear_kernel_coefficients(L)
    bilinear = sum(
        M[j, l] * sum(lags[j][a] * other[l][a] for a in range(d))
        for j in range(L)
        for l in range(L)
    )
    assert sp.expand(direct - bilinear) == 0
    # and on concrete rational words (oldest first = reversed lags)
    rng = np.random.default_rng(1)
    vals = {v: sp.Rational(int(rng.integers(-4, 5)), 3) for u in lags + other for v in u}
    word_x = [[vals[v] for v in lags[j]] for j in reversed(range(L))]
    word_y = [[vals[v] for v in other[j]] for j in reversed(range(L))]
    K = linear_kernel_matrix([word_x], [word_y], S_W2, S_C2, B_MAX)
    assert sp.expand(K[0, 0] - bilinear.subs(vals)) == 0


def test_the_negative_control_changes_exactly_the_second_moment_of_b() -> None:
    """``wrong_b_moment`` must be the slip it claims, E[b^2] = bbar^2/2 instead of bbar^2/3,
    and nothing else. L = 3, c term: M[j, l] = s_w2 E[b^(j+l)] (theory.md §4), so only the
    entries with j + l = 2 move, each by s_w2 (bbar^2/2 - bbar^2/3); E[b^4] at (2, 2) stays."""
    right = linear_kernel_coefficients(3, ("c",))
    wrong = linear_kernel_coefficients(3, ("c",), True)
    for j, l in itertools.product(range(3), repeat=2):
        moment = B_MAX ** (j + l) / (j + l + 1) if (j + l) % 2 == 0 else 0
        assert sp.simplify(right[j, l] - S_W2 * moment) == 0, (j, l)
        shift = S_W2 * B_MAX**2 * sp.Rational(1, 6) if j + l == 2 else 0
        assert sp.simplify(wrong[j, l] - right[j, l] - shift) == 0, (j, l)


def test_bad_shapes_lengths_and_groups_are_refused() -> None:
    """Each bad input gets a ClosedFormError, not a silent kernel of other words or groups."""
    from derivations.closed_forms import ClosedFormError

    word = [(1, 0), (0, 1)]
    with pytest.raises(ClosedFormError, match="L must be >= 1"):
        linear_word_states(0)
    with pytest.raises(ClosedFormError, match="non-empty subset"):
        linear_kernel_coefficients(2, ("c", "x"))
    with pytest.raises(ClosedFormError, match="non-empty subset"):
        linear_kernel_coefficients(2, ())
    with pytest.raises(ClosedFormError, match="no words"):
        linear_kernel_matrix([word], [], 1, 1, Fraction(1, 2))
    with pytest.raises(ClosedFormError, match="no words"):
        linear_kernel_matrix([], [word], 1, 1, Fraction(1, 2))
    with pytest.raises(ClosedFormError, match="dimension 2"):
        linear_kernel_matrix([word, [(1, 0), (1,)]], None, 1, 1, Fraction(1, 2))
    with pytest.raises(ClosedFormError, match="2 states"):
        linear_kernel_matrix([word], [[(1, 0)]], 1, 1, Fraction(1, 2))
