"""Time the default forecaster's fit and backtests on the refresh plan's data against a baseline
version of its plugin, in the same process, and check that both predict the same to the bit.

Run: .venv/bin/python scripts/bench/bench_forecast.py [--base REV] [--only fit,cell-holdout,...]
     [--repeat N] [--profile FILE]

The baseline is ``plugins/obslaws_forecast`` as it was at ``--base`` (default: ``main``), taken
with ``git archive`` and imported beside the working tree's plugin under another name, so both
run on the same data objects in one process, one after the other (alternating with ``--repeat``).
The jobs are the refresh's (``obslaws/refresh/default.toml``): the forecaster's fit on its
default selection, and every backtest in the plan that the forecaster takes part in. Per job it
prints the baseline's and the current CPU seconds, their ratio, and whether the predictions
(the fit's on its own data, each backtest's cells: prediction, lower, upper) are identical, or
the largest difference where they are not. Exit status 1 on any difference.

``--profile FILE`` profiles the current code only (no baseline) and writes a cProfile to FILE.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "plugins/obslaws_forecast"
COMPARED = ("prediction", "lower", "upper")


def baseline_class(rev: str) -> type:
    """``ForecastFitter`` from ``plugins/obslaws_forecast`` at git revision ``rev``, imported as
    the package ``obslaws_forecast_base``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, PLUGIN], check=True, capture_output=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="forecast-base-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / PLUGIN
    spec = importlib.util.spec_from_file_location(
        "obslaws_forecast_base", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["obslaws_forecast_base"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("obslaws_forecast_base.fitter").ForecastFitter


def plan_jobs(only: set[str] | None) -> list[tuple[str, Callable[[type], pl.DataFrame]]]:
    """The refresh plan's forecaster jobs: (label, run), where run(fitter class) returns the
    predictions the job makes (the fit's on its data, or the backtest's cells)."""
    import obslaws
    from obslaws.backtest import run_backtest
    from obslaws.benchmark_sets import resolve_benchmarks
    from obslaws.fitting.lookup import get_fitters
    from obslaws.fitting.selection import select_for
    from obslaws.refresh.config import load_config
    from obslaws.refresh.pipeline import fit_data_reader
    from obslaws.registry import load_registry

    conn = obslaws.connect(Path(tempfile.mkdtemp(prefix="forecast-bench-")) / "db.duckdb")
    load_registry(conn)
    read, config = fit_data_reader(conn), load_config(None)
    settings = config.fit_settings("forecast")
    options = settings.get("options", {})
    fit_data = select_for(get_fitters()["forecast"].create(**options), read).data

    def fit(cls: type) -> pl.DataFrame:
        return cls(**options).fit(fit_data).predict(fit_data)

    jobs = [("fit", fit)]
    for step in config.backtests:
        if step.protocol in settings.get("skip_protocols", []):
            continue
        data = read(resolve_benchmarks(step.benchmarks), step.source)

        def backtest(cls: type, step=step, data=data) -> pl.DataFrame:
            result = run_backtest(cls(**options), data, step.protocol, write=False, plugin="bench", **step.options)
            return result.cells.sort(["split", "model_id", "benchmark"])

        jobs.append((step.label, backtest))
    return [(label, run) for label, run in jobs if only is None or any(o in label for o in only)]


def timed(run: Callable[[type], pl.DataFrame], cls: type) -> tuple[float, pl.DataFrame]:
    # a plugin version that caches results in its process starts each run with none
    package = cls.__module__.rsplit(".", 1)[0]
    for module, forget in (("completion", "forget_completions"), ("stacking", "forget_member_fits")):
        getattr(sys.modules.get(f"{package}.{module}"), forget, lambda: None)()
    tic = time.process_time()
    out = run(cls)
    return time.process_time() - tic, out


def difference(a: pl.DataFrame, b: pl.DataFrame) -> float:
    """0.0 if the compared columns are identical to the bit (NaN equal to NaN), else the largest
    absolute difference (inf where the rows differ)."""
    if a.height != b.height or a.drop(COMPARED).columns != b.drop(COMPARED).columns:
        return float("inf")
    keys = [c for c in ("split", "model_id", "benchmark") if c in a.columns]
    if not a.select(keys).equals(b.select(keys)):
        return float("inf")
    worst = 0.0
    for column in COMPARED:
        x, y = a[column].to_numpy().astype(float), b[column].to_numpy().astype(float)
        same = (x == y) | (np.isnan(x) & np.isnan(y))
        if not same.all():
            worst = max(worst, float(np.nanmax(np.abs(x - y)[~same])) if np.isfinite(x[~same]).any() else np.inf)
    return worst


def mae(cells: pl.DataFrame) -> str:
    """A backtest's MAE in points over its cells (a fit's predictions have no truth: "-")."""
    if "truth" not in cells.columns:
        return "-"
    return f"{100 * (cells['prediction'] - cells['truth']).abs().mean():.6f}"


def compare(jobs, base: type, current: type, repeat: int) -> bool:
    print(f"{'job':<60} {'base CPU s':>10} {'new CPU s':>10} {'ratio':>6}  predictions")
    totals, same = [0.0, 0.0], True
    for label, run in jobs:
        seconds: list[list[float]] = [[], []]
        for _ in range(repeat):  # alternate, so that a change in the machine's load hits both
            s, before = timed(run, base)
            seconds[0].append(s)
            s, after = timed(run, current)
            seconds[1].append(s)
            gap = difference(before, after)
        b, n = min(seconds[0]), min(seconds[1])
        totals[0], totals[1] = totals[0] + b, totals[1] + n
        same &= gap == 0.0
        verdict = "identical" if gap == 0.0 else f"DIFFER (largest {gap:.3g}; MAE {mae(before)} -> {mae(after)})"
        print(f"{label[:60]:<60} {b:10.2f} {n:10.2f} {b / n:6.2f}  {verdict}", flush=True)
    print(f"{'all':<60} {totals[0]:10.2f} {totals[1]:10.2f} {totals[0] / totals[1]:6.2f}")
    return same


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision of the baseline plugin (default: main)")
    parser.add_argument("--only", default=None, help="comma list: jobs whose label contains one of these")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each job per version (the fastest counts)")
    parser.add_argument("--profile", default=None, help="profile the current code only; write a cProfile here")
    args = parser.parse_args(argv)
    from obslaws_forecast.fitter import ForecastFitter

    from obslaws.threads import set_threads

    set_threads(1)  # as in the refresh's workers
    jobs = plan_jobs(set(args.only.split(",")) if args.only else None)
    print(f"load average before: {load()} ({os.cpu_count()} cores)")
    if args.profile:
        profiler = cProfile.Profile()
        for label, run in jobs:
            tic = time.process_time()
            profiler.runcall(run, ForecastFitter)
            print(f"{label}: {time.process_time() - tic:.2f} CPU s (profiled)", flush=True)
        profiler.dump_stats(args.profile)
        return 0
    same = compare(jobs, baseline_class(args.base), ForecastFitter, args.repeat)
    print(f"load average after: {load()}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
