"""Backtest metrics: MAE in points, MSE, Spearman, interval coverage, width and score, and the
noise floor.

Every metric is computed per benchmark and then averaged across benchmarks (unweighted), as
the papers do. How test cells become a benchmark's number depends on the protocol:

- ``averaging="split"`` (family-holdout): mean within each split (a held-out family group),
  then the mean across splits: the Sloth paper's aggregation;
- ``averaging="cell"`` (compute-cutoff, time-split): one mean over all test cells.

Spearman's rank correlation is always computed over all test cells of a benchmark pooled,
coverage over the cells that have an interval, and the noise floor is the mean sampling
standard error of the test scores (in points), with the same averaging as the MAE.

Coverage alone rewards width and width alone rewards missing, so intervals are also scored by
the interval score (Gneiting and Raftery 2007, a proper scoring rule for central intervals):
width + 2 / (1 - level) x how far the truth falls outside, in points, at the nominal ``LEVEL``
that coverage is read against (every registered fitter's default). Lower is better; two
interval methods that cover alike are told apart by it, and so are two that cover alike on
average by covering different cells (an interval that never reaches a score at the floor and one
that spans the whole scale there).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

LEVEL = 0.9  # the nominal level of every registered fitter's intervals, which coverage is read against


def cell_stderr(cells: pl.DataFrame, benchmarks: pl.DataFrame) -> pl.Series:
    """The sampling standard error of each cell's truth: its own, else binomial sqrt(p(1-p)/n)."""
    n_items = benchmarks.select("benchmark", pl.col("n_items").cast(pl.Float64).alias("_n_items"))
    joined = cells.select("benchmark", "truth", "stderr").join(n_items, on="benchmark", how="left")
    binomial = (pl.col("truth") * (1 - pl.col("truth")) / pl.col("_n_items")).sqrt()
    return joined.select(
        pl.when(pl.col("stderr").is_not_null())
        .then(pl.col("stderr"))
        .when(pl.col("_n_items") > 0)
        .then(binomial)
        .otherwise(None)
        .alias("stderr")
    )["stderr"]


def _spearman(truth: np.ndarray, prediction: np.ndarray) -> float | None:
    if len(truth) < 3 or np.all(truth == truth[0]) or np.all(prediction == prediction[0]):
        return None
    rho = stats.spearmanr(truth, prediction).statistic
    return None if not np.isfinite(rho) else float(rho)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None


def interval_score(lower: Any, upper: Any, truth: Any, level: float = LEVEL) -> Any:
    """Per cell: the interval's width plus 2 / (1 - ``level``) times the truth's distance outside
    it, on numpy arrays or polars expressions alike (null where a bound is)."""
    return upper - lower + 2.0 / (1.0 - level) * ((lower - truth).clip(0) + (truth - upper).clip(0))


def benchmark_metrics(cells: pl.DataFrame, averaging: str = "split") -> dict[str, dict[str, Any]]:
    """Per-benchmark metrics from backtest cells.

    ``cells`` needs ``split, model_id, benchmark, truth, prediction, lower, upper, stderr``
    (``stderr`` already filled by :func:`cell_stderr`).
    """
    frame = cells.with_columns(
        (pl.col("prediction") - pl.col("truth")).abs().alias("_abs"),
        ((pl.col("prediction") - pl.col("truth")) ** 2).alias("_sq"),
        (pl.col("prediction") - pl.col("truth")).alias("_err"),
        pl.when(pl.col("lower").is_not_null() & pl.col("upper").is_not_null())
        .then((pl.col("lower") <= pl.col("truth")) & (pl.col("truth") <= pl.col("upper")))
        .otherwise(None)
        .alias("_covered"),
        (pl.col("upper") - pl.col("lower")).alias("_width"),
        interval_score(pl.col("lower"), pl.col("upper"), pl.col("truth")).alias("_interval_score"),
    )
    keys = ["benchmark", "split"] if averaging == "split" else ["benchmark"]
    per = frame.group_by(keys, maintain_order=True).agg(
        pl.col("_abs").mean().alias("mae"),
        pl.col("_sq").mean().alias("mse"),
        pl.col("_err").mean().alias("bias"),
        pl.col("stderr").mean().alias("se"),
    )
    if averaging == "split":
        per = per.group_by("benchmark", maintain_order=True).agg(
            pl.col("mae").mean(),
            pl.col("mse").mean(),
            pl.col("bias").mean(),
            pl.col("se").mean(),
            pl.len().alias("n_splits"),
        )
    else:
        per = per.with_columns(pl.lit(1, dtype=pl.UInt32).alias("n_splits"))
    pooled = frame.group_by("benchmark", maintain_order=True).agg(
        pl.len().alias("n"),
        pl.col("_covered").mean().alias("coverage"),
        pl.col("_covered").count().alias("n_intervals"),
        pl.col("_width").mean().alias("width"),
        pl.col("_interval_score").mean().alias("interval_score"),
        pl.col("model_id").n_unique().alias("n_models"),
    )
    out: dict[str, dict[str, Any]] = {}
    by_bench = {row["benchmark"]: row for row in per.iter_rows(named=True)}
    for row in pooled.iter_rows(named=True):
        name = row["benchmark"]
        sub = frame.filter(pl.col("benchmark") == name)
        agg = by_bench[name]
        se = _clean(agg["se"])
        out[name] = {
            "mae_pt": 100 * agg["mae"],
            "mse": agg["mse"],
            "bias_pt": 100 * agg["bias"],
            "spearman": _spearman(sub["truth"].to_numpy(), sub["prediction"].to_numpy()),
            "coverage": _clean(row["coverage"]),
            "interval_width_pt": None if _clean(row["width"]) is None else 100 * row["width"],
            "interval_score_pt": None if _clean(row["interval_score"]) is None else 100 * row["interval_score"],
            "noise_floor_pt": None if se is None else 100 * se,
            "n": int(row["n"]),
            "n_models": int(row["n_models"]),
            "n_splits": int(agg["n_splits"]),
            "n_intervals": int(row["n_intervals"]),
        }
    return out


