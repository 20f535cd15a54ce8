"""numba twins of the activations (backend "fast"): sigma and sigma' without libm calls.

:func:`activate_block` is the activation stage of numerics.fast_kernels (stage (B)): for the
activations with a hand-written twin (:data:`TWIN_CODES`) one vectorised loop each, twins of the
generated functions numerics.generated.sigma_<name> / sigma_d1_<name> kept for speed
(tests/test_fast_backend.py holds each equal to the generated function on random inputs within
a stated bound): tanh and sigmoid use the branch-free :func:`tanh_kernel`, erf the table gather
:func:`erf_kernel` and erf' = 2/sqrt(pi) / :func:`exp_kernel`(z^2). Any other activation of
derivations.activations runs the generated functions themselves, compiled by numba
(:func:`generated_activate_block`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from numerics import generated
from numerics.erf_table import ERF_SATURATION, ERF_STEP, erf_table

JIT = dict(cache=True, error_model="numpy")
INLINE = dict(JIT, inline="always")
# Codes of the activations with a hand-written twin in activate_block.
TWIN_CODES = {"tanh": 0, "sigmoid": 1, "erf": 2, "linear": 3}

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


def generated_activate_block(name: str) -> Callable:
    """An :func:`activate_block` for ``name`` (any activation of derivations.activations) that
    calls the generated numerics.generated.sigma_<name> and sigma_d1_<name>, compiled by numba
    (the ``code`` argument is ignored). Compiled in this process, not cached on disk. Raises
    ValueError if numba cannot compile the generated functions."""
    sigma = njit(error_model="numpy")(getattr(generated, f"sigma_{name}"))
    slope = njit(error_model="numpy")(getattr(generated, f"sigma_d1_{name}"))

    @njit(error_model="numpy")
    def activate(code, z, s, slope_out, n):  # noqa: ARG001 (the signature of activate_block)
        for j in range(n):
            zj = z[j]
            s[j] = sigma(zj)
            slope_out[j] = slope(zj)

    probe = np.linspace(-2.0, 2.0, 5)
    try:
        activate(-1, probe, np.empty(5), np.empty(5), 5)
    except Exception as error:  # numba's TypingError / LoweringError on an unsupported call
        raise ValueError(
            f"numba cannot compile the generated functions of {name!r} "
            f"({type(error).__name__})"
        ) from None
    return activate
