"""The refresh queues its jobs longest first, and the order changes nothing it stores.

On a real database built from the registry with a cut-down plan (baseline fitters, one cheap
backtest), as tests/test_refresh.py.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

import obslaws
from obslaws.fitting.lookup import get_fitters
from obslaws.refresh.config import load_config
from obslaws.refresh.outcome import BacktestOutcome, FitOutcome
from obslaws.refresh.parallel import Job, Workers
from obslaws.refresh.pipeline import refresh
from obslaws.refresh.schedule import (
    backtest_batches,
    fits_in_order,
    job_key,
    longest_first,
    previous_costs,
    shipped_costs,
)
from obslaws.report import plots
from obslaws.report.figures import FigurePool, draw_ahead

FAST_PLUGINS_ONLY = "sloth,lowrank,loss2loss,densing,forecast,example"

PLAN = """
[fit]
benchmarks = "oll-v1"

# short fits: the test is about the order of the jobs, not their quality
[fit.fitters.flops-sigmoid]
options = { max_iter = 200 }

[fit.fitters.flops-sigmoid-family]
options = { max_iter = 200 }

[backtest]
time_split = { benchmarks = "oll-v1", date = "2024-01-01" }

[report]
curve_fitter = "flops-sigmoid-family"
predict_fitter = "flops-sigmoid-family"
"""


def test_longest_first_puts_unknown_costs_first_then_the_longest():
    keys = ["a", "b", "c", "d", "e"]
    costs = {"a": 1.0, "c": 5.0, "e": 3.0}
    assert longest_first(keys, costs) == [1, 3, 2, 4, 0]
    assert longest_first(keys, {}) == [0, 1, 2, 3, 4]


def test_backtests_batch_per_fitter_source_and_target_set():
    # A batch-invariant fitter's backtests share folds only on the same data: other sources stay
    # separate jobs (the forecaster's OLL v1 backtests on two sources were one 24 CPU s job).
    info = get_fitters()["benchmark-mean"]  # fold by fold: batch-invariant
    plans = [("time-split", None), ("rolling-forecast", None), ("compute-cutoff", "obsscaling-4d6e1e4")]
    jobs = [Job("benchmark-mean", {}, "p", None, proto, "oll-v1", {}, info, source) for proto, source in plans]
    assert jobs[0].batch() == jobs[1].batch() != jobs[2].batch()
    backtests = [(BacktestOutcome("benchmark-mean", job.protocol, "queued"), job) for job in jobs]
    assert sorted(backtest_batches(backtests, {})) == [[0, 1], [2]]


def test_shipped_costs_name_the_shipped_plans_longest_jobs():
    costs = shipped_costs()
    assert costs, "obslaws/refresh/costs.json is missing or empty"
    config = load_config(None)
    label = next(step.label for step in config.backtests if step.protocol == "family-holdout")
    assert job_key("backtest", "sloth", label) in costs
    assert all(seconds >= 0 for seconds in costs.values())


def _refresh(tmp_path: Path, name: str, workers: int) -> duckdb.DuckDBPyConnection:
    (tmp_path / "plan.toml").write_text(PLAN)
    conn = obslaws.connect(tmp_path / f"{name}.duckdb")
    refresh(conn, load_config(tmp_path / "plan.toml"), progress=lambda _line: None, workers=workers)
    return conn


def _stored(conn) -> dict[str, pl.DataFrame]:
    return {
        "fits": conn.sql("SELECT * EXCLUDE (created_at, duration_s) FROM fits ORDER BY fit_id").pl(),
        "backtests": conn.sql("SELECT * FROM backtests ORDER BY ALL").pl(),
        "predictions": conn.sql("SELECT * EXCLUDE (created_at) FROM predictions ORDER BY ALL").pl(),
    }


@pytest.fixture
def fast_plugins(monkeypatch):
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", FAST_PLUGINS_ONLY)


def test_the_previous_refresh_orders_the_next_and_the_order_changes_nothing_stored(tmp_path, fast_plugins):
    pooled = _refresh(tmp_path, "pooled", workers=2)
    costs = previous_costs(pooled)
    summary = pooled.execute("SELECT summary FROM refresh_runs").fetchall()
    assert len(summary) == 1
    # listed shortest first, so that longest first must reverse them
    ascending = sorted(costs, key=costs.get)
    fits = [FitOutcome(key.removeprefix("fit "), "p", "queued") for key in ascending if key.startswith("fit ")]
    backtests = [BacktestOutcome(*key.split(" ", 1), "queued") for key in ascending if not key.startswith("fit ")]
    assert len(fits) >= 2 and len(backtests) >= 2
    fit_order = fits_in_order([(f, object(), None) for f in fits], costs)
    # one backtest per fitter in this plan: every batch (one fitter, one target set) is one job
    infos = get_fitters()
    jobs = [Job(b.fitter, {}, "p", None, "time-split", "oll-v1", {}, infos[b.fitter]) for b in backtests]
    batches = backtest_batches(list(zip(backtests, jobs, strict=True)), costs)
    assert all(len(batch) == 1 for batch in batches)
    backtest_order = [batch[0] for batch in batches]
    for order, key in (
        (fit_order, lambda i: job_key("fit", fits[i].fitter)),
        (backtest_order, lambda i: job_key("backtest", backtests[i].fitter, backtests[i].label)),
    ):
        seconds = [costs[key(i)] for i in order]
        assert sorted(order) == list(range(len(order))) and seconds == sorted(seconds, reverse=True)
        assert order[0] == len(order) - 1
    assert fits_in_order([(fits[0], None, None)], costs) == []  # nothing to run: not queued
    # one worker runs the jobs here, in plan order; two run them longest first: the same rows
    alone = _refresh(tmp_path, "alone", workers=1)
    for table, frame in _stored(pooled).items():
        assert frame.height and frame.equals(_stored(alone)[table]), table
    _figures_drawn_in_parallel_are_the_serial_ones(pooled, tmp_path)


def _figures_drawn_in_parallel_are_the_serial_ones(conn, tmp_path: Path) -> None:
    cells = conn.sql("SELECT fitter, benchmark, truth, prediction, lower, upper FROM backtests").pl()
    parts = [cells.filter(pl.col("benchmark") == name) for name in sorted(set(cells["benchmark"]))[:3]]
    drawn = {}
    for workers in (1, 2, "shared"):
        folder = tmp_path / f"figures-{workers}"
        folder.mkdir()
        # "shared": on workers that ran a job first, as the refresh's report draws them
        with Workers(2) as shared:
            on = shared if workers == "shared" else None
            if on is not None:
                on.pool().submit(abs, -1).result()
            with FigurePool(2 if on is not None else workers, on) as figures:
                for i, part in enumerate(parts):
                    figures.draw(plots.predicted_vs_actual, part, f"figure {i}", folder / f"{i}.png")
            if on is not None:  # the figures leave the shared workers running: not theirs to end
                assert on.pool().submit(abs, -2).result() == 2
        drawn[workers] = [(folder / f"{i}.png").read_bytes() for i in range(len(parts))]
    assert len(parts) == 3 and drawn[1] == drawn[2] == drawn["shared"]
    _figures_drawn_ahead_are_the_serial_ones(parts, drawn[1], tmp_path)
    with pytest.raises(pl.exceptions.ColumnNotFoundError), FigurePool(2) as figures:
        for i, part in enumerate(parts[:2]):
            figures.draw(plots.predicted_vs_actual, part.drop("truth"), "no truth", tmp_path / f"bad{i}.png")


def _figures_drawn_ahead_are_the_serial_ones(parts: list[pl.DataFrame], serial: list[bytes], tmp_path: Path) -> None:
    """A figure the refresh queued ahead is copied in when the report asks for it with the same
    data, and drawn anew when the data differ; what is not taken goes with the workers."""
    folder = tmp_path / "figures-ahead"
    folder.mkdir()
    with Workers(2) as shared:
        draw_ahead(shared, plots.predicted_vs_actual, parts[0], "figure 0", name="0.png")
        draw_ahead(shared, plots.predicted_vs_actual, parts[1].head(5), "figure 1", name="1.png")
        stale = shared.ahead["1.png"][3]
        with FigurePool(2, shared) as figures:
            for i, part in enumerate(parts):
                figures.draw(plots.predicted_vs_actual, part, f"figure {i}", folder / f"{i}.png")
        assert "0.png" not in shared.ahead and "1.png" in shared.ahead  # taken; other data, not taken
    assert [(folder / f"{i}.png").read_bytes() for i in range(len(parts))] == serial
    assert not stale.parent.exists()
