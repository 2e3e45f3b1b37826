"""Time a full leaderboard refresh on the registry, step by step and job by job.

Run: .venv/bin/python scripts/bench/bench_refresh.py [--config plan.toml] [--workers N] [--keep DIR]

It refreshes a new database (so every fitter is fitted and every backtest run), then runs the
refresh again on the same file: the second run must find nothing new and skip the refit, and
its time is the cost of that check. The two are measured in the same process.

Per job it prints where it ran (worker), when it started and ended, its wall and CPU seconds,
and the critical path: the workers' CPU against workers x their span, and how long each worker
sat idle at the end while the others finished (what scheduling can still win).

``--report-ab`` builds the report twice more in the same process, once on new workers of its own
(as before the refresh and its report shared them) and once on the refresh's, and compares
their times and PNGs. ``--keep DIR`` keeps the database and the report; ``refresh_compare.py DIR_A DIR_B`` then checks
that two kept runs produced the same fits, backtest rows and summaries, predictions and report
(but for timings), as a change that only makes the refresh faster must.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import describe  # scripts/bench/machine.py

import obslaws
from obslaws.refresh.config import load_config
from obslaws.refresh.parallel import Workers, default_workers
from obslaws.refresh.pipeline import refresh
from obslaws.refresh.publish import write_report_atomically
from obslaws.refresh.schedule import job_key
from obslaws.report.build import build_report


def _jobs(outcome: Any) -> list[dict[str, Any]]:
    """Every fit and backtest this refresh ran in a worker, with its timing."""
    rows = []
    for kind, items in (("fit", outcome.fits), ("backtest", outcome.backtests)):
        for item in items:
            if item.timing is None:
                continue
            t = item.timing
            label = job_key(kind, item.fitter, getattr(item, "label", ""))
            rows.append(_row(kind, label, t))
            predicted = getattr(item, "predicted", None)  # a fit's worker's predictions after it
            if predicted is not None:
                rows.append(_row("predict", f"predict {item.fitter} (after its fit)", predicted.timing))
    return sorted(rows, key=lambda r: r["started"])


def _row(kind: str, label: str, t: Any) -> dict[str, Any]:
    """One job's row: where and when it ran, its wall and CPU seconds."""
    times = {"started": t.started, "finished": t.finished, "wall_s": t.seconds, "cpu_s": t.cpu_seconds}
    return {"kind": kind, "job": label, "worker": t.worker, **times}


def critical_path(rows: list[dict[str, Any]], opened: float) -> dict[str, Any]:
    """Busy, idle-at-the-end and start-up seconds per worker, and CPU against workers x span."""
    if not rows:
        return {}
    first, last = min(r["started"] for r in rows), max(r["finished"] for r in rows)
    workers: dict[int, dict[str, float]] = {}
    for r in rows:
        w = workers.setdefault(r["worker"], {"busy_s": 0.0, "cpu_s": 0.0, "first": r["started"], "last": 0.0})
        w["busy_s"] += r["wall_s"]
        w["cpu_s"] += r["cpu_s"]
        w["first"] = min(w["first"], r["started"])
        w["last"] = max(w["last"], r["finished"])
    per_worker = {
        str(pid): {
            "busy_s": w["busy_s"],
            "cpu_s": w["cpu_s"],
            "start_up_s": w["first"] - opened,
            "idle_at_end_s": last - w["last"],
        }
        for pid, w in workers.items()
    }
    span = last - opened
    cpu = sum(r["cpu_s"] for r in rows)
    longest = max(rows, key=lambda r: r["cpu_s"])
    return {
        "workers": len(workers),
        "span_s": span,
        "jobs_span_s": last - first,
        "cpu_s": cpu,
        "wall_s": sum(r["wall_s"] for r in rows),
        "cpu_over_capacity": cpu / (len(workers) * span) if span else 0.0,
        "longest_job": f"{longest['job']} ({longest['cpu_s']:.1f} CPU s)",
        "per_worker": per_worker,
    }


def _print_timeline(rows: list[dict[str, Any]], opened: float) -> None:
    names = {pid: i for i, pid in enumerate(sorted({r["worker"] for r in rows}))}
    print(f"{'job':<62} {'worker':>6} {'start':>7} {'end':>7} {'wall':>7} {'CPU':>7}")
    for r in rows:
        print(
            f"{r['job'][:62]:<62} {names[r['worker']]:>6} {r['started'] - opened:7.1f}"
            f" {r['finished'] - opened:7.1f} {r['wall_s']:7.1f} {r['cpu_s']:7.1f}"
        )


def _print_path(path: dict[str, Any]) -> None:
    if not path:
        return
    print(
        f"workers {path['workers']}: CPU {path['cpu_s']:.1f} s, wall in jobs {path['wall_s']:.1f} s, "
        f"span {path['span_s']:.1f} s from the pool's start ({path['workers']} x span = "
        f"{path['workers'] * path['span_s']:.1f} s; CPU / that = {path['cpu_over_capacity']:.2f}); "
        f"longest job: {path['longest_job']}"
    )
    for pid, w in path["per_worker"].items():
        print(
            f"  worker {pid}: busy {w['busy_s']:.1f} s (CPU {w['cpu_s']:.1f} s), first job after "
            f"{w['start_up_s']:.1f} s, idle at the end {w['idle_at_end_s']:.1f} s"
        )


