"""How many of the refresh plan's folds are shared between protocols, and what sharing them saves.

    .venv/bin/python scripts/bench/bench_fold_sharing.py [--config plan.toml] [--time forecast,logit-svd]

On a new database with the registry, for each fitter of the plan (its backtests as the refresh
runs them: `skip_protocols` left out) it counts the folds, the distinct training sets among them
(what `run_backtests` fits: a fold whose fit sees exactly the data of another is fitted once),
and whether the fitter may share them (batch-invariant: `obslaws.backtest.folds.batch_invariant`).

`--time` runs the named fitters' backtests both ways in this process: each alone
(`run_backtest`, as before) and all together (`run_backtests`), and prints the CPU seconds of
each (`time.process_time`: a busy machine distorts them less than wall time), their ratio, and
whether every result's cells are equal to the bit.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import obslaws
from obslaws.backtest import BacktestPlan, make_protocol, run_backtest, run_backtests
from obslaws.backtest.folds import batch_invariant, fold_key
from obslaws.backtest.planned import plan_backtest
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.fitting.lookup import get_fitters
from obslaws.refresh.config import load_config
from obslaws.refresh.pipeline import fit_data_reader
from obslaws.registry import load_registry


def plans_of(config: Any, read: Any, name: str) -> list[BacktestPlan]:
    """The fitter's backtests in the refresh plan, as the refresh builds them."""
    skip = config.fit_settings(name).get("skip_protocols", [])
    return [
        BacktestPlan(
            read(resolve_benchmarks(step.benchmarks), step.source), step.protocol, step.benchmarks, step.options
        )
        for step in config.backtests
        if step.protocol not in skip
    ]


def count(fitter: Any, plans: Sequence[BacktestPlan]) -> tuple[int, int]:
    """(folds, distinct training sets) over the plans that have splits for this fitter."""
    keys = []
    for plan in plans:
        try:
            targets = resolve_benchmarks(plan.benchmarks)
            planned = plan_backtest(
                fitter, make_protocol(plan.protocol, **plan.options), plan.data.with_targets(targets), targets
            )
        except obslaws.ObslawsError:
            continue  # the refresh reports it as skipped
        keys += [fold_key(fitter, train) for train in planned.trains]
    return len(keys), len(set(keys))


def timed(fitter: Any, plans: Sequence[BacktestPlan]) -> None:
    """Both ways, after an untimed run of the last backtest (imports and first-call costs)."""
    last = plans[-1]
    with contextlib.suppress(obslaws.ObslawsError):
        run_backtest(fitter, last.data, last.protocol, benchmarks=last.benchmarks, write=False, **last.options)
    start = time.process_time()
    alone, runnable = [], []
    for p in plans:
        try:
            alone.append(run_backtest(fitter, p.data, p.protocol, benchmarks=p.benchmarks, write=False, **p.options))
            runnable.append(p)
        except obslaws.ObslawsError:
            continue  # the refresh reports it as skipped
    alone_cpu = time.process_time() - start
    plans = runnable
    start = time.process_time()
    together = run_backtests(fitter, plans)
    together_cpu = time.process_time() - start
    same = all(a.cells.equals(b.cells) for a, b in zip(alone, together, strict=True))
    print(
        f"  {fitter.name}: alone {alone_cpu:.1f} CPU s, together {together_cpu:.1f} CPU s "
        f"(ratio {together_cpu / alone_cpu:.2f}); cells equal to the bit: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="refresh plan (default: the shipped plan)")
    parser.add_argument("--time", default="", help="comma list of fitters to time both ways")
    args = parser.parse_args()
    config = load_config(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "bench.duckdb")
        load_registry(conn)
        read = fit_data_reader(conn)
        infos = get_fitters()
        print(f"{'fitter':<22} {'folds':>6} {'distinct':>9}  shares")
        for name, info in infos.items():
            fitter = info.create(**config.fit_settings(name).get("options", {}))
            folds, distinct = count(fitter, plans_of(config, read, name))
            shares = "yes" if batch_invariant(info.cls) else "no (fit_many not batch-invariant)"
            print(f"{name:<22} {folds:>6} {distinct:>9}  {shares}")
        for name in [n for n in args.time.split(",") if n]:
            info = infos[name]
            timed(info.create(**config.fit_settings(name).get("options", {})), plans_of(config, read, name))
        conn.close()


if __name__ == "__main__":
    main()
