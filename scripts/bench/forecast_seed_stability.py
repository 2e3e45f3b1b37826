"""How much the forecaster's own forecasts move with its inner folds' seed: no truths needed.

    python scripts/bench/forecast_seed_stability.py                  # seeds 0, 1, 2 on OLL v1
    python scripts/bench/forecast_seed_stability.py --seeds 0,1,2,3 --benchmarks oll-v1
    python scripts/bench/forecast_seed_stability.py --draws 1,2      # one and two draws of the folds

Fits the forecaster on the registry's benchmark set once per seed (``random_state``: which family
groups and which half of each model's scores its inner folds hold out) and predicts the cells the
refresh would: every model's missing target scores. Prints each cell's range over the seeds
(largest - smallest prediction, points) by query kind and by benchmark, and the cells that move
most. A forecast that moves by several points with an arbitrary seed is one draw of the inner
folds, not a property of the data (docs/forecasting.md, "How much the inner folds' seed moves the
figures"). ``--draws`` runs the whole comparison once per number of draws of the random inner folds
(``inner_draws``) in this process, and prints each one's fit-and-predict CPU seconds per seed and
their ratio to the first's. Set OBSLAWS_BENCH_DB to reuse a database built from the registry.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import polars as pl


def seed_predictions(data, seeds: list[int], **options) -> tuple[pl.DataFrame, object, list[float]]:
    """Per missing target cell, its prediction at each seed (columns ``p<seed>``), the first fit and
    each seed's fit-and-predict CPU seconds (``options``: the forecaster's other hyperparameters)."""
    from obslaws_forecast import ForecastFitter

    observed = data.scores.select("model_id", "benchmark").with_columns(seen=pl.lit(True))
    table, first, seconds = None, None, []
    for seed in seeds:
        tic = time.process_time()
        fitted = ForecastFitter(random_state=seed, **options).fit(data)
        first = first or fitted
        missing = fitted.predict(data).join(observed, on=["model_id", "benchmark"], how="left")  # members fit here
        seconds.append(time.process_time() - tic)
        column = missing.filter(pl.col("seen").is_null()).select(
            "model_id", "benchmark", pl.col("prediction").alias(f"p{seed}")
        )
        table = column if table is None else table.join(column, on=["model_id", "benchmark"])
    return table, first, seconds


def summary(table: pl.DataFrame, kinds: pl.DataFrame, seeds: list[int]) -> str:
    """Each cell's range over the seeds, in points, by query kind and by benchmark, and the largest."""
    columns = [f"p{s}" for s in seeds]
    moved = table.with_columns(range_pt=(pl.max_horizontal(columns) - pl.min_horizontal(columns)) * 100).join(
        kinds, on="model_id"
    )
    stats = [
        pl.len().alias("cells"),
        pl.col("range_pt").mean().alias("mean"),
        pl.col("range_pt").quantile(0.9).alias("p90"),
        pl.col("range_pt").max().alias("max"),
    ]
    with pl.Config(tbl_rows=40, tbl_cols=12, float_precision=2):
        return "\n\n".join(
            [
                f"Each missing cell's prediction range over seeds {', '.join(map(str, seeds))} (points)",
                str(moved.select(stats)),
                str(moved.group_by("kind").agg(stats).sort("kind")),
                str(moved.group_by("benchmark").agg(stats).sort("benchmark")),
                str(moved.sort("range_pt", descending=True).head(10)),
            ]
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--benchmarks", default="oll-v1", help="a benchmark set of the registry")
    parser.add_argument("--draws", default=None, help="comma list of the forecaster's inner_draws (default: its own)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if len(seeds) < 2:
        parser.error("give two seeds or more")
    from forecast_table import _database  # the registry's database, as the forecast table builds it

    from obslaws.benchmark_sets import resolve_benchmarks
    from obslaws.store.read import load_fit_data

    conn, _ = _database()
    data = load_fit_data(conn, resolve_benchmarks(args.benchmarks))
    options = [{}] if args.draws is None else [{"inner_draws": int(d)} for d in args.draws.split(",") if d.strip()]
    seconds = []
    for option in options:
        table, first, cpu = seed_predictions(data, seeds, **option)
        seconds.append(float(np.median(cpu)))  # the median: the first fit compiles the stacked members
        kinds = pl.DataFrame({"model_id": data.models["model_id"], "kind": first.query_kinds_of(data.models)})
        print(f"== {option or 'the default'}\n\n{summary(table, kinds, seeds)}\n")
    for option, cpu in zip(options, seconds, strict=True):
        label = option or "the default"
        print(f"{label}: median {cpu:.1f} CPU s per seed's fit and predict, {cpu / seconds[0]:.2f}x the first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
