"""How much the forecaster's own forecasts move with its inner folds' seed: no truths needed.

    python scripts/bench/forecast_seed_stability.py                  # seeds 0, 1, 2 on OLL v1
    python scripts/bench/forecast_seed_stability.py --seeds 0,1,2,3 --benchmarks oll-v1

Fits the forecaster on the registry's benchmark set once per seed (``random_state``: which family
groups and which half of each model's scores its inner folds hold out) and predicts the cells the
refresh would: every model's missing target scores. Prints each cell's range over the seeds
(largest - smallest prediction, points) by query kind and by benchmark, and the cells that move
most. A forecast that moves by several points with an arbitrary seed is one draw of the inner
folds, not a property of the data (docs/forecasting.md, "How much the inner folds' seed moves the
figures"). Set OBSLAWS_BENCH_DB to reuse a database built from the registry.
"""

from __future__ import annotations

import argparse
import sys

import polars as pl


def seed_predictions(data, seeds: list[int], **options) -> tuple[pl.DataFrame, object]:
    """Per missing target cell, its prediction at each seed (columns ``p<seed>``), and the first fit
    (``options``: the forecaster's other hyperparameters)."""
    from obslaws_forecast import ForecastFitter

    observed = data.scores.select("model_id", "benchmark").with_columns(seen=pl.lit(True))
    table, first = None, None
    for seed in seeds:
        fitted = ForecastFitter(random_state=seed, **options).fit(data)
        first = first or fitted
        missing = fitted.predict(data).join(observed, on=["model_id", "benchmark"], how="left")
        column = missing.filter(pl.col("seen").is_null()).select(
            "model_id", "benchmark", pl.col("prediction").alias(f"p{seed}")
        )
        table = column if table is None else table.join(column, on=["model_id", "benchmark"])
    return table, first


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
    parser.add_argument("--draws", type=int, default=None, help="the forecaster's inner_draws (default: its own)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if len(seeds) < 2:
        parser.error("give two seeds or more")
    from forecast_table import _database  # the registry's database, as the forecast table builds it

    from obslaws.benchmark_sets import resolve_benchmarks
    from obslaws.store.read import load_fit_data

    conn, _ = _database()
    data = load_fit_data(conn, resolve_benchmarks(args.benchmarks))
    options = {} if args.draws is None else {"inner_draws": args.draws}
    table, first = seed_predictions(data, seeds, **options)
    kinds = pl.DataFrame({"model_id": data.models["model_id"], "kind": first.query_kinds_of(data.models)})
    print(summary(table, kinds, seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
