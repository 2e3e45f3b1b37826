"""Composite tasks: one benchmark (and its task loss) as the weighted mean of several.

The OLMo ladder treats MMLU as one task: its bits per byte and its accuracy are the
item-weighted means of the four subject groups, and the two-step law is fitted to those
means (not one law per subject, averaged afterwards).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws_loss2loss.fitter import resolve_loss_dataset


def _weighted(frame: pl.DataFrame, key: str, weights: Mapping[str, float], name: str) -> pl.DataFrame:
    """Per model, the weighted mean of ``value`` over the ``key`` values in ``weights``; models
    missing any part are left out (a partial mean would not be the same task)."""
    total = float(sum(weights.values()))
    w = pl.DataFrame({key: list(weights), "w": [v / total for v in weights.values()]})
    return (
        frame.join(w, on=key)
        .group_by("model_id")
        .agg((pl.col("value") * pl.col("w")).sum().alias("value"), pl.len().alias("parts"))
        .filter(pl.col("parts") == len(weights))
        .drop("parts")
        .with_columns(pl.lit(name).alias(key))
    )


def add_weighted_task(data: FitData, name: str, parts: Mapping[str, float]) -> FitData:
    """``data`` plus benchmark ``name`` and its loss data set, weighted means of ``parts``.

    Parameters
    ----------
    data:
        Must hold scores for every benchmark in ``parts`` and each one's task loss (found as the
        fitter finds it: the data set named like the benchmark, without an ``olmo_`` prefix).
    name:
        The composite benchmark, e.g. ``olmo_mmlu_test_rc_5shot``; its loss data set is named
        like it without the ``olmo_`` prefix, so the ``loss2loss`` fitter finds it.
    parts:
        ``{benchmark: weight}`` (for MMLU the subjects' item counts); normalised to sum to 1.

    Returns
    -------
    FitData
        With the composite's scores, losses and benchmark row added; targets unchanged.
    """
    if not parts:
        raise FitterError("add_weighted_task: no parts")
    datasets = sorted(set(data.losses["dataset"].to_list()))
    loss_parts = {resolve_loss_dataset(b, datasets, None): w for b, w in parts.items()}
    units = data.losses.filter(pl.col("dataset").is_in(list(loss_parts)))["unit"].unique().to_list()
    if len(units) > 1:
        raise FitterError(f"add_weighted_task: the parts' losses have several units {units}")
    scores = _weighted(data.scores.select("model_id", "benchmark", "value"), "benchmark", parts, name)
    losses = _weighted(data.losses.select("model_id", "dataset", "value"), "dataset", loss_parts, name)
    losses = losses.with_columns(
        pl.lit(name.removeprefix("olmo_")).alias("dataset"), pl.lit(units[0] if units else None).alias("unit")
    )
    rows = data.benchmarks.filter(pl.col("benchmark").is_in(list(parts)))
    weights = pl.DataFrame({"benchmark": list(parts), "w": [float(v) for v in parts.values()]})
    bench = rows.join(weights, on="benchmark").select(
        pl.lit(name).alias("benchmark"),
        pl.col("metric").first(),
        pl.col("n_shots").first(),
        ((pl.col("chance") * pl.col("w")).sum() / pl.col("w").sum()).alias("chance"),
        pl.col("n_items").sum(),
    )
    return FitData.build(
        data.models,
        pl.concat([data.scores, scores], how="diagonal_relaxed"),
        pl.concat([data.losses, losses], how="diagonal_relaxed"),
        pl.concat([data.benchmarks, bench], how="diagonal_relaxed"),
        data.targets,
    )
