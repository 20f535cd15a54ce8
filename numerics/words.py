"""The word chain of theory.md §4: past paths truncated to words of length L.

A word is ``(u_1, ..., u_L)``, **oldest symbol first**, so ``u_L`` is the most recent input x_0
and ``u_1`` is x_{-L+1}. Words are enumerated in lexicographic order, i.e. the index of a word
is its base-m numeral with the oldest symbol most significant. The word chain moves
``(u_1, ..., u_L) -> (u_2, ..., u_L, s)`` with probability ``P[u_L, s]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def enumerate_words(m: int, word_length: int) -> IntArray:
    """All m^L words, shape (m^L, L), oldest symbol first, in lexicographic order."""
    if m < 1 or word_length < 1:
        raise ValueError("need m >= 1 and word_length >= 1")
    grids = np.indices((m,) * word_length).reshape(word_length, -1).T
    return np.ascontiguousarray(grids, dtype=np.int64)


def word_index(words: IntArray, m: int) -> IntArray:
    """Index of each word (last axis = symbols, oldest first) in :func:`enumerate_words`."""
    words = np.asarray(words, dtype=np.int64)
    weights = m ** np.arange(words.shape[-1] - 1, -1, -1, dtype=np.int64)
    return words @ weights


def word_transition_matrix(P: FloatArray, word_length: int) -> FloatArray:
    """theory.md §4 word chain transition matrix, shape (m^L, m^L) (dense)."""
    P = np.asarray(P, dtype=float)
    m = P.shape[0]
    words = enumerate_words(m, word_length)
    n = words.shape[0]
    Q = np.zeros((n, n))
    shifted = (word_index(words[:, 1:], m) * m) if word_length > 1 else np.zeros(n, np.int64)
    for s in range(m):
        Q[np.arange(n), shifted + s] = P[words[:, -1], s]
    return Q


def word_stationary_law(pi: FloatArray, P: FloatArray, word_length: int) -> FloatArray:
    """pi_L(u) = pi(u_1) prod_{i<L} P(u_i, u_{i+1}), shape (m^L,) (theory.md §4)."""
    pi = np.asarray(pi, dtype=float)
    P = np.asarray(P, dtype=float)
    words = enumerate_words(P.shape[0], word_length)
    law = pi[words[:, 0]].copy()
    for i in range(word_length - 1):
        law *= P[words[:, i], words[:, i + 1]]
    return law


def path_word_indices(states: IntArray, m: int, word_length: int) -> IntArray:
    """Word index at each step k >= L-1 of state paths ``states`` (..., n).

    Returns shape (..., n - L + 1): entry j is the word (Z_j, ..., Z_{j+L-1}), i.e. the past
    of step k = j + L - 1 truncated to L symbols.
    """
    states = np.asarray(states, dtype=np.int64)
    n = states.shape[-1]
    if n < word_length:
        raise ValueError("path shorter than the word length")
    index = np.zeros(states.shape[:-1] + (n - word_length + 1,), dtype=np.int64)
    for i in range(word_length):
        index = index * m + states[..., i : n - word_length + 1 + i]
    return index


def word_label(index: int, m: int, word_length: int) -> str:
    """Word number ``index`` of :func:`enumerate_words` (m, L) as its symbols, oldest first,
    e.g. "0 2 1" (state indices from 0)."""
    return " ".join(str(int(s)) for s in enumerate_words(m, word_length)[index])
