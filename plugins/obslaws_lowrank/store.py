"""Writing lowrank's diagnostics to the tables of the plugin's migration 001_diagnostics.sql."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from obslaws.store import transaction, upsert

EFFICIENCY_SCHEMA = {
    "fit_id": pl.String,
    "benchmark": pl.String,
    "family": pl.String,
    "component": pl.String,
    "slope": pl.Float64,
    "intercept": pl.Float64,
    "r2": pl.Float64,
    "n_models": pl.Int32,
}
EQUIVALENT_SCHEMA = {
    "fit_id": pl.String,
    "benchmark": pl.String,
    "model_id": pl.String,
    "reference_family": pl.String,
    "log10_flops": pl.Float64,
}


def write_diagnostics(
    conn: duckdb.DuckDBPyConnection, fit_id: str, diagnostics: dict[str, dict[str, Any]], reference_family: str
) -> None:
    """Upsert ``family_efficiency`` and ``equivalent_compute`` rows of one fit (idempotent)."""
    eff = [
        {"fit_id": fit_id, "benchmark": target, **row}
        for target, diag in diagnostics.items()
        for row in diag["family_efficiency"]
    ]
    eq = [
        {"fit_id": fit_id, "benchmark": target, "reference_family": reference_family, **row}
        for target, diag in diagnostics.items()
        for row in diag["equivalent_compute"]
    ]
    with transaction(conn):
        upsert(conn, "family_efficiency", pl.DataFrame(eff, schema=EFFICIENCY_SCHEMA))
        upsert(conn, "equivalent_compute", pl.DataFrame(eq, schema=EQUIVALENT_SCHEMA))
