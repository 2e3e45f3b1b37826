"""Inner folds on a fit's own training data: where every choice of the forecaster is made.

Each inner fold mimics one outer question with the training data alone: the latest releases
(two time cuts), the largest models (a compute cut), families seen through their smallest model
(three folds of family groups, n = 1) and a model's missing benchmarks (half of each model's
target scores hidden). Choices (pooling, covariates, rank) minimise the mean MAE over these
folds; their residuals calibrate the intervals (split-conformal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class InnerFold:
    name: str
    train: np.ndarray  # (n,) bool: training models of the fold
    hide: np.ndarray  # (n, J) bool: cells hidden from the fold's fit and scored


def inner_folds(
    models: pl.DataFrame, observed: np.ndarray, n_targets: int, seed: int = 0, min_train: int = 8
) -> list[InnerFold]:
    """The inner folds for ``models`` with ``observed`` cells (targets are the first columns)."""
    n = models.height
    targets = np.zeros(observed.shape, dtype=bool)
    targets[:, :n_targets] = observed[:, :n_targets]
    folds: list[InnerFold] = []

    def add(name: str, test: np.ndarray) -> None:
        train = ~test
        if train.sum() >= min_train and (targets & test[:, None]).any():
            folds.append(InnerFold(name, train, targets & test[:, None]))

    days = models.select((pl.col("release_date") - pl.date(2000, 1, 1)).dt.total_days()).to_series().to_numpy()
    dated = ~np.isnan(days.astype(float))
    if dated.sum() >= 2 * min_train:
        for q in (0.7, 0.85):
            cut = np.quantile(days[dated].astype(float), q)
            add(f"time>{q:.0%}", dated & (days.astype(float) > cut))
    flops = models["flops"].cast(pl.Float64).to_numpy()
    known = np.isfinite(flops)
    if known.sum() >= 2 * min_train:
        add("compute>75%", known & (flops > np.quantile(flops[known], 0.75)))
    groups = models.select(pl.coalesce("family_group", "family", "model_id")).to_series().to_numpy()
    names = np.unique(groups)
    if names.size >= 6:
        order = np.random.default_rng(seed).permutation(names)
        for k in range(3):
            test = np.isin(groups, order[k::3])
            # n = 1: the smallest model of each held-out family stays in training
            params = models["params"].cast(pl.Float64).fill_null(np.inf).to_numpy()
            families = models["family"].fill_null("").to_numpy()
            for family in np.unique(families[test]):
                members = np.flatnonzero(test & (families == family))
                if members.size > 1:
                    test[members[np.argmin(params[members])]] = False
            add(f"groups {k + 1}/3", test)
    rng = np.random.default_rng(seed + 1)
    hide = np.zeros(observed.shape, dtype=bool)
    for i in range(n):
        cells = np.flatnonzero(targets[i])
        if cells.size >= 2:
            hide[i, rng.choice(cells, size=cells.size // 2, replace=False)] = True
    if hide.any():
        folds.append(InnerFold("cells 1/2", np.ones(n, dtype=bool), hide))
    return folds


def seen_family(family: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Per model: is its family among the training models' families?"""
    seen = {f for f in family[train].tolist() if f}
    return np.array([f in seen for f in family.tolist()])
