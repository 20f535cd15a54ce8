"""The empirical tangent kernel of a finite network (theory.md §3, kernel integrand summed over
units): A^N(u, v) = (1/N) sum_i [S_i(u) S_i(v) + c_i^2 (G^w_i(u) . G^w_i(v) + G^b_i(u) G^b_i(v))],
trainable groups only, every word read from S = G = 0 with the trainer's recursion
(numerics.frozen.frozen_memory). Used at initialisation (its limit is A) and after training
(lazy training: it stays within O(N^{beta - 1}) of its initial value).
"""

from __future__ import annotations

import numpy as np

from numerics.frozen import frozen_memory


def empirical_kernel(config, c: np.ndarray, w: np.ndarray, b: np.ndarray,
                     inputs: np.ndarray) -> np.ndarray:
    """A^N on the given words for units c (N,), w (N, d), b (N,): inputs (n_words, L, d) ->
    (n_words, n_words)."""
    memory = frozen_memory(w, b, config, inputs)
    S = memory.S[:, -1]  # (P, N)
    n_units = S.shape[1]
    groups = config.network.trainable
    K = np.zeros((S.shape[0], S.shape[0]))
    if "c" in groups:
        K += S @ S.T
    c2 = c * c
    if "w" in groups:
        Gw = memory.Gw[:, -1]  # (P, N, d)
        for j in range(Gw.shape[2]):
            K += (Gw[:, :, j] * c2) @ Gw[:, :, j].T
    if "b" in groups:
        Gb = memory.Gb[:, -1]
        K += (Gb * c2) @ Gb.T
    return K / n_units
