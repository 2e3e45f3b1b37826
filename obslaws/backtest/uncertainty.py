"""How far a backtest's MAE could move on other test models: a family (cluster) bootstrap.

A forward protocol's MAE is measured on a few dozen families, and errors within a family go
together (one family's chat models miss GSM8K the same way, a lab's models share a data mix), so
the figure is less certain than its cell count suggests. Resampling whole families with
replacement, the same draw in every split (a family tested at two cuts of a rolling forecast
counts in both), and recomputing the MAE exactly as the summary does (``metrics.summarise``: per
benchmark, within each split first where the protocol averages by split, then across
benchmarks) gives a percentile interval. Two fitters scored on the same draws, on the cells both
scored (``shared.py``), give a paired interval of their ratio: what "0.64x the baseline" could have
read on other families.

Each replicate is cheap: a cell's absolute error is summed into a (cluster, group) matrix once,
and a replicate's group means are two products of its cluster weights with those matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from obslaws.backtest.shared import on_shared, shared_keys

N_BOOT = 2000
LEVEL = 0.9


@dataclass(frozen=True)
class Interval:
    """A statistic measured on the backtest's own test models and its bootstrap percentile interval."""

    estimate: float
    lower: float
    upper: float
    level: float = LEVEL

    def __str__(self) -> str:
        return f"{self.estimate:.2f} [{self.lower:.2f}, {self.upper:.2f}]"


def cluster_labels(cells: pl.DataFrame, models: pl.DataFrame) -> np.ndarray:
    """Per cell: its model's family, or the model itself where ``models`` gives none."""
    if "family" not in models.columns:
        return cells["model_id"].to_numpy()
    families = models.select("model_id", pl.col("family").cast(pl.Utf8)).unique("model_id", keep="first")
    joined = cells.select("model_id").join(families, on="model_id", how="left", maintain_order="left")
    return joined.select(pl.coalesce(pl.col("family").replace("", None), "model_id")).to_series().to_numpy()


@lru_cache(maxsize=64)
def bootstrap_weights(n_clusters: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n_clusters): how many times each cluster is drawn in each replicate (read-only: the
    draws depend on these three numbers alone, so a report's backtests with as many families share them)."""
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)
    weights.flags.writeable = False
    return weights


class MaeReplicates:
    """One backtest's average MAE (points) as a function of per-cluster weights."""

    def __init__(self, cells: pl.DataFrame, averaging: str, cluster_index: np.ndarray, n_clusters: int) -> None:
        scored = cells.select(
            "benchmark",
            (pl.col("split").cast(pl.Utf8) if averaging == "split" else pl.lit("")).alias("split"),
            (100 * (pl.col("prediction") - pl.col("truth")).abs()).alias("abs_pt"),
        )
        keep = scored["abs_pt"].is_not_null().to_numpy()
        group = pl.concat_str("benchmark", pl.lit("\x00"), "split")
        groups = scored.select(group.rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
        benchmarks = scored["benchmark"].rank("dense").cast(pl.Int64).to_numpy() - 1
        groups, benchmarks, clusters = groups[keep], benchmarks[keep], cluster_index[keep]
        n_groups = int(groups.max()) + 1 if groups.size else 0
        self.errors = np.zeros((n_clusters, n_groups))  # summed absolute error per (cluster, group)
        self.counts = np.zeros((n_clusters, n_groups))
        np.add.at(self.errors, (clusters, groups), scored["abs_pt"].to_numpy()[keep])
        np.add.at(self.counts, (clusters, groups), 1.0)
        # (group, benchmark): which benchmark each group (a benchmark within a split) belongs to
        self.benchmark_of = np.zeros((n_groups, int(benchmarks.max()) + 1 if benchmarks.size else 0))
        self.benchmark_of[groups, benchmarks] = 1.0

    def evaluate(self, weights: np.ndarray) -> np.ndarray:
        """The average MAE under each row of ``weights`` (n, n_clusters); NaN where no cell is drawn."""
        total, count = weights @ self.errors, weights @ self.counts
        drawn = count > 0
        group_mae = np.divide(total, count, out=np.zeros_like(total), where=drawn)
        per_benchmark_groups = drawn.astype(float) @ self.benchmark_of
        with np.errstate(invalid="ignore", divide="ignore"):
            per_benchmark = (group_mae @ self.benchmark_of) / per_benchmark_groups
            present = per_benchmark_groups > 0
            return np.where(present, per_benchmark, 0.0).sum(axis=1) / present.sum(axis=1)


def _on(scored: tuple[pl.DataFrame, np.ndarray], keys: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """A backtest's (cells, clusters) at ``keys`` only."""
    cells, clusters = scored
    kept = on_shared(cells.with_columns(pl.Series("_cluster", np.asarray(clusters, dtype=object).astype(str))), keys)
    return kept.drop("_cluster"), kept["_cluster"].to_numpy()


def _index(labels: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Every array of labels as indices into their sorted union, and the union's size."""
    universe = np.unique(np.concatenate([np.asarray(x, dtype=object).astype(str) for x in labels]))
    return [np.searchsorted(universe, np.asarray(x, dtype=object).astype(str)) for x in labels], universe.size


def _percentiles(replicates: np.ndarray, estimate: float, level: float) -> Interval:
    tail = (1 - level) / 2
    lower, upper = np.nanquantile(replicates, [tail, 1 - tail])
    return Interval(float(estimate), float(lower), float(upper), level)


def mae_interval(
    cells: pl.DataFrame,
    averaging: str,
    clusters: np.ndarray,
    level: float = LEVEL,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Interval:
    """The backtest's average MAE (as its summary computes it) and a percentile interval from
    resampling the ``clusters`` (one label per cell: ``cluster_labels``)."""
    (index,), n = _index([clusters])
    replicates = MaeReplicates(cells, averaging, index, n)
    estimate = float(replicates.evaluate(np.ones((1, n)))[0])
    return _percentiles(replicates.evaluate(bootstrap_weights(n, n_boot, seed)), estimate, level)


def ratio_interval(
    numerator: tuple[pl.DataFrame, np.ndarray],
    denominator: tuple[pl.DataFrame, np.ndarray],
    averaging: str,
    level: float = LEVEL,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Interval:
    """MAE of one backtest over another's ((cells, clusters) each, same protocol) on the cells both
    scored (``shared.shared_keys``: a fitter that left some test models out is not compared on
    them), both recomputed on the same resampled clusters: a paired interval of the ratio."""
    keys = shared_keys([numerator[0], denominator[0]])
    (top_cells, top_clusters), (bottom_cells, bottom_clusters) = (_on(side, keys) for side in (numerator, denominator))
    (top, bottom), n = _index([top_clusters, bottom_clusters])
    a = MaeReplicates(top_cells, averaging, top, n)
    b = MaeReplicates(bottom_cells, averaging, bottom, n)
    ones, weights = np.ones((1, n)), bootstrap_weights(n, n_boot, seed)
    estimate = float(a.evaluate(ones)[0] / b.evaluate(ones)[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return _percentiles(a.evaluate(weights) / b.evaluate(weights), estimate, level)
