"""The online SGD loop of theory.md §2 (reference NumPy implementation).

Input: a :class:`TrainingInputs` (the data path, targets, theta_0, rates); output: the outputs
f_k and the requested parameter snapshots. numerics.simulate builds the inputs from a Config;
numerics.fast_trainer is a fused numba implementation of the same loop that agrees with this
one to rounding (tests/test_fast_backend.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from numerics.activations import Activation
from numerics.frozen import memory_step, network_output
from numerics.progress import advance_to

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Parameters:
    """Network parameters of R replicas: c (R, N), w (R, N, d), b (R, N) (theory.md §2)."""

    c: FloatArray
    w: FloatArray
    b: FloatArray


@dataclass(frozen=True)
class TrainingInputs:
    """Everything the SGD loop needs. X (R, steps, d) inputs X_k; y (R, steps) targets Y_k;
    theta0 the initial parameters; eta = alpha N^(2 beta - 2); train = which of (c, w, b) move;
    paired = antisymmetric pairing (unit i + N/2 mirrors unit i); snapshot_steps sorted,
    within 0..steps."""

    activation: Activation
    X: FloatArray
    y: FloatArray
    theta0: Parameters
    beta: float
    eta: float
    train: tuple[bool, bool, bool]
    paired: bool
    snapshot_steps: tuple[int, ...]


def train_reference(
    inputs: TrainingInputs, bar: tqdm
) -> tuple[FloatArray, tuple[Parameters, ...]]:
    """Online SGD of theory.md §2, step k = 0..steps-1 from theta_k:

        S_k, G^w_k, G^b_k = memory_step(theta_k, X_k, S_{k-1}, G_{k-1}),
        f_k = N^-beta sum_i c_i S_i,  e_k = Y_k - f_k,
        c += eta N^-beta e_k S_k,  w += eta N^-beta e_k c G^w_k,  b += eta N^-beta e_k c G^b_k
        (all trainable groups from theta_k simultaneously; frozen groups stay).

    Returns f (R, steps) and the parameters theta_k for k in snapshot_steps (k = steps: final).
    Memory O(R N d).
    """
    R, steps, d = inputs.X.shape
    N = inputs.theta0.c.shape[1]
    train_c, train_w, train_b = inputs.train
    tangents = train_w or train_b
    scale = float(N) ** (-inputs.beta)
    c = inputs.theta0.c.copy()
    w_t = np.ascontiguousarray(np.moveaxis(inputs.theta0.w, -1, 0))  # (d, R, N)
    b = inputs.theta0.b.copy()
    S = np.zeros((R, N))
    Gw = np.zeros((d, R, N)) if tangents else None
    Gb = np.zeros((R, N)) if tangents else None
    f = np.empty((R, steps))
    snapshots: list[Parameters] = []
    pending = list(inputs.snapshot_steps)

    def snapshot() -> None:
        snapshots.append(Parameters(c.copy(), np.moveaxis(w_t, 0, -1).copy(), b.copy()))

    for k in range(steps):
        if pending and pending[0] == k:
            snapshot()
            pending.pop(0)
        S_prev = S
        S, Gw, Gb = memory_step(inputs.activation, w_t, b, inputs.X[:, k], S_prev, Gw, Gb)
        f_k = network_output(c, S, inputs.beta, inputs.paired)
        f[:, k] = f_k
        coef = (inputs.eta * scale) * (inputs.y[:, k] - f_k)[:, None]  # (R, 1)
        coef_c = coef * c  # c_k: every group moves from theta_k
        if train_w:
            w_t = w_t + coef_c[None] * Gw
        if train_b:
            b = b + coef_c * Gb
        if train_c:
            c = c + coef * S
        if not k & 63:
            advance_to(bar, k)
    if pending:
        snapshot()
    advance_to(bar, steps)
    return f, tuple(snapshots)
