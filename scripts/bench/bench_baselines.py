"""Time the family-holdout backtest of each baseline on the Sloth paper's protocol, and compare
its MAE with the paper's.

For each baseline (``flops-sigmoid``, ``flops-sigmoid-family``) and each benchmark set
(OLL v1, v2, v1+v2), runs ``obslaws.backtest.run_backtest`` with ``family-holdout``,
``n_train=1`` and the paper's held-out groups (``groups="sloth-paper"``) on:

- ``registry``: the registry's ``sloth-data-v2`` source (a fresh database built from
  ``registry/``; the registry fixes DATA.md's known errors, so a few FLOPs differ), and
- ``paper-csv``: ``../shared/data/sloth/data/data_v2.csv`` exactly as the paper used it,
  where the per-model errors can be compared one to one with the paper's.

Reports wall time per backtest (fits and predictions of every fold, metrics, and the write to
the database), MAE in points next to the published number, the interval coverage and the noise
floor. Needs ``../shared`` for the paper-csv data and the paper's per-model errors.

    .venv/bin/python scripts/bench/bench_baselines.py [--data registry,paper-csv] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]

SETS = ("oll-v1", "oll-v2", "oll-all")


def paper_mae(errors: pl.DataFrame, fitter: str, benchmark_set: str) -> float:
    """The paper's MAE (points) recomputed from its per-model errors, with its averaging."""
    from obslaws.backtest.paper import PAPER_METHODS

    col = "abserr_" + PAPER_METHODS[fitter]
    rows = errors.filter((pl.col("set") == benchmark_set) & (pl.col("n_train") == 1))
    per = rows.group_by("benchmark", "test_group").agg(pl.col(col).mean()).group_by("benchmark").agg(pl.col(col).mean())
    return 100 * float(per[col].mean())


def load_sources(kinds: list[str], conn) -> dict[str, object]:  # noqa: ANN001
    """The data each backtest runs on: the registry's database, and the paper's CSV when present."""
    from obslaws.backtest.paper import sloth_fit_data
    from obslaws.shared_data import shared_data_dir

    sources: dict[str, object] = {}
    for kind in kinds:
        if kind == "registry":
            from obslaws.registry import load_registry

            load_registry(conn)
            sources[kind] = conn
        elif kind == "paper-csv":
            if not (shared_data_dir() / "sloth").is_dir():
                print(
                    f"skipping paper-csv: no shared data at {shared_data_dir()} (set $OBSLAWS_SHARED)", file=sys.stderr
                )
                continue
            sources[kind] = sloth_fit_data()
        else:
            raise SystemExit(f"unknown data {kind!r}")
    return sources


def backtest_row(conn, fitters, kind: str, data, name: str, benchmark_set: str, errors) -> dict:  # noqa: ANN001
    """One family-holdout backtest, timed, beside the paper's and the published MAE."""
    from obslaws.backtest import run_backtest
    from obslaws.backtest.paper import PAPER_MAE_N1

    start = time.perf_counter()
    result = run_backtest(
        fitters.create(name),
        data,
        "family-holdout",
        benchmarks=benchmark_set,
        n_train=1,
        groups="sloth-paper",
        source="sloth-data-v2" if kind == "registry" else None,
        conn=conn,
    )
    seconds = time.perf_counter() - start
    summary = result.summary()
    mae = summary["average"]["mae_pt"]
    published = PAPER_MAE_N1[name][benchmark_set]
    return {
        "data": kind,
        "fitter": name,
        "set": benchmark_set,
        "mae_pt": mae,
        "paper_mae_pt": paper_mae(errors, name, benchmark_set) if errors is not None else None,
        "published_mae_pt": published,
        "diff_vs_published": mae - published,
        "coverage": summary["coverage"],
        "noise_floor_pt": summary["noise_floor_pt"],
        "n_groups": summary["n_groups"],
        "n_cells": summary["n_cells"],
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="registry,paper-csv", help="comma list of: registry, paper-csv")
    parser.add_argument("--fitters", default="flops-sigmoid,flops-sigmoid-family")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args()

    import obslaws
    from obslaws.backtest.paper import paper_errors
    from obslaws.fitting.lookup import get_fitters
    from obslaws.shared_data import shared_data_dir

    fitters = get_fitters()
    errors = paper_errors() if (shared_data_dir() / "sloth").is_dir() else None
    conn = obslaws.connect(Path(tempfile.mkdtemp(prefix="obslaws-bench-")) / "bench.duckdb")
    sources = load_sources(args.data.split(","), conn)
    rows = []
    header = (
        f"{'data':10} {'fitter':22} {'set':8} {'MAE pt':>7} {'paper':>6} {'pub.':>5} {'diff':>6} "
        f"{'cover':>6} {'noise':>6} {'groups':>6} {'time s':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind, data in sources.items():
        for name in args.fitters.split(","):
            for benchmark_set in args.sets.split(","):
                row = backtest_row(conn, fitters, kind, data, name, benchmark_set, errors)
                rows.append(row)
                noise = "" if row["noise_floor_pt"] is None else f"{row['noise_floor_pt']:.2f}"
                paper = "" if row["paper_mae_pt"] is None else f"{row['paper_mae_pt']:.2f}"
                print(
                    f"{kind:10} {name:22} {benchmark_set:8} {row['mae_pt']:7.2f} {paper:>6} "
                    f"{row['published_mae_pt']:5.1f} {row['diff_vs_published']:+6.2f} {row['coverage']:6.2f} "
                    f"{noise:>6} {row['n_groups']:6d} {row['seconds']:7.1f}"
                )
    total = sum(r["seconds"] for r in rows)
    print(f"total {total:.1f} s for {len(rows)} backtests")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    worst = max((abs(r["diff_vs_published"]) for r in rows), default=0.0)
    return 0 if worst <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
