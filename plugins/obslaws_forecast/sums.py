"""Row sums and means of a matrix to the bit of ``np.add.reduce`` applied to each row alone.

The selection scores hundreds of configurations on a set of folds by means of a few fold MAEs
each (``select.Scoreboard``). ``np.add.reduce(m, axis=1)`` does not round as the 1-d reduction of
each row does (it adds the columns one after the other, where the 1-d reduction of 8 values and
more keeps 8 partial sums), so a choice among near-equal scores could differ. ``row_sums`` adds
the columns in the 1-d reduction's order (numpy's ``pairwise_sum``): one numpy operation per
column for every row at once, the same bits as one reduction per row.
"""

from __future__ import annotations

import numpy as np

BLOCK = 128  # numpy's pairwise summation block (PW_BLOCKSIZE)


def _pairwise(columns: list[np.ndarray]) -> np.ndarray:
    """numpy's ``pairwise_sum`` of ``columns`` (each an array over the rows), in its order of additions."""
    n = len(columns)
    if n < 8:
        total = columns[0]
        for column in columns[1:]:
            total = total + column
        return total
    if n <= BLOCK:
        partial = list(columns[:8])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                partial[j] = partial[j] + columns[i + j]
            i += 8
        p = partial
        total = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
        for column in columns[i:]:
            total = total + column
        return total
    half = n // 2
    half -= half % 8
    return _pairwise(columns[:half]) + _pairwise(columns[half:])


def row_sums(matrix: np.ndarray) -> np.ndarray:
    """Per row of ``matrix`` (rows, n >= 1), ``np.add.reduce(row)`` to the bit."""
    return np.array(_pairwise([matrix[:, i] for i in range(matrix.shape[1])]), dtype=float, copy=True)


def row_means(matrix: np.ndarray) -> np.ndarray:
    """Per row, ``np.add.reduce(row) / n``: ``np.mean`` of the row, to the bit."""
    return row_sums(matrix) / matrix.shape[1]
