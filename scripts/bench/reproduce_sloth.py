"""Reproduce the Sloth paper's family-holdout table: seeds x benchmark sets x n, against the paper.

For each setting it fits ``--seeds`` seeds of basic and full Sloth on every fold (one batched
program per setting), restricted to the paper's test groups, and prints the paper's MAE, the
mean and spread over seeds, and the MAE of the mean prediction over seeds (an ensemble).
Per-seed predictions are written to ``--out`` (parquet) for further analysis.

    .venv/bin/python scripts/bench/reproduce_sloth.py                 # registry, source sloth-data-v2
    .venv/bin/python scripts/bench/reproduce_sloth.py --data csv      # data_v2.csv as the paper read it
    .venv/bin/python scripts/bench/reproduce_sloth.py --only oll-v2:1:2 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from obslaws_sloth.batch import family_holdout
from obslaws_sloth.fitter import SlothFitter

from obslaws.backtest import summarise
from obslaws.backtest.paper import paper_errors, sloth_fit_data
from obslaws.data import FitData
from obslaws.threads import set_threads

# The paper's headline settings: (set, n, d); the protocol and its numbers: docs/sloth-paper.md.
SETTINGS = [
    ("oll-v1", 1, 4),
    ("oll-v2", 1, 2),
    ("oll-all", 1, 3),
    ("oll-v1", 2, 2),
    ("oll-v2", 2, 4),
    ("oll-all", 2, 3),
]


def load(kind: str, db: str) -> FitData:
    if kind == "csv":
        return sloth_fit_data()
    import obslaws
    from obslaws.store.read import load_fit_data

    conn = obslaws.connect(db)
    try:
        return load_fit_data(conn, source="sloth-data-v2")
    finally:
        conn.close()


def paper_mae(errors: pl.DataFrame, bench_set: str, n: int, column: str) -> float:
    rows = errors.filter((pl.col("set") == bench_set) & (pl.col("n_train") == n))
    per = (
        rows.group_by("benchmark", "test_group")
        .agg(pl.col(column).mean())
        .group_by("benchmark")
        .agg(pl.col(column).mean())
    )
    return float(100 * per[column].mean())


def mae_of(pred: pl.DataFrame, truth: pl.DataFrame) -> float:
    cells = pred.join(truth, on=["model_id", "benchmark"]).with_columns(pl.lit(None, pl.Float64).alias("stderr"))
    return summarise(
        cells.with_columns(pl.lit(None, pl.Float64).alias("lower"), pl.lit(None, pl.Float64).alias("upper"))
    )["average"]["mae_pt"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["registry", "csv"], default="registry")
    parser.add_argument("--db", default="/tmp/sloth.duckdb")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed0", type=int, default=0, help="first seed (the paper ran 42: --seeds 1 --seed0 42)")
    parser.add_argument("--only", action="append", help="set:n:d, repeatable")
    parser.add_argument("--all-groups", action="store_true", help="every eligible group, not only the paper's")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: $OBSLAWS_THREADS, else 1)")
    parser.add_argument("--out", default="/tmp/sloth_reproduce")
    args = parser.parse_args()
    args.threads = set_threads(args.threads)
    data = load(args.data, args.db)
    errors = paper_errors()
    settings = [(s, int(n), int(d)) for s, n, d in (o.split(":") for o in args.only)] if args.only else SETTINGS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"data={args.data} seeds={args.seed0}..{args.seed0 + args.seeds - 1} threads={args.threads}")
    print("set      n d | paper basic  ours basic (sd)   | paper full  ours full (sd)  [min..max]  ens | groups  time")
    for bench_set, n, d in settings:
        groups = "all" if args.all_groups else "sloth-paper"
        fitter = SlothFitter.upstream(d, restarts=args.seeds, random_state=args.seed0, combine="mean")
        tic = time.perf_counter()
        run = family_holdout(fitter, data, benchmarks=bench_set, n_train=n, groups=groups)
        elapsed = time.perf_counter() - tic
        truth = run.cells.select("split", "model_id", "benchmark", "truth")
        per = pl.concat([run.member_predictions("full"), run.member_predictions("basic")])
        per.write_parquet(out / f"{args.data}_{bench_set}_n{n}_d{d}.parquet")
        row = {}
        for which in ("basic", "full"):
            maes = [
                mae_of(per.filter((pl.col("link") == which) & (pl.col("seed") == s)).drop("seed", "d", "link"), truth)
                for s in range(args.seed0, args.seed0 + args.seeds)
            ]
            ens = (
                per.filter(pl.col("link") == which)
                .group_by("split", "model_id", "benchmark")
                .agg(pl.col("prediction").mean())
            )
            row[which] = (np.mean(maes), np.std(maes), min(maes), max(maes), mae_of(ens, truth), maes)
        pb = paper_mae(errors, bench_set, n, f"abserr_factor_sigmoid_faminter_d={d}")
        pf = paper_mae(errors, bench_set, n, f"abserr_factor_trainlink_faminter_d={d}")
        b, f = row["basic"], row["full"]
        print(
            f"{bench_set:8s} {n} {d} | {pb:5.2f}  {b[0]:5.2f} ({b[1]:.2f}) ens {b[4]:5.2f} | "
            f"{pf:5.2f}  {f[0]:5.2f} ({f[1]:.2f}) [{f[2]:.2f}..{f[3]:.2f}] {f[4]:5.2f} | "
            f"{len(run.splits):2d}  {elapsed:5.0f}s",
            flush=True,
        )
        record = {
            "set": bench_set,
            "n": n,
            "d": d,
            "data": args.data,
            "paper_basic": pb,
            "paper_full": pf,
            "basic_seeds": b[5],
            "full_seeds": f[5],
            "basic_ensemble": b[4],
            "full_ensemble": f[4],
            "groups": len(run.splits),
            "seconds": elapsed,
        }
        with open(out / "results.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
