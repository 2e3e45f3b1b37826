"""The forecaster's fast linear algebra against the plain dense computations it replaces."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from obslaws_forecast.completion import _top_directions
from obslaws_forecast.correlated import CorrelatedRidge
from obslaws_forecast.covariate import FIXED_RIDGE, NormalEquations, _pair_sums
from obslaws_forecast.design import ModelTable
from obslaws_forecast.elimination import (
    Coupling,
    eliminated_product,
    positive_definite_solve,
    solve_with_diagonal_tail,
)
from obslaws_forecast.scale import weight


def _table(n: int, rng: np.random.Generator, nested: bool = True) -> ModelTable:
    families = rng.integers(0, 9, size=n)
    groups = np.minimum(families, 3) if nested else rng.integers(0, 4, size=n)  # else families span groups
    return ModelTable.of(
        pl.DataFrame(
            {
                "params": rng.uniform(1e8, 1e11, size=n),
                "tokens": [
                    t if keep else None for t, keep in zip(rng.uniform(1e11, 1e13, n), rng.random(n) < 0.8, strict=True)
                ],
                "flops": rng.uniform(1e20, 1e24, size=n),
                "release_date": [dt.date(2023, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, n)],
                "instruct": rng.random(n) < 0.3,
                # a few models without a family; families 0-2 share a group; organisations by family
                "family": [None if f == 8 else f"fam{f}" for f in families],
                "family_group": [f"grp{g}" for g in groups],
                "organization": [f"org{f % 3}" for f in families],
            }
        )
    )


@pytest.mark.parametrize("nested", [True, False])
@pytest.mark.parametrize("levels", [("family", "group", "org"), ("family", "group"), ("group",)])
def test_normal_equations_solve_as_the_dense_ridge_does(levels, nested):
    rng = np.random.default_rng(3)
    n, j = 60, 4
    table = _table(n, rng, nested)
    z = rng.normal(size=(n, j))
    observed = rng.random((n, j)) < 0.7
    terms = ("log_n", "log_d", "log_n*log_d", "instruct", "years")
    for pooling in (0.5, 8.0):
        equations = NormalEquations.build(table, z, observed, terms, levels)
        # groups are eliminated after families where each family has one group
        assert (equations.positions is not None) == (nested and levels[:2] == ("family", "group"))
        model = equations.solve(pooling)
        x = model.design.matrix(table)
        w = np.where(observed, weight(z), 0.0)
        w = w / (w.sum(axis=0) / observed.sum(axis=0))
        penalty = np.full(x.shape[1], pooling)
        penalty[: model.design.n_fixed] = FIXED_RIDGE
        penalty[0] = FIXED_RIDGE * 1e-3
        dense = np.stack(
            [
                np.linalg.solve(x.T @ (w[:, b, None] * x) + np.diag(penalty), x.T @ (w[:, b] * z[:, b]))
                for b in range(j)
            ],
            axis=1,
        )
        np.testing.assert_allclose(x @ model.coef, x @ dense, rtol=0, atol=1e-8)


def test_pair_sums_are_weighted_one_hot_products():
    rng = np.random.default_rng(5)
    n = 40

    def one_hot(sizes):
        blocks = []
        for size in sizes:
            labels = rng.integers(-1, size, size=n)  # -1: no label at this level
            blocks.append(np.stack([labels == c for c in range(size)], axis=1).astype(float))
        return np.hstack(blocks)

    left, right, w = one_hot([5]), one_hot([4, 3]), rng.random((3, n))
    for a, b in ((left, right), (right, right), (right, left)):
        expected = np.stack([a.T @ (w[k][:, None] * b) for k in range(3)])
        np.testing.assert_allclose(_pair_sums(w, a, b), expected, rtol=1e-14, atol=0)
        # every benchmark at once sums each cell as that benchmark alone does, to the bit
        assert all(np.array_equal(_pair_sums(w, a, b)[k], _pair_sums(w[k : k + 1], a, b)[0]) for k in range(3))
    assert _pair_sums(w, np.zeros((n, 0)), right).shape == (3, 0, 7)


@pytest.mark.parametrize(("columns", "rank"), [(1, 1), (1, 2), (6, 1), (6, 2), (36, 2)])
def test_top_directions_are_the_leading_eigenvectors(columns, rank):
    x = np.random.default_rng(columns).normal(size=(50, columns))
    vectors, values = _top_directions(x, rank)
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x)
    top = np.argsort(eigenvalues)[::-1][: min(rank, columns)]
    np.testing.assert_allclose(values, np.sqrt(eigenvalues[top]), rtol=1e-12)
    # the same directions up to sign
    np.testing.assert_allclose(np.abs(vectors.T @ eigenvectors[:, top]), np.eye(top.size), atol=1e-10)


def _ridge_cell_by_cell(ridge: CorrelatedRidge, residuals: np.ndarray, observed: np.ndarray, targets) -> np.ndarray:
    """The correlated ridge as its definition reads: per (model, target) cell, the model's ``k``
    most correlated benchmarks, the least correlated dropped while too few training models have
    them all, a weighted ridge on the training models that have them, one dot."""
    out = np.full((residuals.shape[0], len(targets)), np.nan)
    for i in np.flatnonzero(observed.any(axis=1)):
        for c, t in enumerate(targets):
            used = list(ridge._choice(int(t), observed[i]))
            while used:
                rows = ridge.observed_[:, t] & ridge.observed_[:, used].all(axis=1)
                if rows.sum() >= ridge.min_common:
                    x = ridge.residuals_[np.ix_(rows, used)]
                    w = np.ones(x.shape[0]) if ridge.weights_ is None else ridge.weights_[rows, t]
                    w = w / w.mean()
                    beta = np.linalg.solve(
                        x.T @ (w[:, None] * x) + ridge.ridge * np.eye(len(used)), x.T @ (w * ridge.residuals_[rows, t])
                    )
                    out[i, c] = residuals[i, used] @ beta
                    break
                used.pop()
    return out


@pytest.mark.parametrize("seed", range(6))
def test_correlated_ridge_predicts_as_cell_by_cell(seed):
    rng = np.random.default_rng(seed)
    n, j = 80, 9
    observed = rng.random((n, j)) < (0.9 if seed % 2 else 0.45)  # sparse: choices shrink to fit
    residuals = np.where(observed, rng.normal(size=(n, j)), 0.0)
    if seed % 3 == 0:
        residuals[:, 4] = residuals[:, 3]  # two benchmarks correlating equally with every other
        observed[:, 4] = observed[:, 3]
    weights = rng.uniform(0.05, 0.25, size=(n, j)) if seed >= 3 else None
    ridge = CorrelatedRidge(k=3, min_common=10).fit(residuals, observed, weights)
    query_observed = observed.copy()
    query_observed[:5] = False  # models without scores: NaN
    targets = np.arange(4)
    fast = ridge.predict(residuals, query_observed, targets)
    slow = _ridge_cell_by_cell(ridge, residuals, query_observed, targets)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    # a model alone gets what it gets among the others
    for i in (7, 30, 61):
        alone = ridge.predict(residuals[i : i + 1], query_observed[i : i + 1], targets)
        np.testing.assert_array_equal(alone[0], fast[i])


def _one_hot(labels: np.ndarray, size: int) -> np.ndarray:
    return np.stack([labels == c for c in range(size)], axis=1).astype(float)  # label -1: no column


def test_eliminated_product_is_the_dense_product():
    rng = np.random.default_rng(11)
    n, jn, f = 70, 3, 4
    families = rng.integers(-1, 12, size=n)
    groups = np.where(families >= 0, families % 5, rng.integers(-1, 5, size=n))  # a family has one group
    orgs = rng.integers(-1, 6, size=n)  # not nested: a family may have several
    first = _one_hot(families, 12)
    pooled = np.hstack([_one_hot(groups, 5), _one_hot(orgs, 6)])
    coupling = Coupling.of(first, pooled)
    expected_rows, expected_columns = np.nonzero(first.T @ pooled)
    np.testing.assert_array_equal(coupling.rows, expected_rows)
    np.testing.assert_array_equal(coupling.columns, expected_columns)
    assert coupling.diagonal_after(0, 5) and not coupling.diagonal_after(5, 11)
    assert Coupling.of(np.zeros((n, 0)), pooled).rows.size == 0  # no eliminated level
    assert Coupling.of(first, np.zeros((n, 0))).rows.size == 0  # nothing kept pooled
    w = rng.random((jn, n))
    x = np.hstack([rng.normal(size=(n, f)), pooled])
    cross = np.stack([first.T @ (w[b][:, None] * x) for b in range(jn)])  # (J, e, r)
    d = rng.uniform(0.5, 3.0, size=(jn, 12))
    dense = np.matmul(cross.transpose(0, 2, 1), cross / d[:, :, None])
    np.testing.assert_allclose(eliminated_product(cross, d, coupling, f), dense, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("tail", [0, 3, 7, 10])
def test_solve_with_a_diagonal_tail_is_the_dense_solve(tail):
    rng = np.random.default_rng(tail)
    jn, r = 4, 10
    m = rng.normal(size=(jn, r, r))
    a = np.matmul(m, m.transpose(0, 2, 1)) + r * np.eye(r)
    a[:, tail:, tail:] = np.eye(r - tail) * rng.uniform(5, 9, size=(jn, 1, r - tail))  # diagonal tail block
    b = rng.normal(size=(jn, r))
    expected = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    np.testing.assert_allclose(solve_with_diagonal_tail(a, b, tail), expected, rtol=1e-12, atol=1e-12)


def test_positive_definite_solve_falls_back_to_lu():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(3, 5, 5))
    a = np.matmul(m, m.transpose(0, 2, 1)) + np.eye(5)
    a[1] = m[1] + m[1].T  # symmetric, indefinite
    b = rng.normal(size=(3, 5))
    expected = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    np.testing.assert_allclose(positive_definite_solve(a, b), expected, rtol=1e-10, atol=1e-12)
