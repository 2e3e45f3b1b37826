"""The state a refresh depends on, hashed, so that a second run can tell nothing is new."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb

# The tables whose content fitters and backtests see.
DATA_TABLES = ("sources", "families", "benchmarks", "models", "model_aliases", "scores", "losses")


def data_fingerprint(conn: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """Per table: row count and an order-independent hash of every row."""
    out = {}
    for table in DATA_TABLES:
        count, digest = conn.execute(f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t").fetchall()[0]
        out[table] = [int(count), str(digest)]
    return out


def state_hash(conn: duckdb.DuckDBPyConnection, plan: dict[str, Any], fitters: dict[str, Any]) -> str:
    """Hash of the data, the refresh plan and every fitter's name, version and plugin version."""
    payload = {"data": data_fingerprint(conn), "plan": plan, "fitters": fitters}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def last_refresh(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = conn.execute(
        "SELECT refresh_id, state_hash, finished_at FROM refresh_runs ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    refresh_id, state, finished = rows[0]
    return {"refresh_id": refresh_id, "state_hash": state, "finished_at": finished}
