"""A/B of the sigmoid baselines' batched ``fit_many`` against fitting one fold at a time.

For each baseline and benchmark set, runs the registry's family-holdout backtest (the paper's
protocol, as ``bench_baselines.py``) twice in this process: once through the contract's default
per-fold ``Fitter.fit_many`` and once through the fitter's batched one. Reports the CPU seconds
of each (``time.process_time``, so a busy machine distorts them less than wall time), their
ratio, both MAEs and the largest difference between the two runs' predictions.

    .venv/bin/python scripts/bench/bench_sigmoid_fit_many.py [--sets oll-v1,oll-v2,oll-all]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import polars as pl


def run(fitter, conn, benchmark_set: str):  # noqa: ANN001, ANN201
    """The backtest result and its CPU seconds."""
    from obslaws.backtest import run_backtest

    start = time.process_time()
    result = run_backtest(
        fitter,
        conn,
        "family-holdout",
        benchmarks=benchmark_set,
        n_train=1,
        groups="sloth-paper",
        source="sloth-data-v2",
    )
    return result, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fitters", default="flops-sigmoid,flops-sigmoid-family")
    parser.add_argument("--sets", default="oll-v1,oll-v2,oll-all")
    args = parser.parse_args()
    import obslaws
    from obslaws import Fitter
    from obslaws.fitting.lookup import get_fitters
    from obslaws.registry import load_registry

    fitters = get_fitters()
    conn = obslaws.connect(Path(tempfile.mkdtemp(prefix="obslaws-bench-")) / "bench.duckdb")
    load_registry(conn)
    print(
        f"{'fitter':22} {'set':8} {'per-fold CPU s':>14} {'batched CPU s':>13} {'ratio':>6} "
        f"{'MAE pt':>13} {'max |dpred|':>11}"
    )
    for name in args.fitters.split(","):
        for benchmark_set in args.sets.split(","):
            per_fold = fitters.create(name)
            per_fold.fit_many = functools.partial(Fitter.fit_many, per_fold)  # the contract's default loop
            before, cpu_before = run(per_fold, conn, benchmark_set)
            after, cpu_after = run(fitters.create(name), conn, benchmark_set)
            keys = ["split", "model_id", "benchmark"]
            both = before.cells.join(after.cells, on=keys, suffix="_b")
            assert both.height == before.cells.height == after.cells.height
            diff = both.select((pl.col("prediction") - pl.col("prediction_b")).abs().max()).item()
            mae = (before.summary()["average"]["mae_pt"], after.summary()["average"]["mae_pt"])
            print(
                f"{name:22} {benchmark_set:8} {cpu_before:14.1f} {cpu_after:13.1f} {cpu_before / cpu_after:6.2f} "
                f"{mae[0]:6.2f}/{mae[1]:6.2f} {diff:11.2e}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
