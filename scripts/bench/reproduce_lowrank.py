"""Reproduce Ruan et al. (2024) with lowrank: compute cut-off MSE, coefficients, family hold-out.

Usage::

    python scripts/bench/reproduce_lowrank.py --db obslaws.duckdb [--skip-holdout]

Prints (1) the four compute cut-off backtests on the paper's 77-model default set (source
``obsscaling-43dad32``) beside the published test MSE, (2) the fitted logit coefficients beside
the published ones, and (3) the Sloth family hold-out (n_train = 1, source ``sloth-data-v2``)
for lowrank ("PCA + FLOPs (adapted)": capabilities from compute and family) and the log-FLOPs
baseline, beside the Sloth paper's 6.0 / 5.4 / 5.6 points for v1 / v2 / all.
"""

from __future__ import annotations

import argparse

import polars as pl
from obslaws_lowrank import LogFlopsSigmoidFitter, LowRankFitter
from obslaws_lowrank.tables import coefficient_table, reproduction_table

import obslaws
from obslaws.backtest import run_backtest

SLOTH_PAPER_MAE = {"oll-v1": 6.0, "oll-v2": 5.4, "oll-all": 5.6}


def holdout_table(conn) -> pl.DataFrame:
    rows = []
    for bset, paper in SLOTH_PAPER_MAE.items():
        fitters = {
            "lowrank": LowRankFitter(input_benchmarks=bset, capabilities_from="compute"),
            "obsscaling-logflops": LogFlopsSigmoidFitter(),
        }
        for name, fitter in fitters.items():
            result = run_backtest(
                fitter, conn, "family-holdout", benchmarks=bset, source="sloth-data-v2", n_train=1, write=False
            )
            summary = result.summary()
            rows.append(
                {
                    "set": bset,
                    "fitter": name,
                    "mae_pt": summary["average"]["mae_pt"],
                    "paper_pca_flops_mae_pt": paper,
                    "coverage": summary["coverage"],
                    "n_groups": summary["n_groups"],
                }
            )
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None, help="obslaws database (default $OBSLAWS_DB)")
    parser.add_argument("--skip-holdout", action="store_true", help="skip the family hold-out (about a minute)")
    args = parser.parse_args()
    conn = obslaws.connect(args.db, read_only=True, plugins=False)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
        print(reproduction_table(conn))
        print(coefficient_table(conn))
        if not args.skip_holdout:
            print(holdout_table(conn))


if __name__ == "__main__":
    main()
