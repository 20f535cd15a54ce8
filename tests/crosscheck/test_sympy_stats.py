"""sympy.stats.DiscreteMarkovChain vs derivations.poisson_exact (issue 6, item 2; theory.md §1, §5).

SymPy's stationary_distribution() (linsolve on (P - I)^T with the FIRST equation replaced by
the normalisation) and, for an ergodic chain, fundamental_matrix() = (I - P + W)^{-1} with W
the matrix whose rows are all pi (sympy/stats/stochastic_process_types.py) are computed by a
code path independent of ours (last equation replaced, LU solve). They must agree EXACTLY
(Rational equality) on hypothesis-generated small rational ergodic chains and their word
chains. Negative controls: our Z built with the uniform law instead of pi, and pi of the
transposed chain, are rejected (for chains whose pi is not uniform).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from derivations import poisson_exact as poisson
from derivations.word_chain import word_transition_matrix
from numerics import peer_markov_chains as xc

pytestmark = pytest.mark.crosscheck
R = sp.Rational


def _is_primitive(weights: list[list[int]]) -> bool:
    """Irreducible and aperiodic <=> pattern^k > 0 for k = m^2 - 2m + 2 (Wielandt's bound);
    independent of the code under test (boolean matrix powers)."""
    A = (np.array(weights) > 0).astype(int)
    m = A.shape[0]
    power = np.eye(m, dtype=int)
    for _ in range(m * m - 2 * m + 2):
        power = ((power @ A) > 0).astype(int)
    return bool(power.all())


@st.composite
def rational_ergodic_chains(draw, max_states: int = 4):
    """m x m stochastic matrices with entries a / (row sum), a in 0..5, primitive."""
    m = draw(st.integers(2, max_states))
    weights = draw(st.lists(
        st.lists(st.integers(0, 5), min_size=m, max_size=m).filter(lambda r: sum(r) > 0),
        min_size=m, max_size=m))
    assume(_is_primitive(weights))
    return sp.ImmutableMatrix([[R(w, sum(row)) for w in row] for row in weights])


def _uniform_fundamental(P):
    m = P.shape[0]
    return (sp.eye(m) - P + sp.ones(m, m) / m).inv()


@settings(max_examples=25, deadline=None)
@given(rational_ergodic_chains())
def test_stationary_and_fundamental_equal_sympy_stats_exactly(P):
    results = xc.compare_sympy_chain(P)
    assert [r.passed for r in results] == [True, True]
    assert all(r.max_deviation == 0.0 and r.tolerance == 0.0 for r in results)
    # SymPy's objects themselves are exact (no Floats): the equality is over Q
    stats_chain = sp.stats.DiscreteMarkovChain("Z", state_space=list(range(P.shape[0])),
                                               trans_probs=P)
    assert all(isinstance(v, sp.Rational) for v in stats_chain.fundamental_matrix())


@settings(max_examples=6, deadline=None)
@given(rational_ergodic_chains(max_states=3))
def test_word_chain_equals_sympy_stats_exactly(P):
    assume(all(v > 0 for v in P))  # all words reachable: the word chain is ergodic
    results = xc.compare_sympy_chain(word_transition_matrix(P, 2), label=" (word chain)")
    assert all(r.passed for r in results)


@settings(max_examples=15, deadline=None)
@given(rational_ergodic_chains())
def test_wrong_pi_in_fundamental_matrix_is_rejected(P):
    pi = poisson.stationary_law(P)
    assume(any(v != R(1, P.shape[0]) for v in pi))
    results = xc.compare_sympy_chain(P, fundamental=_uniform_fundamental)
    assert results[0].passed and not results[1].passed
    assert results[1].max_deviation > 0.0


def test_transposed_chain_stationary_law_is_rejected():
    P = sp.ImmutableMatrix([[R(1, 5), R(1, 2), R(3, 10)], [R(1, 2), R(1, 4), R(1, 4)],
                            [R(3, 10), R(3, 10), R(2, 5)]])
    # P^T is not stochastic here; its normalised rows give a different chain and law
    def wrong(Pm):
        rows = [[v / sum(Pm.T.row(i)) for v in Pm.T.row(i)] for i in range(Pm.rows)]
        return poisson.stationary_law(rows)

    results = xc.compare_sympy_chain(P, stationary=wrong)
    assert not results[0].passed and results[1].passed


def test_a_matrix_of_another_shape_is_rejected_not_compared_entrywise():
    """Our fundamental matrix of the wrong shape (the word chain's for the base chain's) fails
    with an infinite deviation, never a crash or an entrywise comparison of what overlaps."""
    P = sp.ImmutableMatrix([[R(1, 5), R(1, 2), R(3, 10)], [R(1, 2), R(1, 4), R(1, 4)],
                            [R(3, 10), R(3, 10), R(2, 5)]])
    words = poisson.fundamental_matrix(word_transition_matrix(P, 2))
    results = xc.compare_sympy_chain(P, fundamental=lambda _: words)
    assert results[0].passed and not results[1].passed
    assert results[1].max_deviation == float("inf")
