"""Small query helpers. DuckDB 2 keeps a result open until it is fully fetched, so every read
here fetches all rows; use these instead of ``execute(...).fetchone()``. DuckDB 2 also has no
``execute(...).pl()``: :func:`read_frame` reads a query into polars on DuckDB 1.1 to 2.x."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import duckdb
import polars as pl


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row, or None."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def first_row(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple | None:
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def read_frame(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> pl.DataFrame:
    """The result of the query ``sql`` as a polars DataFrame (a relation's ``pl()``: every DuckDB
    version has it, while ``execute(...).pl()`` is gone in 2.0)."""
    return conn.sql(sql, params=params or None).pl()


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, data: pl.DataFrame) -> Iterator[str]:
    """``data`` readable by SQL as the view ``name`` inside the block."""
    conn.register(name, data.to_arrow())
    try:
        yield name
    finally:
        # DuckDB 2 refuses this in an aborted transaction, whose rollback drops the view anyway
        with suppress(duckdb.TransactionException):
            conn.unregister(name)


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
