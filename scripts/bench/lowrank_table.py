"""lowrank vs the log-FLOPs sigmoid on every emergent, post-training and leaderboard-v2 task (one command).

Usage::

    python scripts/bench/lowrank_table.py --db obslaws.duckdb [--csv out.csv]

Same table as ``obslaws lowrank table``; this script adds a summary: how often lowrank wins,
the median MSE ratio, interval coverage (nominal 90%), and the largest coefficients.
"""

from __future__ import annotations

import argparse

import polars as pl
from obslaws_lowrank.tables import robustness_table

import obslaws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None, help="obslaws database (default $OBSLAWS_DB)")
    parser.add_argument("--source", default="obsscaling-4d6e1e4")
    parser.add_argument("--csv", default=None, help="also write the full table here")
    args = parser.parse_args()
    conn = obslaws.connect(args.db, read_only=True, plugins=False)
    table = robustness_table(conn, source=args.source)
    if args.csv:
        table.write_csv(args.csv)
    family = pl.col("task").str.extract(r"^(bigbench|gsm8k|bbh_cot|bbh_fewshot|leaderboard)", 1).alias("tasks")
    summary = (
        table.group_by(family)
        .agg(
            pl.len().alias("n"),
            (pl.col("ratio") < 1).mean().round(2).alias("lowrank_wins"),
            pl.col("ratio").median().round(3).alias("median_mse_ratio"),
            pl.col("lowrank_mse").mean().alias("lowrank_mse"),
            pl.col("logflops_mse").mean().alias("logflops_mse"),
            pl.col("lowrank_coverage").mean().round(3).alias("lowrank_cov90"),
            pl.col("logflops_coverage").mean().round(3).alias("logflops_cov90"),
            pl.col("max_std_slope").max().round(2),
            pl.col("max_abs_coefficient").max().round(1),
        )
        .sort("tasks")
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=220, fmt_str_lengths=60):
        print(table.sort("ratio", descending=True))
        print(summary)
        print(
            table.select(
                pl.len().alias("n_tasks"),
                (pl.col("ratio") < 1).mean().round(3).alias("lowrank_wins"),
                pl.col("ratio").median().round(3).alias("median_mse_ratio"),
                pl.col("lowrank_coverage").mean().round(3).alias("lowrank_cov90"),
                pl.col("logflops_coverage").mean().round(3).alias("logflops_cov90"),
                pl.col("max_std_slope").max(),
                pl.col("max_abs_coefficient").max(),
            )
        )


if __name__ == "__main__":
    main()