def average_mae(cells: pl.DataFrame, averaging: str = "split") -> float | None:
    """The summary's average MAE in points (``summarise(cells, averaging)["average"]["mae_pt"]``) from
    ``split, benchmark, truth, prediction`` alone, without the other metrics' cost."""
    keys = ["benchmark", "split"] if averaging == "split" else ["benchmark"]
    per = cells.group_by(keys, maintain_order=True).agg((pl.col("prediction") - pl.col("truth")).abs().mean())
    if averaging == "split":
        per = per.group_by("benchmark", maintain_order=True).agg(pl.col("prediction").mean())
    return _mean([100 * v for v in per["prediction"].to_list() if v is not None])


def pooled_metrics(cells: pl.DataFrame) -> dict[str, Any]:
    """Over every test cell at once (as matrix-completion papers report): MAE, bias, median
    absolute error (points), median absolute percentage error (cells with a positive truth),
    share of cells within 3 and 5 points, coverage."""
    if not cells.height:
        return {}
    error = (cells["prediction"] - cells["truth"]).to_numpy()
    truth = cells["truth"].to_numpy()
    positive = truth > 0
    covered = cells.select(
        pl.when(pl.col("lower").is_not_null() & pl.col("upper").is_not_null())
        .then((pl.col("lower") <= pl.col("truth")) & (pl.col("truth") <= pl.col("upper")))
        .otherwise(None)
    ).to_series()
    return {
        "mae_pt": float(100 * np.mean(np.abs(error))),
        "bias_pt": float(100 * np.mean(error)),
        "median_ae_pt": float(100 * np.median(np.abs(error))),
        "mdape_pct": float(100 * np.median(np.abs(error[positive]) / truth[positive])) if positive.any() else None,
        "within_3pt": float(np.mean(np.abs(error) <= 0.03)),
        "within_5pt": float(np.mean(np.abs(error) <= 0.05)),
        "coverage": _clean(covered.mean()) if covered.count() else None,
        "n": int(cells.height),
    }


def split_metrics(cells: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per split (a cut date, a cut-off, a fold): MAE and bias averaged across benchmarks, coverage."""
    if not cells.height:
        return {}
    per = (
        cells.with_columns((pl.col("prediction") - pl.col("truth")).alias("_err"))
        .group_by(["split", "benchmark"], maintain_order=True)
        .agg(
            pl.col("_err").abs().mean().alias("mae"),
            pl.col("_err").mean().alias("bias"),
            pl.len().alias("n"),
            pl.col("model_id").n_unique().alias("n_models"),
        )
        .group_by("split", maintain_order=True)
        .agg(pl.col("mae").mean(), pl.col("bias").mean(), pl.col("n").sum(), pl.col("n_models").max())
    )
    return {
        row["split"]: {
            "mae_pt": 100 * row["mae"],
            "bias_pt": 100 * row["bias"],
            "n": int(row["n"]),
            "n_models": int(row["n_models"]),
        }
        for row in per.iter_rows(named=True)
    }


def summarise(cells: pl.DataFrame, averaging: str = "split") -> dict[str, Any]:
    """``{"benchmarks": {name: {...}}, "average": {...}, "noise_floor_pt", "coverage", "pooled",
    "splits", ...}``."""
    per = benchmark_metrics(cells, averaging) if cells.height else {}
    average = {
        "mae_pt": _mean([m["mae_pt"] for m in per.values()]),
        "bias_pt": _mean([m["bias_pt"] for m in per.values()]),
        "mse": _mean([m["mse"] for m in per.values()]),
        "spearman": _mean([m["spearman"] for m in per.values()]),
        "coverage": _mean([m["coverage"] for m in per.values()]),
        # beside coverage: an interval covers more by being wider, so how wide it is is half the figure
        "interval_width_pt": _mean([m["interval_width_pt"] for m in per.values()]),
        # both in one proper score: the width plus 20 times each miss's distance (LEVEL 0.9)
        "interval_score_pt": _mean([m["interval_score_pt"] for m in per.values()]),
        "noise_floor_pt": _mean([m["noise_floor_pt"] for m in per.values()]),
    }
    return {
        "benchmarks": per,
        "average": average,
        "pooled": pooled_metrics(cells),
        "splits": split_metrics(cells),
        "noise_floor_pt": average["noise_floor_pt"],
        "coverage": average["coverage"],
        "n_cells": cells.height,
    }
