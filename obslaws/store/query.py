"""Small query helpers. DuckDB 2 keeps a result open until it is fully fetched, so every read
here fetches all rows; use these instead of ``execute(...).fetchone()``."""

from __future__ import annotations

from typing import Any

import duckdb


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row, or None."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def first_row(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple | None:
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
