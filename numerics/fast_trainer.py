"""Fused, compiled online SGD (backend "fast"): the loop of numerics.trainer in numba.

Same contract as numerics.trainer.train_reference (theory.md §2). numerics.simulate builds the
inputs (initialisation, chain path, targets and noise are drawn by the same code for both
backends), so only the training loop differs. Kernels: numerics.fast_kernels (imported on
first use, so the NumPy backend never loads numba).

One pass over the units per step. For unit i at step k the pass (i) applies the pending SGD
update of step k-1 (its coefficient coef_{k-1} = eta N^-beta (Y_{k-1} - f_{k-1}) is known once
the previous pass has finished the output f_{k-1}), from c_{k-1}, S_{k-1}, G_{k-1}:

    w += (coef c) G^w,  b += (coef c) G^b,  c += coef S          (c_{k-1} on the right)

then (ii) the memory step of theory.md §2 with theta_k, in the operation order of
numerics.frozen.memory_step:

    z = w . X_k + b S_{k-1},  S_k = sigma(z),
    G^w_k = sigma'(z) (X_k + b G^w_{k-1}),  G^b_k = sigma'(z) (S_{k-1} + b G^b_{k-1}),

and (iii) adds the output term c_k S_k. A unit's values stay in registers between its reads
and writes: one sweep over the state arrays per step instead of ~20 NumPy passes.

Output sum: f_k = N^-beta (sum of the terms): within blocks of fast_kernels.SUM_BLOCK
consecutive terms in 8 interleaved lanes (fast_kernels.lane_sum), the block sums then added
left to right. The order depends
on N only (not on R, on which replicas run together, or on the thread count): results are
reproducible and batching invariant. With antisymmetric pairing (unit i + N/2 mirrors unit i)
a term is the pair sum c_i S_i + c_{i+N/2} S_{i+N/2}, exactly 0 for exact mirrors (f_0 = 0).
The reference sums by NumPy (pairwise, 512-term blocks) and evaluates the activations by
NumPy/SciPy, so the two backends agree to rounding; tests/test_fast_backend.py derives and
checks the bound.

Parallelism (numba prange, all threads): over replicas, each thread running whole segments
of steps for its replicas (no barrier per step); for fewer replicas than threads and a large
N, over (replica, block) pairs within each step (see :func:`choose_kernel`). Both kernels
give the same bits. Layout: w, G^w are stored (R, d, N), so every loop is unit-stride and
vectorises (tanh and sigmoid use a branch-free tanh, numerics.fast_activations.tanh_kernel).

Steps run in segments ending at the snapshot steps and every
~SEGMENT_UNIT_STEPS unit-steps (progress bar); a segment ends by applying its pending update,
so the parameters are theta_k there.
"""

from __future__ import annotations

from contextlib import nullcontext
from types import ModuleType

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from derivations.errors import InputError
from numerics.progress import advance_to, slow_start_notice
from numerics.trainer import Parameters, TrainingInputs

FloatArray = NDArray[np.float64]

SEGMENT_UNIT_STEPS = 1 << 24  # R N steps per compiled call between progress-bar updates
BLOCK_KERNEL_FROM = 1 << 17  # R N from which a lone replica is split over the threads per step
# Said on stderr when the first compiled call of a process takes over 2 s: numba compiling
# (about a minute on 2 cores); later runs load the kernels from numba's disk cache in ~1 s.
COMPILE_NOTICE = "compiling the fast kernels (first run only; cached for later runs)"
# Activations without a hand-written twin (numerics.fast_activations) are compiled in every
# process: their kernels are built at run time around the generated functions.
GENERATED_NOTICE = "compiling the fast kernels for {name} (generated activation; once per process)"


class FastBackendError(InputError):
    """The "fast" backend cannot run (numba missing or broken, or no kernel for the input)."""


