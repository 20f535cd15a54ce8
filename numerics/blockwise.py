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
