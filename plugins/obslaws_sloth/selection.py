"""Choosing the number of skills by an inner family-holdout on the training families.

Inside a training set, the family groups are dealt into ``k`` folds; each inner split holds
out one fold's groups except the smallest model of each of their families (the paper's
protocol with n = 1), fits basic Sloth for every candidate ``d`` on the rest, and scores
the held-out models. The ``d`` with the lowest mean held-out MAE wins. Basic Sloth ranks ``d``
as full Sloth does on the paper's three benchmark sets at n = 1 (docs/sloth.md), at a tenth of
the cost; all inner fits of all training sets run as one batched program per ``d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws_sloth.design import build_design, query_weights
from obslaws_sloth.engine import fit_many
from obslaws_sloth.optimiser import Schedule


def inner_splits(data: FitData, k: int, n_keep: int = 1) -> list[tuple[FitData, FitData]]:
    """``(train, test)`` pairs of the inner family-holdout (deterministic: groups in sorted order)."""
    models = data.models.with_columns(pl.coalesce("family_group", "family").alias("_group"))
    groups = sorted(models["_group"].unique().to_list())
    out = []
    for fold in range(min(k, len(groups))):
        held = set(groups[fold::k])
        test: list[str] = []
        members = models.filter(pl.col("_group").is_in(list(held))).sort(["family", "params", "model_id"])
        for (_family,), fam in members.group_by(["family"], maintain_order=True):
            ids = fam["model_id"].to_list()
            if len(ids) > n_keep:
                test += ids[n_keep:]
        if test:
            train_ids = [m for m in models["model_id"].to_list() if m not in set(test)]
            out.append((data.select_models(train_ids), data.select_models(test)))
    return out


def select_d(
    datas: Sequence[FitData],
    candidates: Sequence[int],
    *,
    folds: int = 4,
    seed: int = 0,
    lrs: Sequence[float] = (0.1, 0.01, 0.001),
    schedule: Schedule | None = None,
    basis: str = "log10",
) -> tuple[list[int], list[dict[int, float]]]:
    """The chosen ``d`` for each training set, and the inner held-out MAE of every candidate
    (fitted in covariate ``basis``, as the fitter that asks)."""
    splits = [inner_splits(data, folds) for data in datas]
    flat = [(i, train, test) for i, pairs in enumerate(splits) for train, test in pairs]
    targets = list(datas[0].targets)
    designs = [build_design(train, targets, basis) for _, train, _ in flat]
    scores: list[dict[int, list[float]]] = [{d: [] for d in candidates} for _ in datas]
    for d in candidates:
        fits = fit_many(designs, [seed] * len(designs), d, full=False, lrs=lrs, schedule=schedule)
        for (i, _, test), design, (basic, _) in zip(flat, designs, fits, strict=True):
            pred = basic.predict(design.covariates(test.models), query_weights(design, test.models), design.chance)
            truth = test.matrix(targets).select(targets).to_numpy().astype(float)
            scores[i][d].append(float(np.nanmean(np.abs(pred - truth))))
    means = [{d: float(np.mean(v)) if v else float("inf") for d, v in s.items()} for s in scores]
    chosen = [min(candidates, key=lambda d, m=m: (m[d], d)) for m in means]
    return chosen, means