def load_kernels() -> ModuleType:
    """numerics.fast_kernels (imports numba); a one-line FastBackendError if that fails."""
    try:
        import numerics.fast_kernels as kernels
    except Exception as error:  # ImportError, or numba refusing the installed NumPy
        raise FastBackendError(
            f"run.backend: backend 'fast' needs numba ({type(error).__name__}: {error}); "
            "install it (pip install 'numba>=0.60') or use --backend numpy"
        ) from None
    return kernels


def choose_kernel(R: int, N: int, threads: int) -> str:
    """'replica' (prange over replicas, no barrier per step) unless a single replica would
    leave threads idle on a large problem (R < threads and R N >= BLOCK_KERNEL_FROM): then
    'block' (prange over (replica, block) with a barrier per step; its per-step cost grows
    when the machine is oversubscribed, hence the high threshold)."""
    if R < threads and R * N >= BLOCK_KERNEL_FROM:
        return "block"
    return "replica"


def train_fast(
    inputs: TrainingInputs, bar: tqdm, kernel: str | None = None
) -> tuple[FloatArray, tuple[Parameters, ...]]:
    """Online SGD of theory.md §2, fused and compiled; same contract as
    numerics.trainer.train_reference: returns f (R, steps) and the parameters theta_k for k in
    snapshot_steps (k = steps: final). ``kernel`` forces 'replica' | 'block' (tests; default
    :func:`choose_kernel`). Memory O(R N d)."""
    kernels = load_kernels()
    import numba

    R, steps, d = inputs.X.shape
    N = inputs.theta0.c.shape[1]
    name = inputs.activation.name
    try:
        compiled, code = kernels.kernels_for(name)
    except ValueError as error:
        raise FastBackendError(f"network.activation: {error}; use --backend numpy") from None
    train_c, train_w, train_b = inputs.train
    flags = np.array([train_c, train_w, train_b, train_w or train_b], dtype=np.bool_)
    scale = float(N) ** (-inputs.beta)  # as in numerics.frozen.network_output
    rate = inputs.eta * scale  # as in numerics.trainer: coef = (eta N^-beta) (Y_k - f_k)
    c = np.array(inputs.theta0.c, dtype=np.float64, order="C")  # (R, N)
    w = np.array(np.swapaxes(inputs.theta0.w, 1, 2), dtype=np.float64, order="C")  # (R, d, N)
    b = np.array(inputs.theta0.b, dtype=np.float64, order="C")  # (R, N)
    S = np.zeros((R, N))
    Gw = np.zeros((R, d, N))
    Gb = np.zeros((R, N))
    X = np.ascontiguousarray(inputs.X, dtype=np.float64)
    y = np.ascontiguousarray(inputs.y, dtype=np.float64)
    f = np.empty((R, steps))
    coef = np.zeros(R)
    pending = np.zeros(R, dtype=np.bool_)
    run = compiled[kernel or choose_kernel(R, N, numba.get_num_threads())]
    paired = bool(inputs.paired)

    snapshots: list[Parameters] = []
    wanted = set(inputs.snapshot_steps)
    segment = max(1, SEGMENT_UNIT_STEPS // (R * N))
    k = 0
    for stop in sorted(wanted | {steps}):
        while k < stop:
            last = min(stop, k + segment)
            first_call = not run.signatures  # nothing compiled or loaded in this process yet
            notice = COMPILE_NOTICE if code >= 0 else GENERATED_NOTICE.format(name=name)
            with slow_start_notice(notice) if first_call else nullcontext():
                run(k, last, X, y, c, w, b, S, Gw, Gb, coef, pending, f, code, flags, paired,
                    scale, rate)
            k = last
            advance_to(bar, k)
        if stop in wanted:
            w_units = np.array(np.swapaxes(w, 1, 2), order="C")  # (R, N, d), a copy
            snapshots.append(Parameters(c.copy(), w_units, b.copy()))
    advance_to(bar, steps)
    return f, tuple(snapshots)