def _load() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _write_costs(rows: list[dict[str, Any]], total: float) -> None:
    """The CPU seconds of every job, for obslaws.refresh.schedule to queue a first refresh's jobs."""
    seconds = {r["job"]: round(r["cpu_s"], 2) for r in rows}
    note = (
        f"CPU seconds per job of the shipped plan's refresh on the registry, measured by "
        f"scripts/bench/bench_refresh.py --write-costs on {time.strftime('%Y-%m-%d')} ({total:.0f} s wall, "
        f"load average {_load()}); only the order of the jobs depends on them"
    )
    path = Path(__file__).resolve().parents[2] / "obslaws" / "refresh" / "costs.json"
    path.write_text(json.dumps({"note": note, "seconds": dict(sorted(seconds.items()))}, indent=1) + "\n")
    print(f"wrote {path}")


def report_ab(conn: Any, outcome: Any, config: Any, shared: Workers, tmp: Path) -> None:
    """The report again, twice: on its own new workers (as before Workers) and on the refresh's."""
    seconds, pngs = {}, {}
    for name, on in (("own workers", None), ("the refresh's workers", shared)):
        out = tmp / f"report-{len(seconds)}"
        tic = time.perf_counter()
        build_report(conn, outcome, config, out, shared=on)
        seconds[name] = time.perf_counter() - tic
        pngs[name] = {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}
    same = len({tuple(sorted(p.items())) for p in pngs.values()}) == 1
    shown = ", ".join(f"{name} {s:.1f} s" for name, s in seconds.items())
    print(f"report A/B (after the first, same process): {shown}; PNGs identical: {same}")


def _peak_gb(who: int = resource.RUSAGE_SELF) -> str:
    """The peak resident set of this process (or of its largest finished child), in GB."""
    return f"{resource.getrusage(who).ru_maxrss / 1e6:.2f} GB"  # Linux: kB


def run(args: argparse.Namespace) -> None:
    config, keep = load_config(args.config), args.keep
    load_before = _load()
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "bench.duckdb")
        start, cpu, began = time.perf_counter(), time.process_time(), time.time()
        if profiler is not None:
            profiler.enable()
        # as `obslaws refresh` runs them: one set of workers for the jobs and the report's figures
        with Workers(default_workers() if args.workers is None else args.workers) as shared:
            outcome = refresh(conn, config, progress=lambda _line: None, workers=args.workers, shared=shared)
            tic, report_cpu = time.perf_counter(), time.process_time()
            build = functools.partial(build_report, conn, outcome, config, shared=shared)
            write_report_atomically(build, Path(tmp) / "report")
            outcome.steps["report"] = time.perf_counter() - tic
            report_cpu = time.process_time() - report_cpu
            total, parent_cpu, ended = time.perf_counter() - start, time.process_time() - cpu, time.time()
            if args.report_ab:
                report_ab(conn, outcome, config, shared, Path(tmp))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        start = time.perf_counter()
        again = refresh(conn, config, progress=lambda _line: None)
        second = time.perf_counter() - start
        conn.close()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(tmp) / "bench.duckdb", keep / "refresh.duckdb")
            shutil.copytree(Path(tmp) / "report", keep / "report", dirs_exist_ok=True)
    rows = _jobs(outcome)
    path = critical_path(rows, outcome.workers_started)
    _print_timeline(rows, outcome.workers_started)
    _print_path(path)
    targets = "< 3 min with the forward protocols; < 60 s was set for the 71-backtest plan before them"
    print(f"full refresh: {total:.1f} s (targets on 2 cores: {targets}); parent process CPU {parent_cpu:.1f} s")
    if rows:  # what the parent still did alone after the last job: writing, predicting, the report
        tail = ended - max(r["finished"] for r in rows)
        print(f"  after the last job: {tail:.1f} s; the report's parent CPU {report_cpu:.2f} s")
    planned = outcome.workers_started - began - outcome.steps.get("ingest", 0.0)
    print(f"  planning (after the ingest, before the first job is queued): {planned:.1f} s")
    print(f"peak resident memory: the largest worker {_peak_gb(resource.RUSAGE_CHILDREN)}, the parent {_peak_gb()}")
    for step, seconds in sorted(outcome.steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:>9}: {seconds:6.1f} s")
    slowest = sorted(outcome.backtests, key=lambda b: -b.seconds)[:5]
    print("slowest backtests: " + "; ".join(f"{b.fitter} {b.label} {b.seconds:.1f} s" for b in slowest))
    print(f"second refresh (nothing new: {again.nothing_new}): {second:.2f} s, {total / second:.0f}x faster")
    print(f"load average before: {load_before}; after: {_load()} ({os.cpu_count()} cores)")
    print(f"machine: {describe()}")
    if args.write_costs:
        _write_costs(rows, total)
    if args.json is not None:
        payload = {"total_s": total, "parent_cpu_s": parent_cpu, "report_cpu_s": report_cpu, "steps": outcome.steps}
        payload["jobs"] = rows
        args.json.write_text(json.dumps(payload | {"path": path, "load": [load_before, _load()]}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="refresh plan (default: the shipped plan)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core, <= 4)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the database and report in this folder")
    parser.add_argument("--json", type=Path, default=None, help="write the steps and per-job timings here")
    parser.add_argument(
        "--write-costs", action="store_true", help="write each job's CPU seconds to obslaws/refresh/costs.json"
    )
    parser.add_argument("--profile", default=None, help="write a cProfile of the parent process here")
    parser.add_argument(
        "--report-ab", action="store_true", help="build the report again on new workers and on the refresh's"
    )
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
