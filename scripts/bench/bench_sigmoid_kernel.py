"""A/B of the sigmoid engine's compiled step (numba) against its numpy step, in one process.

For each baseline and benchmark set, runs the registry's family-holdout backtest (the paper's
protocol, as ``bench_baselines.py``) with the numpy step, then with the compiled step, and
reports each one's CPU seconds (``time.process_time``: a busy machine distorts them less than
wall time), their ratio, both MAEs and whether every prediction is the same to the bit. A tiny
compiled fit runs first, so loading (or, in a new checkout, compiling) the kernel is reported
on its own line rather than charged to the first backtest.

    .venv/bin/python scripts/bench/bench_sigmoid_kernel.py [--sets oll-v1,oll-v2,oll-all]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl


@contextlib.contextmanager
def engine(compiled: bool) -> Iterator[None]:
    """The baselines' fits with the compiled step or the numpy one."""
    import obslaws_baselines.sigmoid as sigmoid

    default = sigmoid.fit_sigmoid_sets
    sigmoid.fit_sigmoid_sets = functools.partial(default, compiled=compiled)
    try:
        yield
    finally:
        sigmoid.fit_sigmoid_sets = default


def run(fitter, conn, benchmark_set: str, compiled: bool):  # noqa: ANN001, ANN201
    """The backtest result and its CPU seconds."""
    from obslaws.backtest import run_backtest

    start = time.process_time()
    with engine(compiled):
        result = run_backtest(
            fitter, conn, "family-holdout", benchmarks=benchmark_set, n_train=1, groups="sloth-paper",
            source="sloth-data-v2",
        )  # fmt: skip
    return result, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fitters", default="flops-sigmoid,flops-sigmoid-family")
    parser.add_argument("--sets", default="oll-v1,oll-v2,oll-all")
    args = parser.parse_args()
    import obslaws
    from obslaws.fitting.lookup import get_fitters
    from obslaws.registry import load_registry
    from obslaws.testing import synthetic_data
    from obslaws.threads import apply_threads

    apply_threads()
    fitters = get_fitters()
    start = time.process_time()
    with engine(True):
        fitters.create("flops-sigmoid-family", n_iter_no_change=20).fit(synthetic_data())
    print(f"loading (or compiling) the kernel and a tiny fit: {time.process_time() - start:.1f} CPU s")
    conn = obslaws.connect(Path(tempfile.mkdtemp(prefix="obslaws-bench-")) / "bench.duckdb")
    load_registry(conn)
    print(f"{'fitter':22} {'set':8} {'numpy CPU s':>11} {'compiled CPU s':>14} {'ratio':>6} {'MAE pt':>13} same bits")
    for name in args.fitters.split(","):
        for benchmark_set in args.sets.split(","):
            before, cpu_before = run(fitters.create(name), conn, benchmark_set, compiled=False)
            after, cpu_after = run(fitters.create(name), conn, benchmark_set, compiled=True)
            keys = ["split", "model_id", "benchmark"]
            both = before.cells.join(after.cells, on=keys, suffix="_b")
            assert both.height == before.cells.height == after.cells.height
            same = both.filter(pl.col("prediction") != pl.col("prediction_b")).height == 0
            mae = (before.summary()["average"]["mae_pt"], after.summary()["average"]["mae_pt"])
            print(
                f"{name:22} {benchmark_set:8} {cpu_before:11.1f} {cpu_after:14.1f} {cpu_before / cpu_after:6.2f} "
                f"{mae[0]:6.2f}/{mae[1]:6.2f} {same}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
