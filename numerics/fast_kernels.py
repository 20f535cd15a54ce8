"""numba kernels of the fast backend (numerics.fast_trainer; imported lazily, needs numba).

The fused step of theory.md §2 (scheme in numerics.fast_trainer), for the units of one output
block of SUM_BLOCK terms at a time, in three loops over the block whose data stay in L1:
(A) pending update of step k-1 and z_k = w . X_k + b S_{k-1} into a buffer; (B) sigma(z) and
sigma'(z) into buffers by numerics.fast_activations.activate_block (vectorised twins without
libm calls for tanh, sigmoid, erf, linear, compiled alone with FMA contraction; any other
activation through the generated functions, :func:`kernels_for`); (C) tangents G^w, G^b,
the memory S_k and the block's output-term sum. For d = 1 the loops of (A) and of (C) are
fused (prepare_d1, finish_d1), with the same arithmetic.

Arrays: c, b, S, Gb (R, N); w, Gw (R, d, N) (component-major: one contiguous row per
component, so every loop over units is unit-stride); X (R, steps, d); y, f (R, steps); coef (R,);
pending (R,) bool; flags = (train c, train w, train b, tangents) bool (4,). Compiled on first
call (error_model "numpy": no zero-division checks, which block vectorisation; no division
here can have a zero divisor), cached on disk (cache=True).
"""

from __future__ import annotations

import types
from functools import lru_cache

import numpy as np
from numba import njit, prange

from numerics.fast_activations import (
    INLINE,
    JIT,
    TWIN_CODES,
    activate_block,
    generated_activate_block,
)

SUM_BLOCK = 256  # output terms per partial sum (fixed: results must not depend on batching)

@njit(**INLINE)
def update_block(first, n, c, w, b, S, Gw, Gb, coef, flags, cc):
    """SGD update of units first..first+n-1 of one replica (c, b, S, Gb (N,); w, Gw (d, N))
    from theta_{k-1}, S_{k-1}, G_{k-1} (theory.md §2), the arithmetic of numerics.trainer:
    cc = coef c; w += cc G^w; b += cc G^b; c += coef S (all with c_{k-1}). cc: scratch (n,).
    One loop per array (vectorised)."""
    for j in range(n):
        cc[j] = coef * c[first + j]
    if flags[1]:
        for m in range(w.shape[0]):
            wm = w[m]
            Gwm = Gw[m]
            for j in range(n):
                wm[first + j] = wm[first + j] + cc[j] * Gwm[first + j]
    if flags[2]:
        for j in range(n):
            b[first + j] = b[first + j] + cc[j] * Gb[first + j]
    if flags[0]:
        for j in range(n):
            c[first + j] = c[first + j] + coef * S[first + j]


@njit(**INLINE)
def preactivation(first, n, offset, x, w, b, S, z):
    """z[offset + j] = w . X_k + b S_{k-1} for unit first + j (theory.md §2), in the order of
    numerics.frozen.memory_step: ((w_1 x_1 + w_2 x_2) + ...) + b S."""
    w0 = w[0]
    for j in range(n):
        z[offset + j] = w0[first + j] * x[0]
    for m in range(1, w.shape[0]):
        wm = w[m]
        xm = x[m]
        for j in range(n):
            z[offset + j] = z[offset + j] + wm[first + j] * xm
    for j in range(n):
        z[offset + j] = z[offset + j] + b[first + j] * S[first + j]


@njit(**INLINE)
def finish(first, n, offset, x, b, S, Gw, Gb, tangents, s, slope):
    """Units first..first+n-1 of one replica: G^w = sigma'(z)(X_k + b G^w_{k-1}),
    G^b = sigma'(z)(S_{k-1} + b G^b_{k-1}) (if tangents), then S_k = s (theory.md §2)."""
    if tangents:
        for m in range(Gw.shape[0]):
            Gwm = Gw[m]
            xm = x[m]
            for j in range(n):
                Gwm[first + j] = slope[offset + j] * (xm + b[first + j] * Gwm[first + j])
        for j in range(n):
            Gb[first + j] = slope[offset + j] * (S[first + j] + b[first + j] * Gb[first + j])
    for j in range(n):
        S[first + j] = s[offset + j]


@njit(**INLINE)
def prepare_d1(first, n, offset, x0, c, w0, b, S, Gw0, Gb, coef, pending, flags, z):
    """d = 1 (w0, Gw0, b, S, ... (N,), x0 = X_k): :func:`update_block` then
    :func:`preactivation` with the same arithmetic, in one loop when every group trains."""
    train_c, train_w, train_b = flags[0], flags[1], flags[2]
    if pending and train_c and train_w and train_b:
        for j in range(n):
            i = first + j
            ci = c[i]
            cc = coef * ci
            wi = w0[i] + cc * Gw0[i]
            bi = b[i] + cc * Gb[i]
            si = S[i]
            w0[i] = wi
            b[i] = bi
            c[i] = ci + coef * si
            z[offset + j] = wi * x0 + bi * si
    else:
        if pending:
            update_block_d1(first, n, c, w0, b, S, Gw0, Gb, coef, flags)
        for j in range(n):
            i = first + j
            z[offset + j] = w0[i] * x0 + b[i] * S[i]


