"""The word chain of theory.md §4, exactly (SymPy Rationals for a rational base chain).

A word is ``(u_1, ..., u_L)``, **oldest symbol first** (``u_L`` is the most recent input x_0),
enumerated in lexicographic order exactly as :mod:`numerics.words` does: the index of a word is
its base-m numeral with the oldest symbol most significant. The word chain moves
``(u_1, ..., u_L) -> (u_2, ..., u_L, s)`` with probability ``P[u_L, s]``, and its stationary
law is pi_L(u) = pi(u_1) prod_{i<L} P(u_i, u_{i+1}).

Shapes: base P (m, m); words m^L tuples of length L; word transition matrix (m^L, m^L);
pi_L (1, m^L).
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from derivations.poisson_exact import ChainError, PoissonSolution, as_exact_matrix, solve_poisson
from derivations.poisson_exact import stationary_law as exact_stationary_law


def enumerate_words(m: int, word_length: int) -> list[tuple[int, ...]]:
    """All m^L words, oldest symbol first, lexicographic (same order as numerics.words)."""
    if m < 1 or word_length < 1:
        raise ChainError("need m >= 1 states and word length L >= 1")
    return list(itertools.product(range(m), repeat=word_length))


def word_index(word: tuple[int, ...], m: int) -> int:
    """Index of ``word`` in :func:`enumerate_words` (base-m numeral, oldest symbol first)."""
    index = 0
    for symbol in word:
        index = index * m + symbol
    return index


def word_transition_matrix(P: Any, word_length: int) -> sp.ImmutableMatrix:
    """theory.md §4 word chain transition matrix, exact, shape (m^L, m^L).

    Q[u, v] = P[u_L, v_L] if v = (u_2, ..., u_L, v_L), else 0.
    """
    P = as_exact_matrix(P)
    m = P.rows
    words = enumerate_words(m, word_length)
    n = len(words)
    Q = sp.zeros(n, n)
    for row, word in enumerate(words):
        for s in range(m):
            Q[row, word_index(word[1:] + (s,), m)] = P[word[-1], s]
    return sp.ImmutableMatrix(Q)


def word_stationary_law(P: Any, word_length: int, pi: Any | None = None) -> sp.ImmutableMatrix:
    """theory.md §4, pi_L(u) = pi(u_1) prod_{i<L} P(u_i, u_{i+1}), exact, shape (1, m^L).

    pi defaults to the exact stationary law of P (derivations.poisson_exact.stationary_law).
    """
    P = as_exact_matrix(P)
    pi = exact_stationary_law(P) if pi is None else as_exact_matrix(pi)
    words = enumerate_words(P.rows, word_length)
    law = []
    for word in words:
        weight = pi[0, word[0]]
        for a, b in itertools.pairwise(word):
            weight *= P[a, b]
        law.append(weight)
    return sp.ImmutableMatrix([law])


def solve_word_poisson(P: Any, word_length: int, F_words: Any) -> PoissonSolution:
    """theory.md §5 on the word chain of length L: exact Poisson solution for F on words.

    F_words: m^L values in :func:`enumerate_words` order.
    """
    return solve_poisson(word_transition_matrix(P, word_length), F_words)
