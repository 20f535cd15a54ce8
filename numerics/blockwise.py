"""Operations on (n, n) word-by-word matrices with bounded temporaries (issue 17): the kernel
and the limit keep their peak memory to a count of such matrices (numerics.costs), so every
elementwise pass over one goes block by block, its temporaries under BLOCK_BYTES."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BLOCK_BYTES = 8e6  # temporaries of one block of an elementwise pass


def symmetrise_in_place(matrix: FloatArray) -> None:
    """matrix <- (matrix + matrix^T) / 2 in place, block by block (temporaries of at most
    BLOCK_BYTES, never n x n)."""
    n = matrix.shape[0]
    block = max(16, int((BLOCK_BYTES / 24.0) ** 0.5))
    for i in range(0, n, block):
        for j in range(i, n, block):
            upper = matrix[i:i + block, j:j + block]
            mean = 0.5 * (upper + matrix[j:j + block, i:i + block].T)
            matrix[i:i + block, j:j + block] = mean
            matrix[j:j + block, i:i + block] = mean.T


def total_of(parts: dict[str, FloatArray]) -> FloatArray:
    """The sum of the parts, as one new array (no other temporary)."""
    arrays = list(parts.values())
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


def row_block(n: int, arrays: int) -> int:
    """Rows per block when ``arrays`` temporaries of (rows, n) doubles may use BLOCK_BYTES."""
    return max(1, int(BLOCK_BYTES / (8.0 * arrays * max(n, 1))))


def max_abs_difference(a: FloatArray, b: FloatArray) -> float:
    """max |a - b| over entries, row block by row block."""
    rows = row_block(a.shape[1], 2)
    return max((float(np.max(np.abs(a[i:i + rows] - b[i:i + rows])))
                for i in range(0, a.shape[0], rows)), default=0.0)


def row_blocks(n: int, arrays: int, budget: float) -> list[tuple[int, int]]:
    """Blocks of rows (r0, r1) covering 0..n such that ``arrays`` arrays of (r1 - r0, n)
    doubles fit in ``budget`` bytes; [(0, n)] when all n rows do."""
    rows = max(1, int(budget / (8.0 * arrays * max(n, 1))))
    return [(r0, min(n, r0 + rows)) for r0 in range(0, n, rows)] if rows < n else [(0, n)]


def mirror_upper(matrix: FloatArray, blocks: list[tuple[int, int]]) -> None:
    """Fill the lower part of a symmetric matrix assembled block row by block row (rows r0:r1,
    columns r0:, for each block) from its upper part, with temporaries under BLOCK_BYTES."""
    n = matrix.shape[0]
    for r0, r1 in blocks:
        step = row_block(r1 - r0, 2)
        for c0 in range(r1, n, step):  # columns c0:c1 of the block row -> rows c0:c1 below it
            c1 = min(n, c0 + step)
            matrix[c0:c1, r0:r1] = matrix[r0:r1, c0:c1].T.copy()