@njit(**INLINE)
def update_block_d1(first, n, c, w0, b, S, Gw0, Gb, coef, flags):
    """d = 1: :func:`update_block` (frozen groups), one loop."""
    for j in range(n):
        i = first + j
        ci = c[i]
        cc = coef * ci
        if flags[1]:
            w0[i] = w0[i] + cc * Gw0[i]
        if flags[2]:
            b[i] = b[i] + cc * Gb[i]
        if flags[0]:
            c[i] = ci + coef * S[i]


@njit(**INLINE)
def finish_d1(first, n, offset, x0, c, b, S, Gw0, Gb, tangents, s, slope, terms, want_terms):
    """d = 1: :func:`finish` in one loop, and (``want_terms``, unpaired) the output terms
    terms[j] = c_k S_k of the block."""
    if tangents:
        for j in range(n):
            i = first + j
            sl = slope[offset + j]
            bi = b[i]
            sj = s[offset + j]
            Gw0[i] = sl * (x0 + bi * Gw0[i])
            Gb[i] = sl * (S[i] + bi * Gb[i])
            S[i] = sj
            if want_terms:
                terms[j] = c[i] * sj
    else:
        for j in range(n):
            sj = s[offset + j]
            S[first + j] = sj
            if want_terms:
                terms[j] = c[first + j] * sj


