"""Piecewise Chebyshev table of erf on [0, 6] for the fast backend's vectorised erf.

libm's erf is a scalar call that stops the compiled activation loop from vectorising (the
erf configurations ran 3-6x slower than tanh in the fast backend). This module builds, from
40-digit mpmath values, the monomial coefficients of the degree-ERF_DEGREE Chebyshev
interpolant of erf on each interval [k h, (k + 1) h], k < ERF_INTERVALS, h = ERF_STEP, in the
local variable t = (a - (k + 1/2) h) / (h / 2) in [-1, 1]. numerics.fast_kernels evaluates
erf(a) = sum_p coef[k, p] t^p by Horner (a table gather instead of branches), and erf(a) = 1
for a >= 6 (erf(6) = 1 - 2.2e-17 rounds to 1 in double precision).

Accuracy: the interpolation error at n = 13 Chebyshev points on a half-width r = 1/8 is at
most max|f^(13)| r^13 / (2^12 13!); f^(13)(x) = (2/sqrt(pi)) H_12(x) e^(-x^2) and Cramer's
inequality |H_m(x)| e^(-x^2/2) <= 1.09 2^(m/2) sqrt(m!) give max|f^(13)| <= 1.7e6, so the error
is <= 1.2e-19; what remains is the rounding of Horner's rule (sum |coef| <= 1.01 on every
interval, so about 1 ulp). tests/test_fast_backend.py measures the
compiled erf against 40-digit mpmath; tests/test_erf_table.py checks the table itself.

The table is rebuilt at import (about 0.2 s, deterministic: mpmath is exact to its 40
digits, and each coefficient is rounded to the nearest double once), so there is no generated
file to go stale.
"""

from __future__ import annotations

import mpmath
import numpy as np
from numpy.typing import NDArray

ERF_STEP = 0.25  # interval width h (a power of two: (k + 1/2) h and 2 / h are exact)
ERF_INTERVALS = 24  # [0, 6]
ERF_DEGREE = 12
ERF_SATURATION = ERF_STEP * ERF_INTERVALS  # erf(a) = 1 in double precision for a >= 6
_DIGITS = 40


def _chebyshev_monomials(degree: int) -> list[list[mpmath.mpf]]:
    """Monomial coefficients of T_0..T_degree: row i holds T_i(t) = sum_p rows[i][p] t^p."""
    rows = [[mpmath.mpf(1)] + [mpmath.mpf(0)] * degree,
            [mpmath.mpf(0), mpmath.mpf(1)] + [mpmath.mpf(0)] * (degree - 1)]
    for _ in range(2, degree + 1):
        nxt = [mpmath.mpf(0)] * (degree + 1)
        for p in range(degree):
            nxt[p + 1] += 2 * rows[-1][p]
        for p in range(degree + 1):
            nxt[p] -= rows[-2][p]
        rows.append(nxt)
    return rows[: degree + 1]


def erf_interval_coefficients(k: int, step: float = ERF_STEP,
                              degree: int = ERF_DEGREE) -> list[mpmath.mpf]:
    """Monomial coefficients (in t, lowest power first, 40 digits) of the Chebyshev
    interpolant of erf(a) on [k h, (k + 1) h] at the degree + 1 Chebyshev points of the first
    kind, a = (k + 1/2) h + (h / 2) t."""
    with mpmath.workdps(_DIGITS):
        h = mpmath.mpf(step)
        centre, half = (k + mpmath.mpf(1) / 2) * h, h / 2
        n = degree + 1
        angles = [mpmath.pi * (2 * j + 1) / (2 * n) for j in range(n)]
        values = [mpmath.erf(centre + half * mpmath.cos(angle)) for angle in angles]
        cheb = [2 * mpmath.fsum(v * mpmath.cos(i * angle) for v, angle in zip(values, angles,
                                                                             strict=True)) / n
                for i in range(n)]
        cheb[0] /= 2
        basis = _chebyshev_monomials(degree)
        return [mpmath.fsum(cheb[i] * basis[i][p] for i in range(n)) for p in range(n)]


def erf_table(step: float = ERF_STEP, intervals: int = ERF_INTERVALS,
              degree: int = ERF_DEGREE) -> NDArray[np.float64]:
    """(intervals, degree + 1) float64 coefficients, row k for [k h, (k + 1) h]."""
    return np.array([[float(c) for c in erf_interval_coefficients(k, step, degree)]
                     for k in range(intervals)], dtype=np.float64)


def erf_from_table(table: NDArray[np.float64], x: NDArray[np.float64],
                   step: float = ERF_STEP) -> NDArray[np.float64]:
    """NumPy evaluation of the table (the same Horner scheme as the compiled kernel), for tests.

    x: any shape; returns erf(x) with erf(-x) = -erf(x) and 1 for |x| >= intervals * step.
    """
    x = np.asarray(x, dtype=float)
    a = np.abs(x)
    intervals = table.shape[0]
    clamped = np.minimum(a, intervals * step)  # no overflow for huge |x| (result is 1 there)
    k = np.clip(np.nan_to_num(np.floor(clamped * (1.0 / step))), 0, intervals - 1)
    k = k.astype(np.int64)
    t = (clamped - (k + 0.5) * step) * (2.0 / step)
    acc = table[k, -1]
    for p in range(table.shape[1] - 2, -1, -1):
        acc = acc * t + table[k, p]
    acc = np.where(a >= intervals * step, 1.0, acc)
    return np.where(x < 0, -acc, acc)
