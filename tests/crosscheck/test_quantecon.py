"""QuantEcon.py MarkovChain (GTH) vs numerics.chain.stationary_law (issue 6, item 3;
theory.md §1): stationary laws agree to 1e-12 (the issue's tolerance) on hypothesis-generated
chains, including nearly reducible ones (entries down to 1e-9) and word chains. Negative
controls: a law perturbed by 1e-11 (relative), and 20 power-iteration steps from the uniform
law, are rejected by the same tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from numerics import peer_markov_chains as xc
from numerics.chain import is_ergodic, stationary_law
from numerics.words import word_transition_matrix

pytestmark = pytest.mark.crosscheck


@st.composite
def float_ergodic_chains(draw, max_states: int = 8, zeros: bool = True):
    """m x m row-stochastic float matrices; weights in {0} U [1e-9, 10] (some tiny: nearly
    reducible), ergodic (judged on the pattern); zeros=False: all entries > 0."""
    m = draw(st.integers(2, max_states))
    small_or_large = (st.floats(1e-9, 1e-6), st.floats(0.01, 10.0))
    entry = st.one_of(st.just(0.0), *small_or_large) if zeros else st.one_of(*small_or_large)
    weights = np.array(draw(st.lists(st.lists(entry, min_size=m, max_size=m),
                                     min_size=m, max_size=m)))
    assume(np.all(weights.sum(axis=1) > 0))
    P = weights / weights.sum(axis=1, keepdims=True)
    assume(is_ergodic(P))
    return P


@settings(max_examples=40, deadline=None)
@given(float_ergodic_chains())
def test_stationary_law_equals_quantecon_gth(qe_lib, P):
    result = xc.compare_quantecon(P)
    assert result.passed, result
    assert result.tolerance == 1e-12


@settings(max_examples=8, deadline=None)
@given(float_ergodic_chains(max_states=4, zeros=False), st.integers(2, 4))
def test_word_chain_stationary_law_equals_quantecon(qe_lib, P, L):
    # P > 0: every word reachable, so the word chain is ergodic
    assert xc.compare_quantecon(word_transition_matrix(P, L)).passed


def _perturbed(P):
    pi = stationary_law(P)
    pi = pi * (1.0 + 1e-11 * np.arange(pi.shape[0]))
    return pi / pi.sum()


def _power_iteration(P):
    pi = np.full(P.shape[0], 1.0 / P.shape[0])
    for _ in range(20):
        pi = pi @ P
    return pi


def test_perturbed_or_unconverged_laws_are_rejected(qe_lib):
    P = np.array([[0.5, 0.5 - 1e-7, 1e-7], [0.3, 0.7, 0.0], [1e-6, 0.0, 1.0 - 1e-6]])
    assert xc.compare_quantecon(P).passed
    for wrong in (_perturbed, _power_iteration):
        result = xc.compare_quantecon(P, stationary=wrong)
        assert not result.passed and result.max_deviation > result.tolerance


def test_a_chain_with_two_stationary_laws_never_passes(qe_lib):
    """Two closed classes: QuantEcon finds two stationary laws and the comparison fails (a
    deviation of inf), even against one of those laws: a unique law is what is compared."""
    P = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.75, 0.0, 0.0],
                  [0.0, 0.0, 0.1, 0.9], [0.0, 0.0, 0.6, 0.4]])
    one_of_them = np.array([1.0 / 3.0, 2.0 / 3.0, 0.0, 0.0])  # pi P = pi on the first class
    np.testing.assert_allclose(one_of_them @ P, one_of_them, rtol=0, atol=1e-16)
    result = xc.compare_quantecon(P, stationary=lambda _: one_of_them)
    assert not result.passed and result.max_deviation == float("inf")
