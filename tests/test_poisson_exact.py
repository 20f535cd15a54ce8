"""Exact checks of derivations.poisson_exact and derivations.word_chain (theory.md §4-§5).

Every check is an exact identity over the rationals (== on SymPy Rationals), on
hypothesis-generated ergodic chains with small denominators. Negative control: the "Poisson
solution" centred by the UNIFORM mean instead of pi(F) fails the same identities.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from derivations import poisson_exact as dp
from derivations import word_chain as wc

R = sp.Rational


# ----------------------------------------------------------------------------- strategies


def _is_primitive(pattern: list[list[bool]]) -> bool:
    """Irreducible and aperiodic <=> pattern^k > 0 for k = m^2 - 2m + 2 (Wielandt's bound).
    Independent of the code under test (boolean matrix powers)."""
    m = len(pattern)
    A = np.array(pattern, dtype=bool)
    power = np.eye(m, dtype=bool)
    for _ in range(m * m - 2 * m + 2):
        power = (power.astype(int) @ A.astype(int)) > 0
    return bool(power.all())


@st.composite
def rational_ergodic_chains(draw, min_states: int = 2, max_states: int = 4):
    """(P, F): P an m x m stochastic matrix with entries a/(row sum), a in 0..4 (small
    denominators), irreducible and aperiodic; F integer values in -3..3."""
    m = draw(st.integers(min_states, max_states))
    weights = draw(
        st.lists(
            st.lists(st.integers(0, 4), min_size=m, max_size=m).filter(lambda r: sum(r) > 0),
            min_size=m,
            max_size=m,
        )
    )
    assume(_is_primitive([[w > 0 for w in row] for row in weights]))
    P = [[R(w, sum(row)) for w in row] for row in weights]
    F = draw(st.lists(st.integers(-3, 3), min_size=m, max_size=m))
    return P, F


# ----------------------------------------------------------------------------- generic solver


@given(rational_ergodic_chains())
@settings(max_examples=20)
def test_poisson_solution_is_exact(chain):
    P, F = chain
    sol = dp.solve_poisson(P, F)
    m = len(P)
    Pm = sp.Matrix(P)
    Fm = sp.Matrix(F)
    ones = sp.ones(m, 1)
    # every entry is an exact Rational (no floats crept in)
    for matrix in (sol.pi, sol.u, sol.increments):
        assert all(isinstance(v, sp.Rational) for v in matrix)
    # stationary law: pi P = pi, pi 1 = 1
    assert sol.pi * Pm == sol.pi
    assert (sol.pi * ones)[0, 0] == 1
    # Z (I - P + 1 pi) = I, and u = Z F~ (u itself is solved without forming Z)
    Z = sol.fundamental
    assert Z * (sp.eye(m) - Pm + ones * sol.pi) == sp.eye(m)
    assert Z * sol.centred == sol.u
    # Poisson equation (I - P) u - (F - pi F) = 0 exactly, and pi u = 0
    mean = (sol.pi * Fm)[0, 0]
    assert (sp.eye(m) - Pm) * sol.u - (Fm - ones * mean) == sp.zeros(m, 1)
    assert (sol.pi * sol.u)[0, 0] == 0
    # martingale increments: D(i, j) = u(j) - (P u)(i), and sum_j P(i, j) D(i, j) = 0
    for i, j in itertools.product(range(m), repeat=2):
        assert sol.increments[i, j] == sol.u[j, 0] - (Pm * sol.u)[i, 0]
    for i in range(m):
        assert sum(Pm[i, j] * sol.increments[i, j] for j in range(m)) == 0
    # asymptotic variance 2 pi(F~ u) - pi(F~^2) equals pi(F~^2) + 2 pi(F~ (u - F~)) computed
    # from the definition u - F~ = sum_{k>=1} P^k F~ (here just as the algebraic identity), and
    # is >= 0 (it is a variance)
    Ft = Fm - ones * mean
    direct = sum(sol.pi[0, i] * (Ft[i] ** 2 + 2 * Ft[i] * (sol.u[i] - Ft[i])) for i in range(m))
    assert sol.asymptotic_variance == direct
    assert sol.asymptotic_variance >= 0


@given(rational_ergodic_chains(), st.lists(st.integers(-3, 3), min_size=8, max_size=8),
       st.lists(st.integers(-3, 3), min_size=8, max_size=8))
@settings(max_examples=15)
def test_poisson_solution_of_exact_irrational_values(chain, tanh_part, root_part):
    """F with exact non-rational values, F = F_1 + tanh(1) F_t + sqrt(2) F_s (integer parts):
    the solver splits the right-hand side by atom (derivations.exact_chain_algebra) and solves
    them together; by linearity u must be u(F_1) + tanh(1) u(F_t) + sqrt(2) u(F_s), each solved
    alone with rational values, and it must solve the Poisson equation exactly."""
    P, F = chain
    m = len(P)
    F_t, F_s = tanh_part[:m], root_part[:m]
    mixed = [a + sp.tanh(1) * b + sp.sqrt(2) * c for a, b, c in zip(F, F_t, F_s, strict=True)]
    sol = dp.solve_poisson(P, mixed)
    parts = [dp.solve_poisson(P, values).u for values in (F, F_t, F_s)]
    by_linearity = parts[0] + sp.tanh(1) * parts[1] + sp.sqrt(2) * parts[2]
    assert sp.expand(sol.u - by_linearity) == sp.zeros(m, 1)
    Pm, Fm, ones = sp.Matrix(P), sp.Matrix(mixed), sp.ones(m, 1)
    mean = (sol.pi * Fm)[0, 0]
    assert sp.expand((sp.eye(m) - Pm) * sol.u - (Fm - ones * mean)) == sp.zeros(m, 1)
    assert sp.expand((sol.pi * sol.u)[0, 0]) == 0


@given(rational_ergodic_chains())
@settings(max_examples=20)
def test_negative_control_uniform_centring_fails(chain):
    """u_bad = Z (F - uniform mean): the same exact checks must FAIL whenever pi(F) differs
    from the uniform mean (then u_bad = u + c 1 with c = pi F - mean_unif != 0)."""
    P, F = chain
    m = len(P)
    sol = dp.solve_poisson(P, F)
    uniform_mean = R(sum(F), m)
    c = sol.mean - uniform_mean
    assume(c != 0)
    Pm, Fm, ones = sp.Matrix(P), sp.Matrix(F), sp.ones(m, 1)
    centred_bad = Fm - ones * uniform_mean
    u_bad = sol.fundamental * centred_bad
    assert (sp.eye(m) - Pm) * u_bad - centred_bad != sp.zeros(m, 1)
    assert (sol.pi * u_bad)[0, 0] != 0
    bad_variance = dp.asymptotic_variance_from(sol.pi, centred_bad, u_bad)
    # algebra: F - mean_unif = F~ + c, u_bad = u + c 1 (Z 1 = 1), so
    # 2 pi((F~ + c)(u + c)) - pi((F~ + c)^2) = sigma^2 + c^2 (pi F~ = pi u = 0)
    assert bad_variance == sol.asymptotic_variance + c**2
    assert bad_variance != sol.asymptotic_variance


def test_rejects_bad_chains():
    with pytest.raises(dp.ChainError):
        dp.stationary_law([[1, 0], [0, 1]])  # two closed classes: no unique pi
    with pytest.raises(dp.ChainError):
        dp.stationary_law([[R(1, 2), R(1, 3)], [0, 1]])  # row does not sum to 1
    with pytest.raises(dp.ChainError):
        dp.stationary_law([[0.5, 0.5], [0.5, 0.5]])  # floats are not exact
    with pytest.raises(dp.ChainError):
        dp.solve_poisson([[R(1, 2), R(1, 2)], [R(1, 2), R(1, 2)]], [1, 2, 3])
    # rows sum to 1 and pi = (2/7, 5/7) solves pi P = pi, but P(0, 0) = -1/4 is no probability
    with pytest.raises(dp.ChainError, match="negative transition probability -1/4 in row 0"):
        dp.stationary_law([[R(-1, 4), R(5, 4)], [R(1, 2), R(1, 2)]])


# ----------------------------------------------------------------------------- two states

p, q, f1, f2 = (dp.two_state_symbols()[k] for k in ("p", "q", "f1", "f2"))


def test_two_state_closed_forms_solve_the_symbolic_equation():
    forms = dp.two_state_closed_forms()
    P = sp.Matrix([[1 - p, p], [q, 1 - q]])
    pi = sp.Matrix([[forms["pi_1"], forms["pi_2"]]])
    u = sp.Matrix([forms["u_1"], forms["u_2"]])
    F = sp.Matrix([f1, f2])
    mean = (pi * F)[0, 0]
    assert sp.simplify(pi * P - pi) == sp.zeros(1, 2)
    assert sp.simplify(pi[0, 0] + pi[0, 1] - 1) == 0
    assert sp.simplify((sp.eye(2) - P) * u - (F - sp.ones(2, 1) * mean)) == sp.zeros(2, 1)
    assert sp.simplify((pi * u)[0, 0]) == 0


@given(
    st.fractions(min_value=0, max_value=1, max_denominator=12).filter(lambda x: x > 0),
    st.fractions(min_value=0, max_value=1, max_denominator=12).filter(lambda x: x > 0),
    st.integers(-5, 5),
    st.integers(-5, 5),
)
@settings(max_examples=20)
def test_two_state_closed_forms_equal_generic_result(pv, qv, a, b):
    forms = dp.two_state_closed_forms()
    pr, qr = R(pv.numerator, pv.denominator), R(qv.numerator, qv.denominator)
    sol = dp.solve_poisson([[1 - pr, pr], [qr, 1 - qr]], [a, b])
    values = {p: pr, q: qr, f1: a, f2: b}
    assert forms["pi_1"].subs(values) == sol.pi[0, 0]
    assert forms["pi_2"].subs(values) == sol.pi[0, 1]
    assert forms["u_1"].subs(values) == sol.u[0, 0]
    assert forms["u_2"].subs(values) == sol.u[1, 0]
    assert forms["asymptotic_variance"].subs(values) == sol.asymptotic_variance


def test_two_state_hand_example():
    """P = [[1/2, 1/2], [1/4, 3/4]], F = (1, 0), by hand: pi = (q, p)/(p+q) = (1/3, 2/3);
    F~ = (2/3, -1/3); u solves u1 - (u1+u2)/2 = 2/3 and u1/3 + 2 u2/3 = 0, i.e. u1 = -2 u2,
    -3 u2/2 = 2/3 -> u2 = -4/9, u1 = 8/9; sigma^2 = 2 pi(F~ u) - pi(F~^2)
    = 2 (1/3 * 2/3 * 8/9 + 2/3 * 1/3 * 4/9) - (1/3 * 4/9 + 2/3 * 1/9) = 2 * 24/81 - 6/27 = 10/27."""
    sol = dp.solve_poisson([[R(1, 2), R(1, 2)], [R(1, 4), R(3, 4)]], [1, 0])
    assert list(sol.pi) == [R(1, 3), R(2, 3)]
    assert list(sol.u) == [R(8, 9), R(-4, 9)]
    assert sol.asymptotic_variance == R(10, 27)


@pytest.mark.parametrize(
    "pr,qr,a,b",
    [(R(1, 2), R(1, 4), 1, 0), (R(1, 10), R(3, 10), 2, -1), (R(9, 10), R(4, 5), 0, 3)],
)
def test_two_state_variance_equals_exact_autocovariance_series(pr, qr, a, b):
    """sigma^2 = Var_pi(F) + 2 sum_{k>=1} Cov(F(Z_0), F(Z_k)), the series summed EXACTLY by
    SymPy from P^k with a symbolic k (P^k via diagonalisation, not from u)."""
    k = sp.Symbol("k", integer=True, positive=True)
    P = sp.Matrix([[1 - pr, pr], [qr, 1 - qr]])
    pi = sp.Matrix([[qr / (pr + qr), pr / (pr + qr)]])
    assert pi * P == pi  # the hand formula for pi is right for this P
    F = sp.Matrix([a, b])
    Ft = F - sp.ones(2, 1) * (pi * F)[0, 0]
    Pk = P**k  # symbolic power
    cov_k = sp.simplify(sum(pi[0, i] * Ft[i] * (Pk * Ft)[i] for i in range(2)))
    variance = sum(pi[0, i] * Ft[i] ** 2 for i in range(2))
    series = sp.summation(cov_k, (k, 1, sp.oo))
    total = sp.nsimplify(sp.simplify(variance + 2 * series))
    assert total.is_Rational
    assert total == dp.solve_poisson(P, [a, b]).asymptotic_variance


# ----------------------------------------------------------------------------- equations


@given(rational_ergodic_chains(max_states=3))
@settings(max_examples=10)
def test_equation_objects_hold_for_the_solution(chain):
    P, F = chain
    sol = dp.solve_poisson(P, F)
    lhs, rhs = dp.substitute_equation(dp.poisson_equation(), P, F, sol.pi, sol.u)
    assert lhs == rhs
    lhs, rhs = dp.substitute_equation(dp.poisson_solution(), P, F, sol.pi, sol.u)
    assert lhs == rhs
    _, rhs = dp.substitute_equation(dp.asymptotic_variance(), P, F, sol.pi, sol.u)
    assert rhs[0, 0] == sol.asymptotic_variance


def test_equation_objects_fail_for_a_wrong_solution():
    P = [[R(1, 2), R(1, 2)], [R(1, 4), R(3, 4)]]
    sol = dp.solve_poisson(P, [1, 0])
    wrong_u = sol.u + sp.Matrix([R(1, 9), 0])
    lhs, rhs = dp.substitute_equation(dp.poisson_equation(), P, [1, 0], sol.pi, wrong_u)
    assert lhs != rhs


def test_equations_have_latex():
    for name, make in dp.EQUATIONS.items():
        equation = make()
        assert isinstance(equation, sp.Eq), name
        assert sp.latex(equation)


# ----------------------------------------------------------------------------- word chain


def test_word_order_matches_numerics_words():
    from numerics import words as nw

    for m, L in [(2, 1), (2, 3), (3, 2)]:
        assert np.array_equal(np.array(wc.enumerate_words(m, L)), nw.enumerate_words(m, L))


@given(rational_ergodic_chains(max_states=3), st.integers(1, 3))
@settings(max_examples=10)
def test_word_chain_exact(chain, L):
    from numerics import words as nw

    P, _ = chain
    m = len(P)
    Q = wc.word_transition_matrix(P, L)
    pi_L = wc.word_stationary_law(P, L)
    assert all(sum(Q.row(i)) == 1 for i in range(m**L))
    assert pi_L * Q == pi_L
    assert sum(pi_L) == 1
    # the product formula is THE stationary law of Q (generic exact solve agrees)
    assert dp.stationary_law(Q) == pi_L
    # same matrix as the float implementation in numerics.words (entries are exact there
    # up to the rounding of each P entry, <= eps/2 relative)
    Pf = np.array(sp.Matrix(P), dtype=float)
    assert np.allclose(np.array(Q, dtype=float), nw.word_transition_matrix(Pf, L), rtol=2**-52)


@given(rational_ergodic_chains(max_states=3), st.integers(1, 3))
@settings(max_examples=10)
def test_word_poisson_lifts_base_poisson(chain, L):
    """F(word) = f(x_0) (the MOST RECENT symbol, last in the word): the word-chain solution is
    the base solution of the last symbol, u_L(w) = u(w_L), because (Q u_L)(w) = (P u)(w_L);
    and the asymptotic variances agree. A function of the OLDEST symbol does not lift this way
    (negative control) unless f is constant."""
    P, F = chain
    m = len(P)
    base = dp.solve_poisson(P, F)
    words = wc.enumerate_words(m, L)
    on_words = wc.solve_word_poisson(P, L, [F[w[-1]] for w in words])
    assert list(on_words.u) == [base.u[w[-1], 0] for w in words]
    assert on_words.asymptotic_variance == base.asymptotic_variance
    if L >= 2 and len(set(F)) > 1:
        oldest = wc.solve_word_poisson(P, L, [F[w[0]] for w in words])
        assert list(oldest.u) != [base.u[w[-1], 0] for w in words]


def test_f_as_a_row_a_column_or_a_list_is_the_same_function_and_a_table_is_refused():
    """F on the states may come as a list, an (m, 1) column or a (1, m) row; all three are the
    same function and give the same exact solution. An (m, m) table is no function on states."""
    P = [[R(1, 2), R(1, 2), 0], [R(1, 3), 0, R(2, 3)], [R(1, 4), R(1, 4), R(1, 2)]]
    values = [R(1), R(-2, 3), R(5, 7)]
    reference = dp.solve_poisson(P, values)
    for shaped in (sp.Matrix([values]), sp.Matrix(values)):
        solution = dp.solve_poisson(P, shaped)
        assert solution.values == reference.values and solution.values.shape == (3, 1)
        assert solution.u == reference.u
        assert solution.asymptotic_variance == reference.asymptotic_variance
    with pytest.raises(dp.ChainError, match="vector of values"):
        dp.solve_poisson(P, sp.Matrix(3, 3, list(range(9))))
