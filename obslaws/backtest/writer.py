"""Writing a backtest to the database: one transaction, idempotent (same id, same rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from obslaws.fitting.store import canonical_json, write_fits
from obslaws.store import transaction, upsert
from obslaws.store.query import registered

if TYPE_CHECKING:
    from obslaws.backtest.result import BacktestResult

CELL_COLUMNS = {
    "backtest_id": pl.String,
    "protocol": pl.String,
    "split": pl.String,
    "fitter": pl.String,
    "fit_id": pl.String,
    "model_id": pl.String,
    "benchmark": pl.String,
    "truth": pl.Float64,
    "prediction": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "stderr": pl.Float64,
}


def write_backtest(
    conn: duckdb.DuckDBPyConnection, result: BacktestResult, summary: dict[str, Any] | None = None
) -> None:
    """Write the fold fits, the ``backtest_runs`` row and every cell, all or nothing.

    Re-running the same backtest (same id) replaces its rows with identical ones. ``summary``:
    ``result.summary()`` where the caller has it already (it scores every cell again).
    """
    run = pl.DataFrame(
        [
            {
                "backtest_id": result.backtest_id,
                "fitter": result.fitter,
                "protocol": result.protocol,
                "benchmarks": list(result.benchmarks),
                "options": canonical_json(result.options),
                "summary": canonical_json(result.summary() if summary is None else summary),
                "fitter_version": result.fitter_version,
                "plugin": result.plugin,
                "hyperparameters": canonical_json(result.hyperparameters),
                "data_hash": result.data_hash,
                "averaging": result.averaging,
                "n_splits": len(result.splits),
                "n_cells": result.cells.height,
                "duration_s": result.duration_s,
            }
        ],
        schema_overrides={"benchmarks": pl.List(pl.String)},
    )
    cells = result.cells.select([pl.col(c).cast(t) for c, t in CELL_COLUMNS.items()])
    with transaction(conn):
        write_fits(conn, result.fit_rows)
        upsert(conn, "backtest_runs", run)
        conn.execute("DELETE FROM backtests WHERE backtest_id = ?", [result.backtest_id])
        if cells.height:
            with registered(conn, "_incoming_backtests", cells):
                cols = ", ".join(CELL_COLUMNS)
                conn.execute(f"INSERT INTO backtests ({cols}) SELECT {cols} FROM _incoming_backtests")
