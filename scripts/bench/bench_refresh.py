"""Time a full leaderboard refresh on the registry, step by step, and name the slowest step.

Run: .venv/bin/python scripts/bench/bench_refresh.py [--config plan.toml]

It refreshes a new database (so every fitter is fitted and every backtest run), then runs the
refresh again on the same file: the second run must find nothing new and skip the refit, and
its time is the cost of that check. The two are measured in the same process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import obslaws
from obslaws.refresh.config import load_config
from obslaws.refresh.pipeline import refresh
from obslaws.refresh.publish import write_report_atomically
from obslaws.report.build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="refresh plan (default: the shipped plan)")
    args = parser.parse_args()
    config = load_config(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "bench.duckdb")
        start = time.perf_counter()
        outcome = refresh(conn, config, progress=lambda _line: None)
        tic = time.perf_counter()
        write_report_atomically(lambda out: build_report(conn, outcome, config, out), Path(tmp) / "report")
        outcome.steps["report"] = time.perf_counter() - tic
        total = time.perf_counter() - start
        start = time.perf_counter()
        again = refresh(conn, config, progress=lambda _line: None)
        second = time.perf_counter() - start
    print(f"full refresh: {total:.1f} s (target < 180 s on 2 cores)")
    for step, seconds in sorted(outcome.steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:>9}: {seconds:6.1f} s")
    slowest = sorted(outcome.backtests, key=lambda b: -b.seconds)[:5]
    print("slowest backtests: " + "; ".join(f"{b.fitter} {b.label} {b.seconds:.1f} s" for b in slowest))
    print(f"second refresh (nothing new: {again.nothing_new}): {second:.2f} s, {total / second:.0f}x faster")


if __name__ == "__main__":
    main()
