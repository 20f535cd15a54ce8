"""The empirical tangent kernel of a finite network (theory.md §3, kernel integrand summed over
units): A^N(u, v) = (1/N) sum_i [S_i(u) S_i(v) + c_i^2 (G^w_i(u) . G^w_i(v) + G^b_i(u) G^b_i(v))],
trainable groups only, every word read from S = G = 0 with the trainer's recursion
(numerics.frozen.frozen_memory). Used at initialisation (its limit is A) and after training
(lazy training: it stays within O(N^{beta - 1}) of its initial value).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from numerics.frozen import frozen_memory


def _unit_sum(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """sum over units of left[p, i] right[q, i], (P, N) x (P, N) -> (P, P), in a fixed order.

    Not a BLAS product: for these shapes (a few dozen words, thousands of units) OpenBLAS picks
    a different kernel with one thread than with two, and the results differed in the last bit
    (measured: the quick report's kernel-at-init errors, 1 vs 2 BLAS threads). NumPy's own
    einsum loop (optimize=False) sums in the same order however many threads BLAS has, so the
    report is bit-identical serially, threaded or on Dask workers (which run one BLAS thread)."""
    return np.einsum("pi,qi->pq", left, right, optimize=False)


def empirical_kernel(config, c: np.ndarray, w: np.ndarray, b: np.ndarray,
                     inputs: np.ndarray, groups: Sequence[str] | None = None) -> np.ndarray:
    """A^N on the given words for units c (N,), w (N, d), b (N,): inputs (n_words, L, d) ->
    (n_words, n_words). ``groups``: the terms summed (default: the config's trainable groups;
    the lazy-training check's control sums all three)."""
    memory = frozen_memory(w, b, config, inputs)
    S = memory.S[:, -1]  # (P, N)
    n_units = S.shape[1]
    groups = config.network.trainable if groups is None else tuple(groups)
    K = np.zeros((S.shape[0], S.shape[0]))
    if "c" in groups:
        K += _unit_sum(S, S)
    c2 = c * c
    if "w" in groups:
        Gw = memory.Gw[:, -1]  # (P, N, d)
        for j in range(Gw.shape[2]):
            K += _unit_sum(Gw[:, :, j] * c2, Gw[:, :, j])
    if "b" in groups:
        Gb = memory.Gb[:, -1]
        K += _unit_sum(Gb * c2, Gb)
    return K / n_units
