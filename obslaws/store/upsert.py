"""Idempotent writes keyed on each table's natural key: its PRIMARY KEY, or the one declared in table_keys."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from obslaws.errors import StoreError
from obslaws.store.query import first_row, registered
from obslaws.store.query import quote_identifier as _q


@dataclass
class WriteStats:
    """What a write did: rows added, rows whose values changed, rows already as given."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: WriteStats) -> WriteStats:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    def __str__(self) -> str:
        return f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"


def declared_keys(conn: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Natural keys of the tables without a PRIMARY KEY index, as migration 009 declares them."""
    if first_row(conn, "SELECT 1 FROM duckdb_tables() WHERE table_name = 'table_keys'") is None:
        return {}  # a database not yet migrated to 009
    return {
        name: list(cols) for name, cols in conn.execute("SELECT table_name, key_columns FROM table_keys").fetchall()
    }


def primary_key(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The table's PRIMARY KEY columns, else its natural key declared in ``table_keys``.

    scores and losses have no PRIMARY KEY (its index made large ingests slow, see migration
    009): their uniqueness comes from :func:`upsert` and is checked by
    :func:`obslaws.store.integrity.check_integrity`.
    """
    row = first_row(
        conn,
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    )
    if row is not None:
        return list(row[0])
    declared = declared_keys(conn).get(table)
    if declared is None:
        raise StoreError(f"table {table} has no primary key or declared key (table_keys) to upsert on")
    return declared


def upsert(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> WriteStats:
    """Insert new rows and update changed ones, keyed on the table's primary key.

    Columns of the table that ``frame`` lacks are left alone on update (NULL/default on insert).
    Within ``frame`` the last row of a duplicated key wins. Run it inside
    :func:`obslaws.store.transaction` to make a batch all-or-nothing.
    """
    if frame.is_empty():
        return WriteStats()
    keys = primary_key(conn, table)
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise StoreError(f"writing {table}: key column(s) {missing} missing from the data")
    frame = frame.unique(subset=keys, keep="last", maintain_order=True)
    values = [c for c in frame.columns if c not in keys]
    with registered(conn, f"_incoming_{table}", frame) as view:
        added, updated = _merge(conn, table, view, keys, values, frame.columns)
    return WriteStats(added=added, updated=updated, unchanged=frame.height - added - updated)


def _merge(
    conn: duckdb.DuckDBPyConnection, table: str, view: str, keys: list[str], values: list[str], columns: list[str]
) -> tuple[int, int]:
    """Update the changed rows of ``table`` from ``view`` and insert the new ones: (added, updated)."""
    try:
        join = " AND ".join(f"t.{_q(k)} = i.{_q(k)}" for k in keys)
        differs = " OR ".join(f"t.{_q(c)} IS DISTINCT FROM i.{_q(c)}" for c in values) or "false"
        # One join counts both (key columns are NOT NULL, so a NULL one in t means no match).
        found = f"t.{_q(keys[0])} IS NOT NULL"
        counts = first_row(
            conn,
            f"SELECT count(*) FILTER (WHERE NOT ({found})), count(*) FILTER (WHERE {found} AND ({differs})) "
            f"FROM {view} i LEFT JOIN {_q(table)} t ON {join}",
        )
        added, updated = counts if counts is not None else (0, 0)
        if updated:
            assignments = ", ".join(f"{_q(c)} = i.{_q(c)}" for c in values)
            conn.execute(f"UPDATE {_q(table)} t SET {assignments} FROM {view} i WHERE {join} AND ({differs})")
        if added:
            cols = ", ".join(_q(c) for c in columns)
            conn.execute(
                f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM {view} i "
                f"WHERE NOT EXISTS (SELECT 1 FROM {_q(table)} t WHERE {join})"
            )
    except duckdb.Error as exc:
        raise StoreError(f"writing {table}: {exc}") from exc
    return added, updated
