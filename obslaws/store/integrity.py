"""Referential integrity and unique natural keys, checked inside a write's transaction.

References are not FOREIGN KEY clauses (see migration 001 for why), and scores and losses have no
PRIMARY KEY (see migration 009): both are checked here instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl

from obslaws.errors import StoreError
from obslaws.store.query import quote_identifier as _q
from obslaws.store.query import registered
from obslaws.store.upsert import declared_keys

# (table, column, referenced table, referenced column)
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("models", "family", "families", "family"),
    ("models", "source_id", "sources", "source_id"),
    ("models", "release_date_source", "sources", "source_id"),
    ("model_aliases", "model_id", "models", "model_id"),
    ("model_aliases", "source_id", "sources", "source_id"),
    ("scores", "model_id", "models", "model_id"),
    ("scores", "benchmark", "benchmarks", "benchmark"),
    ("scores", "source_id", "sources", "source_id"),
    ("losses", "model_id", "models", "model_id"),
    ("losses", "source_id", "sources", "source_id"),
    ("predictions", "fit_id", "fits", "fit_id"),
    ("backtests", "backtest_id", "backtest_runs", "backtest_id"),
    ("eval_runs", "source_id", "sources", "source_id"),
    ("eval_runs", "model_id", "models", "model_id"),
    ("eval_cache", "source_id", "sources", "source_id"),
    ("eval_cache", "model_id", "models", "model_id"),
    ("model_datasets", "model_id", "models", "model_id"),
    ("model_datasets", "source_id", "sources", "source_id"),
)


def check_integrity(conn: duckdb.DuckDBPyConnection) -> None:
    """Raise StoreError naming the first duplicated natural key or dangling reference, if any."""
    check_unique_keys(conn)
    for table, column, target, key in REFERENCES:
        rows = conn.execute(
            f"SELECT DISTINCT t.{column} FROM {table} t WHERE t.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.{key} = t.{column}) LIMIT 3"
        ).fetchall()
        if rows:
            names = ", ".join(repr(r[0]) for r in rows)
            raise StoreError(f"{table}.{column} refers to {names}, not in {target}.{key}")


def check_written(conn: duckdb.DuckDBPyConnection, written: Iterable[tuple[str, pl.DataFrame]]) -> None:
    """:func:`check_integrity` for just the rows a write gave, as (table, frame) pairs.

    Writes only insert and update, so rows already in the database were checked when they were
    written; scanning whole tables each batch made a large ingest quadratic.
    """
    frames: dict[str, list[pl.DataFrame]] = {}
    for table, frame in written:
        frames.setdefault(table, []).append(frame)
    for table, column, target, key in REFERENCES:
        values = [f.get_column(column).cast(pl.String) for f in frames.get(table, []) if column in f.columns]
        if not values:
            continue
        refs = pl.concat(values).drop_nulls().unique().to_frame(column)
        if refs.is_empty():
            continue
        with registered(conn, "_written_refs", refs):
            rows = conn.execute(
                f"SELECT w.{column} FROM _written_refs w "
                f"WHERE NOT EXISTS (SELECT 1 FROM {target} r WHERE r.{key} = w.{column}) LIMIT 3"
            ).fetchall()
        if rows:
            names = ", ".join(repr(r[0]) for r in rows)
            raise StoreError(f"{table}.{column} refers to {names}, not in {target}.{key}")


def check_unique_keys(conn: duckdb.DuckDBPyConnection) -> None:
    """Raise StoreError naming a duplicated natural key of a table declared in ``table_keys``.

    Those tables have no PRIMARY KEY index; upserts keep them unique, and this catches rows that
    came another way (raw SQL). One GROUP BY per table.
    """
    for table, keys in declared_keys(conn).items():
        cols = ", ".join(_q(k) for k in keys)
        rows = conn.execute(
            f"SELECT {cols}, count(*) FROM {_q(table)} GROUP BY {cols} HAVING count(*) > 1 ORDER BY {cols} LIMIT 3"
        ).fetchall()
        if rows:
            shown = "; ".join(
                ", ".join(f"{k}={v!r}" for k, v in zip(keys, row[:-1], strict=True)) + f" ({row[-1]} rows)"
                for row in rows
            )
            raise StoreError(f"{table} has duplicate rows for its key ({', '.join(keys)}): {shown}")
