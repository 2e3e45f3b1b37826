"""What one backtest run measured: its splits, every scored cell, and the summary of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from obslaws.backtest.base import UNTRAINED, Split
from obslaws.backtest.metrics import summarise
from obslaws.backtest.uncertainty import mae_interval
from obslaws.data import FitData
from obslaws.fitting.contract import Fitter


@dataclass
class BacktestResult:
    """Everything one backtest run measured. ``cells`` has one row per (split, model, benchmark)."""

    backtest_id: str
    fitter: str
    fitter_version: str
    plugin: str | None
    hyperparameters: dict[str, Any]
    protocol: str
    options: dict[str, Any]
    benchmarks: tuple[str, ...]
    averaging: str
    data_hash: str
    splits: list[Split]
    cells: pl.DataFrame
    fit_rows: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    n_models: int = 0
    written: bool = False
    # With run_backtest(keep_models=True): each split's fitted model and its query (scores hidden).
    fitted: list[Fitter] = field(default_factory=list, repr=False)
    queries: list[FitData] = field(default_factory=list, repr=False)
    # per cell, its model's family (uncertainty.cluster_labels): what the MAE's interval resamples
    clusters: np.ndarray | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """The JSON summary: per benchmark and average MAE (points), MSE, Spearman, coverage, noise floor."""
        metrics = summarise(self.cells, self.averaging)
        return {
            "fitter": self.fitter,
            "fitter_version": self.fitter_version,
            "plugin": self.plugin,
            "hyperparameters": self.hyperparameters,
            "protocol": self.protocol,
            "options": self.options,
            "backtest_id": self.backtest_id,
            "benchmarks": metrics["benchmarks"],
            "average": metrics["average"],
            "pooled": metrics["pooled"],
            "splits": metrics["splits"],
            "n_groups": len(self.splits),
            **self._untrained(),
            "n_models": self.n_models,
            "n_test_models": self.cells["model_id"].n_unique() if self.cells.height else 0,
            "n_cells": metrics["n_cells"],
            "noise_floor_pt": metrics["noise_floor_pt"],
            "mae_interval_pt": self._mae_interval(),
            "coverage": metrics["coverage"],
            "duration_s": self.duration_s,
            "data_hash": self.data_hash,
        }

    def _untrained(self) -> dict[str, Any]:
        """Per split, the targets no training model was scored on (not scored there), where any."""
        untrained = {s.name: s.info[UNTRAINED] for s in self.splits if s.info.get(UNTRAINED)}
        return {UNTRAINED: untrained} if untrained else {}

    def _mae_interval(self) -> list[float] | None:
        """The average MAE's 90% interval over resampled test families (uncertainty.py), where known."""
        if self.clusters is None or not self.cells.height:
            return None
        interval = mae_interval(self.cells, self.averaging, self.clusters)
        bounds = [interval.lower, interval.upper]
        return bounds if all(np.isfinite(bounds)) else None  # the summary is stored as JSON

    def table(self) -> pl.DataFrame:
        """One row per benchmark plus an ``average`` row: mae_pt, mse, spearman, coverage, noise floor, n."""
        summary = self.summary()
        rows = [{"benchmark": name, **metrics} for name, metrics in summary["benchmarks"].items()]
        rows.append({"benchmark": "average", **summary["average"], "n": summary["n_cells"]})
        columns = ["benchmark", "mae_pt", "mse", "spearman", "coverage", "noise_floor_pt", "n"]
        return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema_overrides={"spearman": pl.Float64})
