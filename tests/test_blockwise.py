"""numerics.blockwise does block by block what one NumPy expression does at once; every
function equals that expression on matrices split into several blocks (BLOCK_BYTES lowered so
that a few dozen rows already take several), including the last, partial block. The kernel's
error estimate between two rules (max_abs_difference) looked only at its first block of rows
and no test noticed: at L = 6 on the default chain that drops the rows past 686 of 729."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numerics.blockwise as blockwise

SIZES = st.integers(min_value=1, max_value=70)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
# 8 B * 2 arrays * 70 columns * 3 rows: blocks of 3 rows at n = 70, of up to 1680 / n rows.
SMALL_BLOCK = 3360.0


def _matrix(n: int, seed: int, columns: int | None = None) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, columns or n))


@given(n=SIZES, seed=SEEDS, where=st.floats(0.0, 1.0))
def test_max_abs_difference_sees_every_block(n, seed, where):
    a, b = _matrix(n, seed), _matrix(n, seed + 1) * 1e-3
    row = min(n - 1, int(where * n))  # the largest difference anywhere, last rows included
    a[row, n // 2] = 1e3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blockwise, "BLOCK_BYTES", SMALL_BLOCK)
        assert blockwise.max_abs_difference(a, b) == float(np.max(np.abs(a - b)))


@given(n=SIZES, seed=SEEDS)
def test_symmetrise_in_place_is_the_mean_with_the_transpose(n, seed):
    matrix = _matrix(n, seed)
    expected = 0.5 * (matrix + matrix.T)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blockwise, "BLOCK_BYTES", 24.0 * 4)  # blocks of 16 x 16 (the floor)
        blockwise.symmetrise_in_place(matrix)
    np.testing.assert_array_equal(matrix, matrix.T)
    np.testing.assert_array_equal(matrix, expected)  # the same operations, entry by entry


@given(n=SIZES, arrays=st.integers(1, 5), budget=st.floats(8.0, 1e5))
def test_row_blocks_cover_the_rows_in_order_within_the_budget(n, arrays, budget):
    blocks = blockwise.row_blocks(n, arrays, budget)
    assert blocks[0][0] == 0 and blocks[-1][1] == n
    assert all(r1 == next_r0 for (_, r1), (next_r0, _) in zip(blocks[:-1], blocks[1:], strict=True))
    for r0, r1 in blocks:
        assert r1 > r0
        assert r1 - r0 == 1 or 8.0 * arrays * (r1 - r0) * n <= budget


@given(n=SIZES, seed=SEEDS, budget=st.floats(8.0, 2e4))
def test_mirror_upper_completes_a_symmetric_matrix_from_its_block_rows(n, seed, budget):
    full = _matrix(n, seed)
    full = full + full.T
    blocks = blockwise.row_blocks(n, 1, budget)
    partial = np.full((n, n), np.nan)
    for r0, r1 in blocks:  # what the kernel's assembly fills: rows r0:r1, columns r0:
        partial[r0:r1, r0:] = full[r0:r1, r0:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blockwise, "BLOCK_BYTES", SMALL_BLOCK)
        blockwise.mirror_upper(partial, blocks)
    np.testing.assert_array_equal(partial, full)


@given(n=SIZES, seed=SEEDS, parts=st.integers(1, 4))
def test_total_of_is_the_sum_and_leaves_the_parts_alone(n, seed, parts):
    arrays = {str(k): _matrix(n, seed + k, 3) for k in range(parts)}
    copies = {k: v.copy() for k, v in arrays.items()}
    total = blockwise.total_of(arrays)
    expected = copies["0"].copy()
    for k in range(1, parts):
        expected += copies[str(k)]
    np.testing.assert_array_equal(total, expected)
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, copies[k])
