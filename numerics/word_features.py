"""The memory and tangent recursion of theory.md §2-§3 on every word of a length, by the prefix
tree (numerics.kernel's features).

For a word u = (u_1, ..., u_L) (oldest symbol first, :mod:`numerics.words` order) the memory
and tangent fixed points of theory.md §3 are approximated by running the recursion from
S = G^w = G^b = 0 before the oldest symbol (truncation O(rho^L), theory.md §4). A word of length
l+1 extends a prefix of length l (index p*m + s, the lexicographic order of
:func:`numerics.words.enumerate_words`), so level l of the tree holds every word of length l.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from numerics import generated
from numerics.activations import Activation

FloatArray = NDArray[np.float64]


def word_features_by_level(
    word_length: int, states: FloatArray, w: FloatArray, b: FloatArray, act: Activation,
    levels: tuple[int, ...] = (),
) -> dict[int, tuple[FloatArray, FloatArray, FloatArray]]:
    """As :func:`word_features` with G^w component-first, shape (d, m^l, n) (faster layout),
    for l = word_length and each of ``levels`` (shorter lengths): level l of the prefix tree,
    run from S = G = 0 before the oldest symbol, is exactly the features of the words of length
    l, so the shorter lengths come with the longest at no extra cost."""
    m, d = states.shape
    n = b.shape[0]
    proj = w @ states.T  # (n, m): w . xi_s
    S = np.zeros((1, n))
    Gw = np.zeros((d, 1, n))
    Gb = np.zeros((1, n))
    out = {}
    for level in range(1, word_length + 1):
        p = S.shape[0] * m
        # (p_old, m, n): generated step with wx = w . xi_s, s_prev and gb_prev of the prefix
        S_next, s1, Gb = act.step(proj.T[None, :, :], b, S[:, None, :], Gb[:, None, :])
        # all d components in one broadcast call: (d, p_old, m, n), reshaped without a copy
        Gw = generated.tangent_w_step(s1, b, states.T[:, None, :, None],
                                      Gw[:, :, None, :]).reshape(d, p, n)
        Gb = Gb.reshape(p, n)
        S = S_next.reshape(p, n)
        if level in levels or level == word_length:
            out[level] = (S, Gw, Gb)
    return out


def word_features(
    word_length: int, states: FloatArray, w: FloatArray, b: FloatArray, act: Activation
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """theory.md §3 memory/tangent recursion on every word of length L, via the prefix tree.

    states (m, d); nodes w (n, d), b (n,). Returns S (m^L, n), G^w (m^L, n, d), G^b (m^L, n),
    rows in lexicographic word order (oldest symbol most significant).
    """
    S, Gw, Gb = word_features_by_level(word_length, states, w, b, act)[word_length]
    return S, np.moveaxis(Gw, 0, -1), Gb
