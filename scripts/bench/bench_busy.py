"""Each fitter's fit, and the Sloth default backtest, on a quiet machine and beside a CPU hog.

Run: .venv/bin/python scripts/bench/bench_busy.py [--threads N] [--hogs K] [--only a,b] [--no-backtest]

For every registered fitter it fits the refresh's fit (the shipped plan's data selection and
options; ``size-tokens`` and ``sloth`` also on the issue's OLL v2 selection) twice in a row: once
alone, once while K busy-loop processes (default: one per core) run beside it; the script starts
and stops the hog itself. A fit shorter than 2 s is repeated for 2 s, so that one time slice
does not decide its ratio; each fit runs once untimed first (a first fit also imports its
libraries and loads its compiled kernels: 3 s of a 5 s Sloth fit). The ratio busy/alone is
what a user on a shared machine pays. Quiet and busy runs of one fit are taken back to back,
so slow drift of other load affects both alike; the load average is printed with each pair
because "alone" only means "without our hog".

``--threads`` sets obslaws' thread count (obslaws.threads); ``--threads 2`` on a 2-core machine
shows the oversubscription the default of one thread avoids.

Beside every fit, in the same two windows, runs a reference: a one-thread pure-Python loop,
which cannot oversubscribe, so its ratio is what the scheduler alone takes away. Where the
kernel groups processes by session (``/proc/sys/kernel/sched_autogroup_enabled``) the hog
shares this script's group, so on a machine busy with other sessions the reference itself is
near ``hogs + 1``x; a fit whose ratio is near the reference's loses nothing to its threads. The
last column divides by it.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import obslaws
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.refresh.config import load_config
from obslaws.registry import load_registry
from obslaws.store.read import load_fit_data
from obslaws.threads import set_threads


def _spin() -> None:
    while True:
        pass


class Hog:
    """K busy-loop processes for the duration of a ``with`` block."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.procs: list[multiprocessing.Process] = []

    def __enter__(self) -> Hog:
        context = multiprocessing.get_context("spawn")
        self.procs = [context.Process(target=_spin, daemon=True) for _ in range(self.count)]
        for proc in self.procs:
            proc.start()
        time.sleep(1.0)  # let them start spinning before the clock starts
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.join()


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


MIN_SECONDS = 2.0  # a fit shorter than this is repeated, so that one time slice does not decide its ratio


def _seconds_per_run(run: Callable[[], object]) -> float:
    tic = time.perf_counter()
    count = 0
    while True:
        run()
        count += 1
        elapsed = time.perf_counter() - tic
        if elapsed >= MIN_SECONDS:
            return elapsed / count


def quiet_and_busy(run: Callable[[], object], hogs: int) -> tuple[float, float, str, float]:
    """Seconds per ``run()`` alone, then beside the hog, the load average before each, and the
    reference loop's ratio measured in the same two windows (right after the fit in each), so
    that drift of the other sessions' load between one fit and the next does not enter its
    ratio over the reference."""
    run()  # untimed: a first fit also imports its libraries and loads its compiled kernel
    before = _load()
    quiet = _seconds_per_run(run)
    quiet_reference = _seconds_per_run(_reference_loop)
    with Hog(hogs):
        during = _load()
        busy = _seconds_per_run(run)
        busy_reference = _seconds_per_run(_reference_loop)
    return quiet, busy, f"{before} / {during}", busy_reference / quiet_reference


def _reference_loop() -> int:
    """About 0.2 s of one-thread pure-Python arithmetic (the scheduler's share, nothing else)."""
    total = 0
    for i in range(2_000_000):
        total += i * i
    return total


def fit_cases(conn, config, only: set[str] | None, plan: bool = True) -> list[tuple[str, Callable[[], object]]]:
    """(label, fit) for each fitter as the refresh fits it, plus the issue's OLL v2 cases."""
    from obslaws.fitting.lookup import get_fitters
    from obslaws.fitting.selection import select_for, with_covariates

    fitters = get_fitters()
    read = functools.partial(load_fit_data, conn)
    cases = []
    for name, info in fitters.items():
        if not plan or (only and name not in only):
            continue
        settings = config.fit_settings(name)
        options = settings.get("options", {})
        fitter = info.create(**options)
        # the refresh's selection: the plan's settings over the fitter's defaults
        selection = select_for(
            fitter, read, settings.get("benchmarks"), settings.get("source"), settings.get("include_checkpoints")
        )
        data = selection.data
        label = f"{name} (refresh plan{', ' + str(options) if options else ''})"
        cases.append((label, lambda info=info, options=options, data=data: info.create(**options).fit(data)))
    v2 = load_fit_data(conn, resolve_benchmarks("oll-v2"), source="sloth-data-v2")
    for name in ("size-tokens", "sloth"):
        if name in fitters and (not only or name in only):
            info = fitters[name]
            data = with_covariates(v2, sorted(info.create().requires.needs))
            cases.append(
                (f"{name} default, OLL v2 ({data.models.height} models)", lambda i=info, d=data: i.create().fit(d))
            )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="obslaws threads (default: $OBSLAWS_THREADS, else 1)")
    parser.add_argument(
        "--hogs", type=int, default=os.cpu_count() or 1, help="busy-loop processes (default: one per core)"
    )
    parser.add_argument("--only", default="", help="comma-separated fitter names")
    parser.add_argument("--no-backtest", action="store_true", help="skip the Sloth default v2 backtest")
    parser.add_argument("--v2-only", action="store_true", help="only the OLL v2 cases (not the refresh plan's fits)")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    only = {n for n in args.only.split(",") if n} or None
    print(f"threads = {threads}, hog = {args.hogs} busy process(es) on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "bench.duckdb")
        load_registry(conn)
        cases = fit_cases(conn, load_config(None), only, plan=not args.v2_only)
        if not args.no_backtest and (not only or "sloth" in only):
            from obslaws_sloth.batch import family_holdout
            from obslaws_sloth.fitter import SlothFitter

            from obslaws.backtest.paper import sloth_fit_data

            paper = sloth_fit_data()
            cases.append(
                (
                    "sloth default, v2 family-holdout backtest (paper groups)",
                    lambda: family_holdout(SlothFitter(), paper, benchmarks="oll-v2", groups="sloth-paper"),
                )
            )
        print(
            f"{'fit':<62} {'alone':>8} {'with hog':>9} {'ratio':>6}  load (alone / with hog)  "
            "reference's ratio in the same windows, the fit's over it"
        )
        worst, references = 0.0, []
        for label, run in cases:
            try:
                quiet, busy, load, reference = quiet_and_busy(run, args.hogs)
            except Exception as exc:  # one fitter's failure is reported, the others still run
                print(f"{label:<62} failed: {type(exc).__name__}: {exc}")
                continue
            worst, relative = max(worst, busy / quiet), busy / quiet / reference
            references.append(reference)
            times = f"{quiet:7.2f}s {busy:8.2f}s {busy / quiet:5.2f}x"
            print(f"{label:<62} {times}  {load}  {reference:5.2f}x {relative:5.2f}", flush=True)
        span = f"{min(references):.2f}-{max(references):.2f}x" if references else "-"
        print(f"worst ratio {worst:.2f}x (target: every fit within 2x); the reference's {span}")


if __name__ == "__main__":
    main()
