"""Cache-blocked online SGD (backend "fast"): the loop of numerics.trainer, bit for bit.

The units are split into chunks small enough for the per-core cache; each step makes ONE pass
over the chunks, and for each chunk (i) applies the update of step k-1 (its coefficient
eta N^-beta e_{k-1} is known once the previous pass has finished f_{k-1}), (ii) computes the
memory, tangents and output terms of step k in place. Every elementwise operation is the one
of numerics.frozen.memory_step / numerics.trainer.train_reference in the same order (only
commuted operands, which is exact), and the output is summed in the same SUM_BLOCK partial
sums (chunks start at multiples of SUM_BLOCK output terms), so the results are identical to
the reference. With antisymmetric pairing a chunk holds the pair terms [a, b) as the units
[a, b) followed by their mirrors [N/2 + a, N/2 + b).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from numerics.frozen import SUM_BLOCK
from numerics.progress import ProgressBar
from numerics.trainer import Parameters, TrainingInputs

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TARGET_CHUNK_ELEMENTS = 1 << 14  # R x units per chunk: 128 KiB per float array (below
# NumPy's 256 KiB temporary-elision threshold, whose stack check is slow, and below mmap sizes)


@dataclass
class _Chunk:
    """Units ``cols`` (public indices): c, b, S, Gb and buffers (R, n); w, Gw (d, R, n)."""

    cols: IntArray
    c: FloatArray
    w: FloatArray
    b: FloatArray
    S: FloatArray
    Gw: FloatArray
    Gb: FloatArray
    z: FloatArray = field(init=False)
    tmp: FloatArray = field(init=False)
    cc: FloatArray = field(init=False)
    tmp_d: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.z = np.empty_like(self.c)
        self.tmp = np.empty_like(self.c)
        self.cc = np.empty_like(self.c)
        self.tmp_d = np.empty_like(self.w)


def _chunk_columns(N: int, R: int, paired: bool) -> list[IntArray]:
    """Unit indices of each chunk; chunk boundaries at multiples of SUM_BLOCK output terms."""
    per_term = 2 if paired else 1
    n_terms = N // per_term
    blocks = max(1, TARGET_CHUNK_ELEMENTS // (R * per_term * SUM_BLOCK))
    size = blocks * SUM_BLOCK
    chunks = []
    for a in range(0, n_terms, size):
        b = min(a + size, n_terms)
        cols = np.arange(a, b)
        chunks.append(np.concatenate([cols, cols + n_terms]) if paired else cols)
    return chunks


def train_fast(
    inputs: TrainingInputs, bar: ProgressBar
) -> tuple[FloatArray, tuple[Parameters, ...]]:
    """Same contract and same numbers as numerics.trainer.train_reference (MODEL.md §2)."""
    R, steps, d = inputs.X.shape
    N = inputs.theta0.c.shape[1]
    act = inputs.activation
    train_c, train_w, train_b = inputs.train
    tangents = train_w or train_b
    paired = inputs.paired
    scale = float(N) ** (-inputs.beta)
    w_t = np.moveaxis(inputs.theta0.w, -1, 0)  # (d, R, N) view
    chunks = []
    for cols in _chunk_columns(N, R, paired):
        n = cols.size
        chunks.append(
            _Chunk(
                cols=cols,
                c=np.ascontiguousarray(inputs.theta0.c[:, cols]),
                w=np.ascontiguousarray(w_t[:, :, cols]),
                b=np.ascontiguousarray(inputs.theta0.b[:, cols]),
                S=np.zeros((R, n)),
                Gw=np.zeros((d, R, n)),
                Gb=np.zeros((R, n)),
            )
        )
    f = np.empty((R, steps))
    snapshots: list[Parameters] = []
    pending = list(inputs.snapshot_steps)
    snap: list[FloatArray] = []

    def start_snapshot() -> None:
        snap[:] = [np.empty((R, N)), np.empty((d, R, N)), np.empty((R, N))]

    def record(ch: _Chunk) -> None:
        snap[0][:, ch.cols] = ch.c
        snap[1][:, :, ch.cols] = ch.w
        snap[2][:, ch.cols] = ch.b

    def finish_snapshot() -> None:
        snapshots.append(Parameters(snap[0], np.ascontiguousarray(np.moveaxis(snap[1], 0, -1)),
                                    snap[2]))

    def apply_update(ch: _Chunk, coef: FloatArray) -> None:
        """theta_k = theta_{k-1} + coef (S, c G^w, c G^b) with the step-(k-1) S, G, c."""
        if tangents:
            np.multiply(ch.c, coef, out=ch.cc)
        if train_w:
            np.multiply(ch.Gw, ch.cc, out=ch.tmp_d)
            ch.w += ch.tmp_d
        if train_b:
            np.multiply(ch.Gb, ch.cc, out=ch.tmp)
            ch.b += ch.tmp
        if train_c:
            np.multiply(ch.S, coef, out=ch.tmp)
            ch.c += ch.tmp

    coef: FloatArray | None = None
    for k in range(steps):
        taking = bool(pending) and pending[0] == k
        if taking:
            start_snapshot()
        x = inputs.X[:, k]  # (R, d)
        x_cols = [x[:, j, None] for j in range(d)]
        x_t = x.T[:, :, None]
        f_acc = np.zeros(R)
        for ch in chunks:
            if coef is not None:
                apply_update(ch, coef)
            if taking:
                record(ch)
            # memory_step (MODEL.md §2): z = w . X_k + b S_{k-1}
            np.multiply(ch.w[0], x_cols[0], out=ch.z)
            for j in range(1, d):
                np.multiply(ch.w[j], x_cols[j], out=ch.tmp)
                ch.z += ch.tmp
            np.multiply(ch.b, ch.S, out=ch.tmp)
            ch.z += ch.tmp
            if tangents:
                slope = act.d1(ch.z)
                ch.Gb *= ch.b  # G^b = sigma'(z) (S_{k-1} + b G^b_{k-1})
                ch.Gb += ch.S
                ch.Gb *= slope
                ch.Gw *= ch.b  # G^w = sigma'(z) (X_k + b G^w_{k-1})
                ch.Gw += x_t
                ch.Gw *= slope
            ch.S[...] = act.sigma(ch.z)  # copy: sigma may return its argument (linear)
            np.multiply(ch.c, ch.S, out=ch.tmp)
            if paired:
                half = ch.cols.size // 2
                terms = ch.tmp[:, :half] + ch.tmp[:, half:]
            else:
                terms = ch.tmp
            for start in range(0, terms.shape[1], SUM_BLOCK):
                f_acc += terms[:, start : start + SUM_BLOCK].sum(axis=-1)
        if taking:
            finish_snapshot()
            pending.pop(0)
        f_k = f_acc * scale
        f[:, k] = f_k
        coef = (inputs.eta * scale) * (inputs.y[:, k] - f_k)[:, None]
        if not k & 63:
            bar.update(k)
    if pending:  # the final parameters theta_steps
        start_snapshot()
        for ch in chunks:
            if coef is not None:
                apply_update(ch, coef)
            record(ch)
        finish_snapshot()
    bar.update(steps)
    return f, tuple(snapshots)
