"""numba kernels of the fast backend (numerics.fast_trainer; imported lazily, needs numba).

The fused step of theory.md §2 (scheme in numerics.fast_trainer), for the units of one output
block of SUM_BLOCK terms at a time, in three loops over the block whose data stay in L1:
(A) pending update of step k-1 and z_k = w . X_k + b S_{k-1} into a buffer; (B) sigma(z) and
sigma'(z) into buffers (vectorised: tanh and sigmoid use the branch-free :func:`tanh_kernel`,
erf the table gather :func:`erf_kernel` and erf' = 2/sqrt(pi) / :func:`exp_kernel`(z^2), no
libm call; this function alone is compiled with FMA contraction, fastmath "contract",
which changes its rounding by at most an ulp or so and nothing else); (C) tangents G^w, G^b,
the memory S_k and the block's output-term sum. For d = 1 the loops of (A) and of (C) are
fused (prepare_d1, finish_d1), with the same arithmetic.

Arrays: c, b, S, Gb (R, N); w, Gw (R, d, N) (component-major: one contiguous row per
component, so every loop over units is unit-stride); X (R, steps, d); y, f (R, steps); coef (R,);
pending (R,) bool; flags = (train c, train w, train b, tangents) bool (4,). Compiled on first
call (error_model "numpy": no zero-division checks, which block vectorisation; no division
here can have a zero divisor), cached on disk (cache=True).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from numerics.erf_table import ERF_SATURATION, ERF_STEP, erf_table

SUM_BLOCK = 256  # output terms per partial sum (fixed: results must not depend on batching)
ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "erf": 2, "linear": 3}
JIT = dict(cache=True, error_model="numpy")
INLINE = dict(JIT, inline="always")

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# Cephes (S. L. Moshier) tanh for |x| <= 0.625: x + x s P(s) / Q(s), s = x^2, and exp on
# [-ln2/2, ln2/2]: 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)), with the Cody-Waite split
# ln 2 = EXP_C1 + EXP_C2. tests/test_fast_backend.py measures the error against mpmath.
TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
EXP_P = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
EXP_Q = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
         2.00000000000000000009e0)
LOG2E = 1.4426950408889634073599
EXP_C1 = 6.93145751953125e-1
EXP_C2 = 1.42860682030941723212e-6
TANH_SATURATION = 20.0  # |x| >= 19.06: tanh(x) = +-1 in double precision; clamp exp's argument
# erf: piecewise Chebyshev table (numerics.erf_table), flattened row-major; erf' = 2/sqrt(pi) /
# exp(z^2) with z^2 clamped at 42 (erf'(6.48) = 6.6e-19: the clamp's absolute error is below that).
_ERF_TABLE = erf_table()
ERF_COEF = np.ascontiguousarray(_ERF_TABLE.ravel())
ERF_WIDTH = _ERF_TABLE.shape[1]
ERF_LAST = _ERF_TABLE.shape[0] - 1
ERF_INV_STEP = 1.0 / ERF_STEP
ERF_T_SCALE = 2.0 / ERF_STEP
ERF_EXP_CLAMP = 42.0


@njit(**INLINE)
def exp_kernel(u):
    """exp(u) for 0 <= u <= 42 without branches or libm calls, Cephes scheme: n ln2 + r
    reduction (Cody-Waite split), 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)) on |r| <= ln2 / 2, times
    2^n = float(1 << n) exactly (n <= 61 for u <= 42)."""
    px = math.floor(LOG2E * u + 0.5)
    n = np.int64(px)
    r = u - px * EXP_C1
    r = r - px * EXP_C2
    rr = r * r
    p = r * ((EXP_P[0] * rr + EXP_P[1]) * rr + EXP_P[2])
    e = p / ((((EXP_Q[0] * rr + EXP_Q[1]) * rr + EXP_Q[2]) * rr + EXP_Q[3]) - p)
    return (1.0 + 2.0 * e) * np.float64(np.int64(1) << n)


@njit(**INLINE)
def tanh_kernel(x):
    """tanh(x) without branches or libm calls (so loops over it vectorise), Cephes scheme:
    |x| <= 0.625: rational approximation; else 1 - 2 / (exp(2|x|) + 1) with sign
    (:func:`exp_kernel`; |x| is clamped at 20, so its argument stays <= 40)."""
    a = abs(x)
    e = exp_kernel(2.0 * min(a, TANH_SATURATION))
    big = 1.0 - 2.0 / (e + 1.0)
    big = big if x >= 0.0 else -big
    s = x * x
    small = x + x * s * (((TANH_P[0] * s + TANH_P[1]) * s + TANH_P[2])
                         / (((s + TANH_Q[0]) * s + TANH_Q[1]) * s + TANH_Q[2]))
    return small if a <= 0.625 else big


@njit(**INLINE)
def erf_kernel(x):
    """erf(x) without libm calls: Horner on the piecewise Chebyshev table of
    numerics.erf_table (interval index k = floor(|x| / h), a gather instead of branches),
    odd symmetry, and 1 for |x| >= 6 (erf(6) rounds to 1). The index is clamped to the table
    on both sides, so an infinite or NaN x (a diverging network) cannot read outside it; NaN
    propagates through t."""
    a = abs(x)
    k = max(min(np.int64(a * ERF_INV_STEP), ERF_LAST), 0)
    t = (a - (k + 0.5) * ERF_STEP) * ERF_T_SCALE
    row = k * ERF_WIDTH
    acc = ERF_COEF[row + ERF_WIDTH - 1]
    for p in range(ERF_WIDTH - 2, -1, -1):
        acc = acc * t + ERF_COEF[row + p]
    acc = 1.0 if a >= ERF_SATURATION else acc
    return acc if x >= 0.0 else -acc


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def activate_block(code, z, s, slope, n):  # not inlined: FMA contraction only in here
    """s[j], slope[j] = sigma(z[j]), sigma'(z[j]) for j < n (theory.md §2), code tanh 0 |
    sigmoid 1 | erf 2 | linear 3: tanh' = 1 - tanh^2; sigmoid(z) = 1/2 + tanh(z/2)/2 (the
    logistic function; absolute error ~1e-16 vs 1 / (1 + e^-z)), sigmoid' = s (1 - s);
    erf' = 2/sqrt(pi) e^(-z^2); linear: z, 1. One loop per activation (vectorised)."""
    if code == 0:
        for j in range(n):
            t = tanh_kernel(z[j])
            s[j] = t
            slope[j] = 1.0 - t * t
    elif code == 1:
        for j in range(n):
            v = 0.5 + 0.5 * tanh_kernel(0.5 * z[j])
            s[j] = v
            slope[j] = v * (1.0 - v)
    elif code == 2:
        for j in range(n):
            zj = z[j]
            s[j] = erf_kernel(zj)
            slope[j] = TWO_OVER_SQRT_PI / exp_kernel(min(zj * zj, ERF_EXP_CLAMP))
    else:
        for j in range(n):
            s[j] = z[j]
            slope[j] = 1.0


@njit(**JIT)
def activate_array(code, z):
    """The kernels' (sigma (n,), sigma' (n,)) on a 1-d array z (n,) (for tests)."""
    s = np.empty_like(z)
    slope = np.empty_like(z)
    activate_block(code, z, s, slope, z.shape[0])
    return s, slope


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