@njit(**INLINE)
def lane_sum(t, n):
    """sum of t[0..n-1] in a fixed order (n <= SUM_BLOCK): 8 lanes, lane l adding the terms
    j = l mod 8 left to right, then ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).
    Summation depth <= n/8 + 3 (error <= gamma_{n/8 + 3} sum |t_j|, Higham)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    full = n - n % 8
    for j in range(0, full, 8):
        a0 += t[j]
        a1 += t[j + 1]
        a2 += t[j + 2]
        a3 += t[j + 3]
        a4 += t[j + 4]
        a5 += t[j + 5]
        a6 += t[j + 6]
        a7 += t[j + 7]
    rest = n - full
    if rest > 0:
        a0 += t[full]
    if rest > 1:
        a1 += t[full + 1]
    if rest > 2:
        a2 += t[full + 2]
    if rest > 3:
        a3 += t[full + 3]
    if rest > 4:
        a4 += t[full + 4]
    if rest > 5:
        a5 += t[full + 5]
    if rest > 6:
        a6 += t[full + 6]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@njit(**INLINE)
def block_sum(blk, x, c, w, b, S, Gw, Gb, coef, pending, code, flags, paired, scratch):
    """Fused step of the units of output block ``blk`` (terms blk*SUM_BLOCK...) of one replica
    (c, b, S, Gb (N,); w, Gw (d, N); scratch (4, 2 SUM_BLOCK)): pending update, memory step,
    then the :func:`lane_sum` of the block's terms c_k S_k, or of the pair sums
    c_t S_t + c_{t+N/2} S_{t+N/2} if ``paired`` (exactly 0 for exact mirrors)."""
    z, s, slope, cc = scratch[0], scratch[1], scratch[2], scratch[3]
    half = c.shape[0] // 2 if paired else c.shape[0]
    lo = blk * SUM_BLOCK
    n = min(SUM_BLOCK, half - lo)
    terms = cc  # the update is done when terms are written: reuse its scratch row
    if w.shape[0] == 1:
        w0, Gw0, x0 = w[0], Gw[0], x[0]
        prepare_d1(lo, n, 0, x0, c, w0, b, S, Gw0, Gb, coef, pending, flags, z)
        if paired:
            prepare_d1(lo + half, n, n, x0, c, w0, b, S, Gw0, Gb, coef, pending, flags, z)
        activate_block(code, z, s, slope, 2 * n if paired else n)
        finish_d1(lo, n, 0, x0, c, b, S, Gw0, Gb, flags[3], s, slope, terms, not paired)
        if paired:
            finish_d1(lo + half, n, n, x0, c, b, S, Gw0, Gb, flags[3], s, slope, terms, False)
        if not paired:
            return lane_sum(terms, n)
    else:
        if pending:
            update_block(lo, n, c, w, b, S, Gw, Gb, coef, flags, cc)
            if paired:
                update_block(lo + half, n, c, w, b, S, Gw, Gb, coef, flags, cc)
        preactivation(lo, n, 0, x, w, b, S, z)
        if paired:
            preactivation(lo + half, n, n, x, w, b, S, z)
        activate_block(code, z, s, slope, 2 * n if paired else n)
        finish(lo, n, 0, x, b, S, Gw, Gb, flags[3], s, slope)
        if paired:
            finish(lo + half, n, n, x, b, S, Gw, Gb, flags[3], s, slope)
    if paired:
        for j in range(n):
            terms[j] = c[lo + j] * s[j] + c[lo + half + j] * s[n + j]
    else:
        for j in range(n):
            terms[j] = c[lo + j] * s[j]
    return lane_sum(terms, n)


def _by_replica(first, last, X, y, c, w, b, S, Gw, Gb, coef, pending, f, code, flags, paired,
                scale, rate):
    """Steps first..last-1 of every replica, prange over replicas (no per-step barrier).
    coef/pending carry the update of step first-1 in; the segment ends with theta_last:
    f_k = scale * (block sums added left to right), coef_k = rate (Y_k - f_k)."""
    R = c.shape[0]
    n_terms = c.shape[1] // 2 if paired else c.shape[1]
    n_blocks = (n_terms + SUM_BLOCK - 1) // SUM_BLOCK
    for r in prange(R):
        scratch = np.empty((4, 2 * SUM_BLOCK))
        cr, wr, br, Sr, Gwr, Gbr = c[r], w[r], b[r], S[r], Gw[r], Gb[r]
        for k in range(first, last):
            x = X[r, k]
            total = 0.0
            for blk in range(n_blocks):
                total += block_sum(blk, x, cr, wr, br, Sr, Gwr, Gbr, coef[r], pending[r], code,
                                   flags, paired, scratch)
            f_k = total * scale
            f[r, k] = f_k
            coef[r] = rate * (y[r, k] - f_k)
            pending[r] = True
        if pending[r]:
            for lo in range(0, c.shape[1], SUM_BLOCK):
                update_block(lo, min(SUM_BLOCK, c.shape[1] - lo), cr, wr, br, Sr, Gwr, Gbr,
                             coef[r], flags, scratch[3])
            pending[r] = False


def _by_block(first, last, X, y, c, w, b, S, Gw, Gb, coef, pending, f, code, flags, paired,
              scale, rate):
    """As :func:`_by_replica`, prange over (replica, block) pairs within each step; the block
    sums are stored and added in block order, so the numbers are the same."""
    R = c.shape[0]
    N = c.shape[1]
    n_terms = N // 2 if paired else N
    n_blocks = (n_terms + SUM_BLOCK - 1) // SUM_BLOCK
    partial = np.empty((R, n_blocks))
    for k in range(first, last):
        for task in prange(R * n_blocks):
            r = task // n_blocks
            blk = task - r * n_blocks
            scratch = np.empty((4, 2 * SUM_BLOCK))
            partial[r, blk] = block_sum(blk, X[r, k], c[r], w[r], b[r], S[r], Gw[r], Gb[r],
                                        coef[r], pending[r], code, flags, paired, scratch)
        for r in range(R):
            total = 0.0
            for blk in range(n_blocks):
                total += partial[r, blk]
            f_k = total * scale
            f[r, k] = f_k
            coef[r] = rate * (y[r, k] - f_k)
            pending[r] = True
    n_units = (N + SUM_BLOCK - 1) // SUM_BLOCK
    for task in prange(R * n_units):
        r = task // n_units
        lo = (task - r * n_units) * SUM_BLOCK
        if pending[r]:
            update_block(lo, min(SUM_BLOCK, N - lo), c[r], w[r], b[r], S[r], Gw[r], Gb[r],
                         coef[r], flags, np.empty(SUM_BLOCK))
    for r in range(R):
        pending[r] = False


KERNELS = {
    "replica": njit(parallel=True, **JIT)(_by_replica),
    "block": njit(parallel=True, **JIT)(_by_block),
}


def kernels_for(name: str) -> tuple[dict, int]:
    """(kernels like :data:`KERNELS`, activation code) for activation ``name``: the disk-cached
    KERNELS and the twin's code of fast_activations.TWIN_CODES, or, for an activation without a
    hand-written twin, the same kernels compiled in this process around
    fast_activations.generated_activate_block (the generated sigma, sigma')."""
    if name in TWIN_CODES:
        return KERNELS, TWIN_CODES[name]
    return _generated_kernels(name), -1


@lru_cache(maxsize=8)
def _generated_kernels(name: str) -> dict:
    """:func:`_by_replica` and :func:`_by_block` recompiled with ``activate_block`` bound to the
    generated activation (same Python code, a copy of this module's globals; not cacheable on
    disk because those globals are built at run time)."""
    namespace = dict(globals())
    namespace["activate_block"] = generated_activate_block(name)
    local = dict(cache=False, error_model="numpy")

    def rebind(function, **options):  # noqa: ANN001, ANN202
        python = getattr(function, "py_func", function)
        copy = types.FunctionType(python.__code__, namespace, python.__name__,
                                  python.__defaults__, python.__closure__)
        return njit(**options)(copy)

    namespace["block_sum"] = rebind(block_sum, inline="always", **local)
    return {"replica": rebind(_by_replica, parallel=True, **local),
            "block": rebind(_by_block, parallel=True, **local)}
