"""The covariate model: per benchmark, a weighted ridge regression on the logit scale.

    z_ij = a_j + b_j . covariates_i + u_{family(i), j} + v_{group(i), j} + e_ij

Covariates are log parameters, log tokens, their product and the release date (so a family
never seen before gets the intercept its date and size predict: the drift of family
efficiency over time); family and group effects u, v are shrunk by ``pooling`` (partial pooling:
a larger value pulls a family with few models harder towards what its covariates predict: a
family with m models keeps about m / (m + pooling) of its own effect).

The normal equations of every benchmark are built once and solved for each pooling value, so
that comparing poolings on inner folds costs one solve each. The pooled columns are one-hot, so
their blocks are sums of weights over the models in both columns (not dense products), and the
first level's block is diagonal, so each solve eliminates it, then the next level where it stays
diagonal (groups: one per family), and factorises the rest only (elimination.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import LEVELS, Design, ModelTable
from .elimination import Coupling, eliminated_product, solve_with_diagonal_tail
from .scale import weight

FIXED_RIDGE = 1e-3  # keeps near-constant covariate columns (all present, all missing) solvable


@dataclass
class NormalEquations:
    """X'WX and X'Wz of every benchmark, for one design and one data set, split in two: the first
    pooled level's columns E (families: one per model at most, so X_E'WX_E is diagonal) and the
    rest R (the covariates, the other pooled levels). Each solve eliminates E (a Schur complement,
    exact, formed from the few nonzero cells of X_E'WX_R), then R's trailing level where its block
    stayed diagonal, and factorises the covariates and the remaining level only (Cholesky): many
    times cheaper than on every column, and no (J, p, p) array is ever built."""

    design: Design
    gram: np.ndarray  # (J, r, r): X_R'WX_R
    cross: np.ndarray  # (J, e, r): X_E'WX_R
    diagonal: np.ndarray  # (J, e): the diagonal of X_E'WX_E
    rhs: np.ndarray  # (J, r): X_R'Wz
    rhs_eliminated: np.ndarray  # (J, e): X_E'Wz
    coupling: Coupling  # which cells of X_E'WX_R's pooled columns can be nonzero
    # R's columns from here on are a level whose block stays diagonal once E is eliminated (groups:
    # one per family), stored last so that each solve eliminates it next; r where there is none
    tail: int
    # per column of R in the design's order, its position here (None: the same order)
    positions: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        table: ModelTable,
        z: np.ndarray,
        observed: np.ndarray,
        terms: tuple[str, ...],
        levels: tuple[str, ...] = LEVELS,
        weight_power: float = 1.0,
    ) -> NormalEquations:
        design = Design.fit(table, terms, levels)
        w = np.where(observed, weight(z, weight_power), 0.0)
        w = w / np.maximum(w.sum(axis=0) / np.maximum(observed.sum(axis=0), 1), 1e-12)
        fixed, onehot = design.fixed(table), design.pooled(table)
        e = len(design.levels[0][1]) if design.levels else 0
        first, other = onehot[:, :e], onehot[:, e:]
        coupling, positions = Coupling.of(first, other), None
        g = len(design.levels[1][1]) if len(design.levels) > 1 else 0
        if g and coupling.diagonal_after(0, g):  # the second level last
            moved = np.r_[g : other.shape[1], 0:g]
            other, coupling = other[:, moved], Coupling.of(first, other[:, moved])
            positions = np.argsort(np.r_[0 : fixed.shape[1], fixed.shape[1] + moved])
        f, q = fixed.shape[1], other.shape[1]
        wt = w.T  # (J, n)
        wf = wt[:, :, None] * fixed[None, :, :]  # (J, n, f)
        gram = np.empty((w.shape[1], f + q, f + q))
        gram[:, :f, :f] = np.matmul(wf.transpose(0, 2, 1), fixed)
        gram[:, :f, f:] = np.matmul(wf.transpose(0, 2, 1), other)
        gram[:, f:, :f] = gram[:, :f, f:].transpose(0, 2, 1)
        # one-hot x one-hot: per benchmark, the sum of its weights over the models in both columns
        gram[:, f:, f:] = _pair_sums(wt, other, other)
        cross = np.concatenate(
            [np.matmul(wf.transpose(0, 2, 1), first).transpose(0, 2, 1), _pair_sums(wt, first, other)], axis=2
        )
        wz = wt * z.T  # (J, n)
        rhs = np.hstack([wz @ fixed, wz @ other])
        tail = f + q - (g if positions is not None else 0)
        return cls(design, gram, cross, wt @ first, rhs, wz @ first, coupling, tail, positions)

    def solve(self, pooling: float) -> CovariateModel:
        f, r = self.design.n_fixed, self.gram.shape[1]
        penalty = np.full(r, float(pooling))
        penalty[:f] = FIXED_RIDGE
        penalty[0] = FIXED_RIDGE * 1e-3
        d = self.diagonal + float(pooling)  # (J, e): the eliminated block, penalised
        schur = self.gram - eliminated_product(self.cross, d, self.coupling, f)
        schur[:, np.arange(r), np.arange(r)] += penalty
        rhs = self.rhs - np.matmul((self.rhs_eliminated / d)[:, None, :], self.cross)[:, 0, :]
        kept = solve_with_diagonal_tail(schur, rhs, self.tail)  # (J, r)
        eliminated = (self.rhs_eliminated - np.matmul(self.cross, kept[:, :, None])[:, :, 0]) / d
        if self.positions is not None:
            kept = kept[:, self.positions]
        # back in the design's column order: covariates, first level, other levels
        return CovariateModel(self.design, np.hstack([kept[:, :f], eliminated, kept[:, f:]]).T)


def recency(table: ModelTable, half_life: float, scored: np.ndarray | None = None) -> np.ndarray:
    """Per model, 0.5 ** (years before the latest release among ``table``'s models with a target score
    (``scored``; default every model) / ``half_life``), at most 1; an undated model weighs as one of
    the median age, and every model 1 where none is dated."""
    years = table.raw["years"]
    reference = np.isfinite(years) if scored is None else np.isfinite(years) & scored
    if not reference.any():
        return np.ones(table.n)
    # measured from the targets' latest: later models with inputs alone would age them all alike,
    # which scales every weight down and so strengthens the ridge's penalty
    age = np.maximum(np.max(years[reference]) - years, 0.0)
    return 0.5 ** (np.where(np.isfinite(age), age, np.nanmedian(age)) / half_life)


def unseen_families(design: Design, table: ModelTable) -> np.ndarray:
    """Per model of ``table``: has its family no training model in ``design`` (or no family at all)?"""
    known = set(dict(design.levels).get("family", ()))
    return np.array([f not in known for f in table.family.tolist()], dtype=bool)


def _pair_sums(weights: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left' diag(w_j) right for one-hot ``left`` (n, a) and ``right`` (n, b), per row w_j of
    ``weights`` (J, n): (J, a, b), each model's weight summed into every (left, right) cell it is in."""
    a, b = left.shape[1], right.shape[1]
    out = np.zeros((weights.shape[0], a, b))
    rows_l, cols_l = np.nonzero(left)
    rows_r, cols_r = np.nonzero(right)  # row-major: each model's entries together
    starts = np.searchsorted(rows_r, np.arange(left.shape[0] + 1))
    repeat = np.diff(starts)[rows_l]  # every left entry pairs with its model's right entries
    if not repeat.sum():
        return out
    rows = np.repeat(rows_l, repeat)
    within = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    cells = np.repeat(cols_l, repeat) * b + cols_r[np.repeat(starts[rows_l], repeat) + within]
    # every benchmark's cells in one bincount, each offset by its own block: a cell still sums its
    # weights in the order of ``cells``, as a bincount per benchmark does (the same bits)
    jn = weights.shape[0]
    flat = (np.arange(jn)[:, None] * (a * b) + cells[None, :]).ravel()
    return np.bincount(flat, weights=weights[:, rows].ravel(), minlength=jn * a * b).reshape(jn, a, b)


@dataclass
class CovariateModel:
    design: Design
    coef: np.ndarray  # (p, J)

    @classmethod
    def fit(
        cls,
        table: ModelTable,
        z: np.ndarray,
        observed: np.ndarray,
        terms: tuple[str, ...],
        pooling: float,
        levels: tuple[str, ...] = LEVELS,
    ) -> CovariateModel:
        return NormalEquations.build(table, z, observed, terms, levels).solve(pooling)

    def predict(self, table: ModelTable) -> np.ndarray:
        return self.design.matrix(table) @ self.coef
