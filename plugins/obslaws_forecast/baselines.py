"""Baselines for matrix completion and forecasting.

- ``benchmark-mean``: every prediction is the benchmark's mean training score (the floor any
  forecaster must beat);
- ``logit-svd``: rank-k (default 2) completion of the logit score matrix, targets and every
  other benchmark the models have (iterated SVD on column-centred logits); a model's missing
  scores come from a ridge fit of its observed ones on the benchmark factors, a model with no
  scores gets the benchmark means. The BenchPress paper's low-rank baseline.

Intervals: the 90% quantile of the training residuals (in-sample, so expect under-coverage).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws import Fitter, Requirements
from obslaws.data import FitData, prediction_frame
from obslaws.errors import FitterError

from .completion import ResidualCompletion
from .matrix import LogitMatrix, input_benchmarks
from .scale import from_logit


def _frame(query: FitData, targets: tuple[str, ...], pred: np.ndarray, half: np.ndarray) -> pl.DataFrame:
    n, k = pred.shape
    return prediction_frame(
        np.repeat(query.models["model_id"].to_numpy(), k).tolist(),
        np.tile(np.array(targets, dtype=object), n).tolist(),
        pred.ravel(),
        np.clip(pred - half, 0, 1).ravel(),
        np.clip(pred + half, 0, 1).ravel(),
    )


class BenchmarkMean(Fitter):
    """The mean training score of each benchmark, for every model."""

    name: ClassVar[str] = "benchmark-mean"
    version: ClassVar[str] = "1"
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"scores"}), min_models=1)

    def __init__(self, *, interval: float = 0.9) -> None:
        self.interval = interval

    def _fit(self, data: FitData) -> None:
        wide = data.matrix(self.targets_).select(self.targets_).to_numpy().astype(float)
        lacking = [t for t, n in zip(self.targets_, (~np.isnan(wide)).sum(axis=0), strict=True) if n == 0]
        if lacking:
            raise FitterError(f"{self.name}: no training scores for {lacking}")
        self.mean_ = np.nanmean(wide, axis=0)
        self.half_ = np.nanquantile(np.abs(wide - self.mean_), float(self.interval), axis=0)

    def _predict(self, query: FitData) -> pl.DataFrame:
        n = query.models.height
        return _frame(query, self.targets_, np.tile(self.mean_, (n, 1)), self.half_)


class LogitSVD(Fitter):
    """Rank-k completion of the logit score matrix (no covariates)."""

    name: ClassVar[str] = "logit-svd"
    version: ClassVar[str] = "1"
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"scores"}), min_models=3)

    def __init__(
        self,
        *,
        rank: int = 2,
        alpha: float = 0.1,
        max_inputs: int = 30,
        min_input_models: int = 15,
        interval: float = 0.9,
    ) -> None:
        self.rank = rank
        self.alpha = alpha
        self.max_inputs = max_inputs
        self.min_input_models = min_input_models
        self.interval = interval

    def _fit(self, data: FitData) -> None:
        inputs = input_benchmarks(data, self.targets_, int(self.min_input_models), int(self.max_inputs))
        matrix = LogitMatrix.build(data, [*self.targets_, *inputs])
        counts = matrix.observed.sum(axis=0)
        if (counts[: len(self.targets_)] == 0).any():
            raise FitterError(f"{self.name}: a target has no training scores")
        self.benchmarks_, self.chance_ = matrix.benchmarks, matrix.chance
        self.mean_ = (matrix.z * matrix.observed).sum(axis=0) / np.maximum(counts, 1)
        centred = np.where(matrix.observed, matrix.z - self.mean_, 0.0)
        self.completion_ = ResidualCompletion(rank=int(self.rank), alpha=float(self.alpha)).fit(
            centred, matrix.observed
        )
        fitted = self.mean_ + self.completion_.predict(centred, matrix.observed)
        k = len(self.targets_)
        y = from_logit(matrix.z, matrix.chance[None, :])
        resid = np.where(matrix.observed, np.abs(from_logit(fitted, matrix.chance[None, :]) - y), np.nan)[:, :k]
        self.half_ = np.nanquantile(resid, float(self.interval), axis=0)

    def _predict(self, query: FitData) -> pl.DataFrame:
        matrix = LogitMatrix.build(query, self.benchmarks_)
        centred = np.where(matrix.observed, matrix.z - self.mean_, 0.0)
        logits = self.mean_ + self.completion_.predict(centred, matrix.observed)
        k = len(self.targets_)
        return _frame(query, self.targets_, from_logit(logits[:, :k], self.chance_[None, :k]), self.half_)

    def learned_parameters(self) -> dict[str, Any]:
        return {"targets": list(self.targets_), "inputs": list(self.benchmarks_[len(self.targets_) :])}
