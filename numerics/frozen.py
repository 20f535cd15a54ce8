"""The RNN recursion of theory.md §2 with given parameters, and the frozen network of §3.

Internal layout (chosen so every per-step operation is one broadcast NumPy expression):
a batch axis B (replicas, or input paths) and the unit axis N last; vectors in R^d carry their
component axis FIRST, e.g. w_t has shape (d, B or 1, N) and G^w has shape (d, B, N). The public
functions take and return the documented layout (units, then components), e.g. w (N, d).

The same :func:`memory_step` is used by the trainer (numerics.simulate) and by the frozen
network here, so the tangent finite-difference tests check the code that trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from numerics import generated
from numerics.activations import Activation, activation_functions

FloatArray = NDArray[np.float64]


def resolve_activation(config_or_activation: Any) -> Activation:
    """An Activation from an Activation, a name ("tanh", ...) or a Config (network.activation)."""
    if isinstance(config_or_activation, Activation):
        return config_or_activation
    if isinstance(config_or_activation, str):
        return activation_functions(config_or_activation)
    network = getattr(config_or_activation, "network", None)
    if network is not None:
        return activation_functions(network.activation)
    raise TypeError(f"cannot get an activation from {type(config_or_activation).__name__}")


def memory_step(
    activation: Activation,
    w_t: FloatArray,
    b: FloatArray,
    x: FloatArray,
    S_prev: FloatArray,
    Gw_prev: FloatArray | None,
    Gb_prev: FloatArray | None,
) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
    """One step of theory.md §2 (memory state and tangent memories):

        z_k = w . X_k + b S_{k-1},  S_k = sigma(z_k),
        G^w_k = sigma'(z_k) (X_k + b G^w_{k-1}),  G^b_k = sigma'(z_k) (S_{k-1} + b G^b_{k-1}).

    Shapes: w_t (d, B|1, N), b (B|1, N), x (B, d) = X_k per batch row, S_prev (B, N),
    Gw_prev (d, B, N), Gb_prev (B, N). Pass Gw_prev = Gb_prev = None to skip the tangents.
    Returns (S_k (B, N), G^w_k (d, B, N) | None, G^b_k (B, N) | None). The step is the
    generated numerics.generated.memory_tangent_step_<sigma> (activation.step) and
    tangent_w_step, printed from the derivation (derivations.tangents).
    """
    d = w_t.shape[0]
    wx = w_t[0] * x[:, 0, None]
    for j in range(1, d):
        wx = wx + w_t[j] * x[:, j, None]
    if Gw_prev is None or Gb_prev is None:
        return activation.sigma(wx + b * S_prev), None, None
    S, slope, Gb = activation.step(wx, b, S_prev, Gb_prev)
    Gw = generated.tangent_w_step(slope, b, x.T[:, :, None], Gw_prev)
    return S, Gw, Gb


SUM_BLOCK = 512  # output terms per partial sum (fixed: results must not depend on batching)


def output_terms(c: FloatArray, S: FloatArray, paired: bool = False) -> FloatArray:
    """The terms of sum_i c_i S_i, (B|1, N) -> (B, N), or (B, N/2) pair sums if ``paired``.

    ``paired`` (antisymmetric initialisation: unit i + N/2 is the copy of unit i with -c):
    the pair terms c_i S_i + c_{i+N/2} S_{i+N/2} are formed first, so the output is exactly 0
    whenever the pairs are exact mirror images (as at initialisation).
    """
    terms = c * S
    if paired:
        half = S.shape[-1] // 2
        terms = terms[..., :half] + terms[..., half:]
    return terms


def blocked_sum(terms: FloatArray) -> FloatArray:
    """sum over the last axis as ordered partial sums of SUM_BLOCK consecutive terms (each by
    NumPy's pairwise summation), added left to right: (B, n) -> (B,). The order depends only
    on n (not on the batch), so results are reproducible however replicas are batched. The
    fast trainer sums in an order of its own (numerics.fast_kernels.SUM_BLOCK terms in 8
    lanes), so the two backends agree to rounding, not bit for bit (tests/test_fast_backend.py
    bounds the difference).
    """
    n = terms.shape[-1]
    total = np.zeros(terms.shape[:-1])
    for start in range(0, n, SUM_BLOCK):
        total += terms[..., start : start + SUM_BLOCK].sum(axis=-1)
    return total


def network_output(c: FloatArray, S: FloatArray, beta: float, paired: bool = False) -> FloatArray:
    """f = N^-beta sum_i c_i S_i (theory.md §2), c and S (B|1, N) -> (B,).

    Summed by :func:`blocked_sum` of :func:`output_terms` (see ``paired`` there).
    """
    N = S.shape[-1]
    return blocked_sum(output_terms(c, S, paired)) * float(N) ** (-beta)


def _check_inputs(w: FloatArray, b: FloatArray, inputs: FloatArray) -> tuple[FloatArray, ...]:
    w = np.asarray(w, dtype=float)
    b = np.asarray(b, dtype=float)
    inputs = np.asarray(inputs, dtype=float)
    if w.ndim != 2 or b.shape != (w.shape[0],):
        raise ValueError(f"need w (N, d) and b (N,), got {w.shape} and {b.shape}")
    if inputs.ndim != 3 or inputs.shape[2] != w.shape[1]:
        raise ValueError(f"need inputs (P, K, d={w.shape[1]}), got {inputs.shape}")
    return w, b, inputs


@dataclass(frozen=True)
class FrozenMemory:
    """Memory states and tangents along input paths for frozen parameters (theory.md §2-§3).

    S (P, K, N); Gw (P, K, N, d); Gb (P, K, N): entry [p, k] is the value after reading
    inputs[p, 0..k] from S_{-1} = G_{-1} = 0.
    """

    S: FloatArray
    Gw: FloatArray
    Gb: FloatArray


def frozen_memory(
    w: FloatArray,
    b: FloatArray,
    config_or_activation: Any,
    inputs: FloatArray,
    *,
    last_only: bool = False,
) -> FrozenMemory:
    """Memory S and tangents G^w, G^b of theory.md §2 with theta frozen, along every path.

    w (N, d), b (N,), inputs (P, K, d) with inputs[p, k] = X_k of path p (oldest first).
    Memory O(P K N (d + 2)); with ``last_only`` only the values after the last input are kept
    (arrays with a step axis of length 1, so ``[:, -1]`` works either way), O(P N (d + 2)).
    """
    w, b, inputs = _check_inputs(w, b, inputs)
    activation = resolve_activation(config_or_activation)
    P, K, d = inputs.shape
    N = w.shape[0]
    w_t = w.T[:, None, :]
    b_row = b[None, :]
    S = np.zeros((P, N))
    Gw = np.zeros((d, P, N))
    Gb = np.zeros((P, N))
    kept = 1 if last_only else K
    out_S = np.empty((P, kept, N))
    out_Gw = np.empty((P, kept, N, d))
    out_Gb = np.empty((P, kept, N))
    for k in range(K):
        S, Gw, Gb = memory_step(activation, w_t, b_row, inputs[:, k, :], S, Gw, Gb)
        if not last_only or k == K - 1:
            slot = 0 if last_only else k
            out_S[:, slot] = S
            out_Gw[:, slot] = np.moveaxis(Gw, 0, -1)
            out_Gb[:, slot] = Gb
    return FrozenMemory(out_S, out_Gw, out_Gb)


def frozen_outputs(
    c: FloatArray,
    w: FloatArray,
    b: FloatArray,
    config_or_activation: Any,
    beta: float,
    inputs: FloatArray,
    *,
    paired: bool | None = None,
) -> FloatArray:
    """The frozen network of theory.md §3: f_k = N^-beta sum_i c_i S_i(theta; x_{<=k}).

    c (N,), w (N, d), b (N,), inputs (P, K, d) (inputs[p, k] = X_k of path p, oldest first),
    started from S_{-1} = 0. Returns (P, K). Memory O(P N), not O(P K N).
    ``paired`` as in :func:`network_output`; None -> config.network.antisymmetric if a Config
    was passed, else False.
    """
    w, b, inputs = _check_inputs(w, b, inputs)
    c = np.asarray(c, dtype=float)
    if c.shape != b.shape:
        raise ValueError(f"need c (N,), got {c.shape}")
    activation = resolve_activation(config_or_activation)
    if paired is None:
        network = getattr(config_or_activation, "network", None)
        paired = bool(network is not None and network.antisymmetric)
    P, K, _ = inputs.shape
    w_t = w.T[:, None, :]
    b_row = b[None, :]
    c_row = c[None, :]
    S = np.zeros((P, w.shape[0]))
    out = np.empty((P, K))
    for k in range(K):
        S, _, _ = memory_step(activation, w_t, b_row, inputs[:, k, :], S, None, None)
        out[:, k] = network_output(c_row, S, beta, paired)
    return out
