"""What a refresh can take from earlier runs instead of recomputing it.

A fit's id hashes the fitter, its version, hyperparameters and the data it saw; a backtest's id
hashes the same plus the protocol and its options. When a refresh finds a stored row with the
id it would write, the inputs are unchanged, so the stored result stands (``--force`` redoes it).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from obslaws.data import FitData
from obslaws.errors import ObslawsError
from obslaws.fitting.contract import Fitter
from obslaws.refresh.config import RefreshConfig
from obslaws.store.query import first_row


def needs_instance(config: RefreshConfig) -> set[str]:
    """Fitters whose fitted object the later steps use (predictions, the new-model check, curves)."""
    return {config.predict_fitter, config.curve_fitter}


def stored_fit(conn: duckdb.DuckDBPyConnection, fitter: Fitter, data: FitData) -> tuple[str, float] | None:
    """``(fit_id, seconds)`` of a stored fit of this fitter (name, version, hyperparameters) on this data."""
    from obslaws.fitting.store import fit_id_for

    fit_id = fit_id_for(fitter, data.content_hash())
    row = first_row(conn, "SELECT duration_s FROM fits WHERE fit_id = ?", [fit_id])
    return (fit_id, float(row[0] or 0.0)) if row else None


def stored_backtest(
    conn: duckdb.DuckDBPyConnection, job: Any, hashes: dict[tuple, str] | None = None
) -> tuple[str, dict[str, Any], float] | None:
    """``(backtest_id, summary, seconds)`` of a stored run of exactly this backtest (same id).

    ``hashes`` keeps the hash of each protocol's eligible data across the jobs of one plan: the
    fitters that need the same covariates see the same data, hashed once (the hash is most of
    the work of the id, and the parent does it for every job while the workers fit).
    """
    from obslaws.backtest.harness import backtest_id_for

    try:
        fitter = job.create()
        backtest_id = backtest_id_for(
            fitter, job.data, job.protocol, benchmarks=job.benchmarks, hashes=hashes, **job.options
        )
    except ObslawsError:  # the backtest itself will report it
        return None
    row = first_row(conn, "SELECT summary, duration_s FROM backtest_runs WHERE backtest_id = ?", [backtest_id])
    return (backtest_id, json.loads(row[0]), float(row[1] or 0.0)) if row else None
