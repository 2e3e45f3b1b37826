"""Block elimination for the covariate ridge's normal equations, using the pooled levels' structure.

The pooled columns are one-hot and nested: a family has one group and one organisation. So
after the families' (diagonal) block is eliminated, the cross products it leaves behind are
mostly zeros (``Coupling``: which pooled columns a family shares models with), and the groups'
block of the Schur complement is still diagonal, so it can be eliminated too
(``solve_with_diagonal_tail``): the dense factorisation is then over the covariates and
organisations only. Every step is exact; results equal the dense solve's to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dposv


@dataclass(frozen=True)
class Coupling:
    """The (eliminated column, pooled column) pairs that some model is in both of: the only cells
    of X_E'WX_R outside its covariate columns that can be nonzero; and every two pairs of the same
    eliminated column (``left``, ``right``: positions among the pairs)."""

    rows: np.ndarray  # (P,): eliminated column of each pair, sorted
    columns: np.ndarray  # (P,): its pooled column (0 = the first pooled column of R)
    left: np.ndarray
    right: np.ndarray

    @classmethod
    def of(cls, eliminated: np.ndarray, pooled: np.ndarray) -> Coupling:
        """From the one-hot columns (n, e) eliminated and (n, q) kept."""
        has = eliminated.any(axis=1)
        models, columns = np.nonzero(pooled[has])  # the pooled cells of the models in an eliminated column
        size = pooled.shape[1]
        own = eliminated[has].argmax(axis=1) if has.any() else np.zeros(0, dtype=int)
        pairs = np.unique(own[models] * size + columns)  # sorted: by row, then column
        rows, columns = np.divmod(pairs, max(size, 1))
        starts = np.searchsorted(rows, rows, side="left")
        repeat = np.searchsorted(rows, rows, side="right") - starts
        left = np.repeat(np.arange(rows.size), repeat)
        within = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        return cls(rows, columns, left, np.repeat(starts, repeat) + within)

    def diagonal_after(self, start: int, stop: int) -> bool:
        """Whether pooled columns [start, stop) (one level: a model in one at most) stay a diagonal
        block once the eliminated columns are: no eliminated column pairs with two of them."""
        inside = (self.columns >= start) & (self.columns < stop)
        return bool(np.bincount(self.rows[inside]).max(initial=0) <= 1)


def eliminated_product(cross: np.ndarray, d: np.ndarray, coupling: Coupling, n_fixed: int) -> np.ndarray:
    """cross' diag(d)^-1 cross (J, r, r) for ``cross`` = X_E'WX_R (J, e, r), from its nonzero cells
    only: dense in the ``n_fixed`` covariate columns, through ``coupling`` in the pooled ones (each
    cell the sum the dense product makes, in another order)."""
    jn, _, r = cross.shape
    f, q = n_fixed, r - n_fixed
    rows, columns, left, right = coupling.rows, coupling.columns, coupling.left, coupling.right
    covariates = cross[:, :, :f]  # (J, e, f)
    values = cross[:, rows, f + columns]  # (J, P)
    over_d = values / d[:, rows]
    out = np.empty((jn, r, r))
    out[:, :f, :f] = np.matmul(covariates.transpose(0, 2, 1), covariates / d[:, :, None])
    # covariates x pooled: each pair adds its eliminated row's covariate cells, times its value
    cells = (np.arange(jn)[:, None, None] * f + np.arange(f)[None, None, :]) * q + columns[None, :, None]
    mixed = covariates[:, rows, :] * over_d[:, :, None]  # (J, P, f)
    mixed = _scatter(cells, mixed, jn * f * q).reshape(jn, f, q)
    out[:, :f, f:] = mixed
    out[:, f:, :f] = mixed.transpose(0, 2, 1)
    # pooled x pooled: every two pairs of the same eliminated column
    cells = (np.arange(jn)[:, None] * q + columns[left][None, :]) * q + columns[right][None, :]
    out[:, f:, f:] = _scatter(cells, values[:, left] * over_d[:, right], jn * q * q).reshape(jn, q, q)
    return out


def _scatter(cells: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """A flat array of ``size`` with each of ``values`` summed into its cell (``cells`` broadcast to it)."""
    return np.bincount(np.broadcast_to(cells, values.shape).ravel(), weights=values.ravel(), minlength=size)


def solve_with_diagonal_tail(a: np.ndarray, b: np.ndarray, start: int) -> np.ndarray:
    """x with a x = b for stacked symmetric positive definite ``a`` (J, r, r) and ``b`` (J, r),
    where a's trailing block [start, r) is diagonal: that block eliminated first (a Schur
    complement, exact), so the dense solve is over the first ``start`` columns only."""
    if start >= a.shape[1]:
        return positive_definite_solve(a, b)
    diagonal = np.diagonal(a[:, start:, start:], axis1=1, axis2=2)  # (J, g)
    column = a[:, :start, start:] / diagonal[:, None, :]  # (J, o, g): a_og diag^-1
    row = a[:, start:, :start]  # (J, g, o)
    reduced = a[:, :start, :start] - np.matmul(column, row)
    x = np.empty_like(b)
    x[:, :start] = positive_definite_solve(reduced, b[:, :start] - np.matmul(column, b[:, start:, None])[:, :, 0])
    x[:, start:] = (b[:, start:] - np.matmul(row, x[:, :start, None])[:, :, 0]) / diagonal
    return x


def positive_definite_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with a x = b per system of the stack (J, r, r), (J, r), by Cholesky (LAPACK's dposv, from
    a's lower triangle): about half an LU's work, and one LAPACK call per system costs less than
    numpy's stacked LU on these sizes. LU where a system is not positive definite to rounding."""
    x = np.empty_like(b)
    for j in range(a.shape[0] if a.shape[1] else 0):
        _, x[j], info = dposv(a[j], b[j], lower=1)
        if info != 0:
            x[j] = np.linalg.solve(a[j], b[j])
    return x
