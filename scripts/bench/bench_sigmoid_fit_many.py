"""A/B of the sigmoid baselines' speed-ups, each against what it replaced, in one process.

For each baseline and benchmark set, runs the registry's family-holdout backtest (the paper's
protocol, as ``bench_baselines.py``) twice in this process and reports the CPU seconds of each
(``time.process_time``, so a busy machine distorts them less than wall time), their ratio, both
MAEs and the largest difference between the two runs' predictions (0: the same to the bit).

- ``--ab folds`` (default): the contract's default per-fold ``Fitter.fit_many``, then the
  fitter's batched one (every fold in one optimiser program);
- ``--ab step``: the engine's numpy step, then its compiled step (``obslaws_baselines.kernel``);
  a tiny compiled fit runs first, so loading (or, in a new checkout, compiling) the kernel is
  reported on its own line rather than charged to the first backtest.

    .venv/bin/python scripts/bench/bench_sigmoid_fit_many.py [--ab folds|step] [--sets oll-v1,oll-v2,oll-all]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from pathlib import Path
from unittest import mock

import polars as pl


def engine_step(compiled: bool | None) -> contextlib.AbstractContextManager:
    """The baselines' fits with the compiled step, the numpy one, or (None) the default."""
    import obslaws_baselines.sigmoid as sigmoid

    return mock.patch.object(
        sigmoid, "fit_sigmoid_sets", functools.partial(sigmoid.fit_sigmoid_sets, compiled=compiled)
    )


def run(fitter, conn, benchmark_set: str, compiled: bool | None = None):  # noqa: ANN001, ANN201
    """The backtest result and its CPU seconds."""
    from obslaws.backtest import run_backtest

    start = time.process_time()
    with engine_step(compiled):
        result = run_backtest(
            fitter, conn, "family-holdout", benchmarks=benchmark_set, n_train=1, groups="sloth-paper",
            source="sloth-data-v2",
        )  # fmt: skip
    return result, time.process_time() - start


def pair(fitters, conn, name: str, benchmark_set: str, ab: str):  # noqa: ANN001, ANN201
    """``(before, CPU s), (after, CPU s)`` of the chosen A/B."""
    from obslaws import Fitter

    if ab == "step":
        return tuple(run(fitters.create(name), conn, benchmark_set, compiled) for compiled in (False, True))
    per_fold = fitters.create(name)
    per_fold.fit_many = functools.partial(Fitter.fit_many, per_fold)  # the contract's default loop
    return run(per_fold, conn, benchmark_set), run(fitters.create(name), conn, benchmark_set)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ab", choices=("folds", "step"), default="folds")
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
    if args.ab == "step":
        start = time.process_time()
        with engine_step(True):
            fitters.create("flops-sigmoid-family", n_iter_no_change=20).fit(synthetic_data())
        print(f"loading (or compiling) the kernel and a tiny fit: {time.process_time() - start:.1f} CPU s")
    conn = obslaws.connect(Path(tempfile.mkdtemp(prefix="obslaws-bench-")) / "bench.duckdb")
    load_registry(conn)
    labels = {"folds": ("per-fold", "batched"), "step": ("numpy", "compiled")}[args.ab]
    print(
        f"{'fitter':22} {'set':8} {labels[0] + ' CPU s':>14} {labels[1] + ' CPU s':>14} {'ratio':>6} "
        f"{'MAE pt':>13} {'max |dpred|':>11}"
    )
    for name in args.fitters.split(","):
        for benchmark_set in args.sets.split(","):
            (before, cpu_before), (after, cpu_after) = pair(fitters, conn, name, benchmark_set, args.ab)
            keys = ["split", "model_id", "benchmark"]
            both = before.cells.join(after.cells, on=keys, suffix="_b")
            assert both.height == before.cells.height == after.cells.height
            diff = both.select((pl.col("prediction") - pl.col("prediction_b")).abs().max()).item()
            mae = (before.summary()["average"]["mae_pt"], after.summary()["average"]["mae_pt"])
            print(
                f"{name:22} {benchmark_set:8} {cpu_before:14.1f} {cpu_after:14.1f} {cpu_before / cpu_after:6.2f} "
                f"{mae[0]:6.2f}/{mae[1]:6.2f} {diff:11.2e}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
