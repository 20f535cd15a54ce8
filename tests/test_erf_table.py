"""numerics.erf_table: the piecewise Chebyshev erf of the fast backend against 40-digit mpmath,
with a too-low degree as negative control, and the compiled kernel's handling of +-inf/NaN."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from numerics.erf_table import ERF_DEGREE, ERF_SATURATION, erf_from_table, erf_table

U = 2.0**-53  # unit roundoff


def _grid() -> np.ndarray:
    rng = np.random.default_rng(11)
    edges = 0.25 * np.arange(0, 25)  # interval ends, where an interpolant is least accurate
    return np.concatenate([np.linspace(-7.0, 7.0, 2801), rng.uniform(-6.5, 6.5, 1000),
                           edges, -edges, np.nextafter(edges, 0.0), [1e-300, 5e-9]])


def _mp_erf(x: np.ndarray) -> np.ndarray:
    with mpmath.workdps(40):
        return np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in x])


def test_table_is_within_an_ulp_of_mpmath_and_a_low_degree_is_not():
    """Bar: 1.5 U absolute (the result's own rounding is <= 1/2 ulp <= U for |erf| < 1, plus
    Horner rounding, module docstring). Negative control: degree 8 (interpolation error
    ~1e-14 by the same Chebyshev bound) must exceed the bar."""
    x = _grid()
    exact = _mp_erf(x)
    err = np.max(np.abs(erf_from_table(erf_table(), x) - exact))
    assert err <= 1.5 * U
    low = np.max(np.abs(erf_from_table(erf_table(degree=8), x) - exact))
    assert low > 1.5 * U


def test_table_symmetry_saturation_and_interval_continuity():
    table = erf_table()
    assert table.shape == (24, ERF_DEGREE + 1)
    x = np.linspace(0.0, 7.0, 701)
    assert np.array_equal(erf_from_table(table, -x), -erf_from_table(table, x))
    assert np.all(erf_from_table(table, np.array([ERF_SATURATION, 7.0, 1e300])) == 1.0)
    # the compiled kernel's special values (the NumPy twin must not index the table with NaN)
    special = erf_from_table(table, np.array([np.inf, -np.inf, np.nan]))
    assert special[0] == 1.0 and special[1] == -1.0 and np.isnan(special[2])
    assert math.erf(ERF_SATURATION) == 1.0  # so saturating at 6 loses nothing
    # neighbouring interpolants agree at the shared end (t = +1 of k, t = -1 of k + 1)
    right = table.sum(axis=1)[:-1]
    left = (table[1:] * (-1.0) ** np.arange(table.shape[1])).sum(axis=1)
    assert np.max(np.abs(right - left)) <= 4 * U


def test_compiled_erf_matches_the_table_and_handles_inf_and_nan():
    kernels = pytest.importorskip("numerics.fast_activations")
    x = _grid()
    s, slope = kernels.activate_array(kernels.TWIN_CODES["erf"], x)
    # FMA contraction in the compiled Horner changes the rounding by about an ulp
    assert np.max(np.abs(s - erf_from_table(erf_table(), x))) <= 2 * U
    special, special_slope = kernels.activate_array(
        kernels.TWIN_CODES["erf"], np.array([np.inf, -np.inf, np.nan]))
    assert special[0] == 1.0 and special[1] == -1.0 and np.isnan(special[2])
    assert np.all(special_slope[:2] >= 0.0) and np.all(special_slope[:2] < 1e-18)
    with mpmath.workdps(40):
        exact = np.array([float(2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-mpmath.mpf(v) ** 2))
                          for v in x])
    assert np.max(np.abs(slope - exact)) <= 4 * U


_BOUNDS_CHECKED = """
import json
import numpy as np
from numerics import fast_activations as k
s, slope = k.activate_array(k.TWIN_CODES["erf"], np.array([np.inf, -np.inf, np.nan, 1e300, 6.0]))
print(json.dumps(s.tolist()))
"""


def test_compiled_erf_reads_inside_its_table_for_inf_nan_and_huge_inputs(tmp_path):
    """The compiled erf's table index is clamped on both sides: a diverging network's inf or NaN
    converts to int64 as the most negative integer (x86), which only the lower clamp keeps inside
    the table. numba does not check bounds, so the values alone cannot show an out-of-table read
    (t is inf or NaN there and the result is saturated or NaN anyway): compiled with numba's
    bounds checking (NUMBA_BOUNDSCHECK=1, a fresh cache so nothing compiled without it is
    reused), such a read raises IndexError."""
    pytest.importorskip("numerics.fast_activations")
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _BOUNDS_CHECKED], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    s = json.loads(out.stdout)  # NaN as JSON's NaN extension
    assert s[:2] == [1.0, -1.0] and math.isnan(s[2]) and s[3:] == [1.0, 1.0]
