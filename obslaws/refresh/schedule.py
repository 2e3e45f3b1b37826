"""The order the refresh queues its fits and backtests in: the longest first.

The worker pool hands out jobs in the order they were queued. In plan order the longest jobs
(Sloth's family hold-outs) came late and one core could finish the last of them alone; queued
longest first, the short jobs fill in at the end and the cores finish together (the LPT rule).
The fits are queued first, longest first, as soon as they are planned (the workers start on
them while the parent plans the backtests), then the backtests, in batches of one fitter and one
target set (their shared folds fitted once, :func:`~obslaws.backtest.run_backtests`), longest first. The order
changes nothing that is stored: the parent stores every result in plan order.

A job's cost is what it took in the previous refresh of this database (``refresh_runs.summary``),
else what it took in the measured refresh of the shipped plan (``costs.json``, written by
``scripts/bench/bench_refresh.py --write-costs``). A job known to neither goes first, in plan
order: it may be long, and a short job queued early costs little.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import duckdb

from obslaws.store.query import first_row


def job_key(kind: str, fitter: str, label: str = "") -> str:
    """The name a job's cost is kept under: ``fit NAME`` or ``NAME LABEL`` (a backtest)."""
    return f"fit {fitter}" if kind == "fit" else f"{fitter} {label}"


def shipped_costs() -> dict[str, float]:
    """Seconds per job of the shipped plan, measured by ``bench_refresh.py --write-costs``."""
    try:
        text = resources.files("obslaws.refresh").joinpath("costs.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return {str(k): float(v) for k, v in json.loads(text).get("seconds", {}).items()}


def previous_costs(conn: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Seconds per job in the last refresh of this database (reused jobs: their stored time)."""
    row = first_row(conn, "SELECT summary FROM refresh_runs ORDER BY finished_at DESC LIMIT 1")
    if row is None or row[0] is None:
        return {}
    summary = json.loads(row[0])
    costs = {job_key("fit", f["fitter"]): f.get("seconds") for f in summary.get("fits", [])}
    costs |= {job_key("backtest", b["fitter"], b["backtest"]): b.get("seconds") for b in summary.get("backtests", [])}
    return {k: float(v) for k, v in costs.items() if isinstance(v, (int, float)) and v > 0}


def longest_first(keys: Sequence[str], costs: dict[str, float]) -> list[int]:
    """Indices into ``keys``: unknown costs first (in order), then known ones by decreasing cost."""
    return sorted(range(len(keys)), key=lambda i: (keys[i] in costs, -costs.get(keys[i], 0.0), i))


def job_costs(conn: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Seconds per job key: the previous refresh's where it ran the job, else the shipped plan's."""
    return shipped_costs() | previous_costs(conn)


def fits_in_order(fits: Sequence[tuple[Any, Any, Any]], costs: dict[str, float]) -> list[int]:
    """Indices of the fits to run (``(outcome, fitter or None, data)``), longest first."""
    run = [i for i, (_, fitter, _) in enumerate(fits) if fitter is not None]
    keys = [job_key("fit", fits[i][0].fitter) for i in run]
    return [run[k] for k in longest_first(keys, costs)]


def backtest_batches(backtests: Sequence[tuple[Any, Any]], costs: dict[str, float]) -> list[list[int]]:
    """The backtests to run (``(outcome, Job or None)``) as batches of one fitter and target set
    (``Job.batch``: each runs in one worker, its folds shared and fitted together), each batch in
    plan order, the batches longest first: a batch costs the sum of its jobs, unknown if one is."""
    batches: dict[Any, list[int]] = {}
    for index, (_, job) in enumerate(backtests):
        if job is not None:
            batches.setdefault(job.batch(), []).append(index)
    groups = list(batches.values())
    keys = [job_key("backtest", backtests[g[0]][0].fitter, backtests[g[0]][0].label) for g in groups]
    known = {}
    for key, group in zip(keys, groups, strict=True):
        labels = [job_key("backtest", backtests[i][0].fitter, backtests[i][0].label) for i in group]
        if all(label in costs for label in labels):
            known[key] = sum(costs[label] for label in labels)
    return [groups[k] for k in longest_first(keys, known)]
