"""The logit matrix a forecaster fits: targets first, then the input benchmarks, with gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from obslaws.data import FitData

from .scale import to_logit


@dataclass
class LogitMatrix:
    models: pl.DataFrame
    benchmarks: tuple[str, ...]
    z: np.ndarray  # (n, J) logits, 0 where missing
    observed: np.ndarray  # (n, J) bool
    chance: np.ndarray  # (J,)

    @classmethod
    def build(cls, data: FitData, benchmarks: Sequence[str]) -> LogitMatrix:
        names = list(benchmarks)
        wide = data.matrix(names)
        y = wide.select(names).to_numpy().astype(float) if names else np.zeros((wide.height, 0))
        chance = np.array([data.chance(b) for b in names])
        observed = ~np.isnan(y)
        z = np.where(observed, to_logit(np.nan_to_num(y), chance), 0.0)
        return cls(data.models, tuple(names), z, observed, chance)


def input_benchmarks(data: FitData, targets: Sequence[str], min_models: int, limit: int) -> tuple[str, ...]:
    """Non-target benchmarks scored for at least ``min_models`` models, the ``limit`` most covered."""
    counts = (
        data.scores.filter(~pl.col("benchmark").is_in(list(targets)))
        .group_by("benchmark")
        .agg(pl.col("model_id").n_unique().alias("n"))
        .filter(pl.col("n") >= min_models)
        .sort(["n", "benchmark"], descending=[True, False])
    )
    return tuple(counts["benchmark"].head(limit).to_list())
