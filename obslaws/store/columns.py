"""The column spec of the public data tables: each column's name, type and whether a row must give it.

The registry loader (:mod:`obslaws.registry`), the ingest batch (:mod:`obslaws.ingest.batch`) and
the registry builder (``scripts/registry_build``) take their columns and types from here. The
migrations stay the history of how a database got its schema; ``tests/test_columns.py`` checks
this spec against a freshly migrated database (column sets, SQL types, NOT NULL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

# polars type -> the SQL type DuckDB reports for it.
_SQL_TYPES: tuple[tuple[pl.DataType, str], ...] = (
    (pl.String(), "VARCHAR"),
    (pl.Int32(), "INTEGER"),
    (pl.Int64(), "BIGINT"),
    (pl.Float64(), "DOUBLE"),
    (pl.Date(), "DATE"),
    (pl.Datetime("us"), "TIMESTAMP"),
)


@dataclass(frozen=True)
class Column:
    """One column of a public table.

    Parameters
    ----------
    dtype:
        Its polars type (what readers and writers build frames with).
    required:
        NOT NULL without a default: every row must give it.
    default:
        NOT NULL with a database default: a row may leave it out.
    registry:
        The curated seed's ``registry/<table>.csv`` has this column.
    sql:
        The SQL type where it is not the one ``dtype`` maps to (``JSON`` held as text).
    """

    dtype: pl.DataType
    required: bool = False
    default: bool = False
    registry: bool = True
    sql: str | None = None

    @property
    def sql_type(self) -> str:
        if self.sql is not None:
            return self.sql
        return next(sql for dtype, sql in _SQL_TYPES if dtype == self.dtype)

    @property
    def not_null(self) -> bool:
        return self.required or self.default


_TEXT, _KEY = Column(pl.String()), Column(pl.String(), required=True)
_INT, _BIGINT, _FLOAT = Column(pl.Int32()), Column(pl.Int64()), Column(pl.Float64())
_JSON = Column(pl.String(), sql="JSON")
_TIMESTAMP = Column(pl.Datetime("us"))

# In the database's column order; migration 001 and its successors made them so.
TABLES: dict[str, dict[str, Column]] = {
    "sources": {
        "source_id": _KEY,
        "kind": _KEY,
        "citation": _KEY,
        "url": _TEXT,
        "license": _TEXT,
        "retrieved": Column(pl.Date()),
        "sha256": _TEXT,
        "priority": Column(pl.Int32(), default=True),
    },
    "families": {"family": _KEY, "family_group": _KEY, "organization": _TEXT, "description": _TEXT, "domain": _TEXT},
    "models": {
        "model_id": _KEY,
        "family": _KEY,
        "variant": _KEY,
        "base_model": _TEXT,
        "organization": _TEXT,
        "params_total": _FLOAT,
        "params_active": _FLOAT,
        "params_non_embedding": _FLOAT,
        "tokens": _FLOAT,
        "flops": _FLOAT,
        "flops_basis": _TEXT,
        "release_date": Column(pl.Date()),
        "release_date_source": _TEXT,
        "checkpoint_of": _TEXT,
        "step": _BIGINT,
        "license": _TEXT,
        "source_id": _KEY,
    },
    "model_aliases": {"alias": _KEY, "model_id": _KEY, "source_id": _TEXT},
    "benchmarks": {
        "benchmark": _KEY,
        "metric": _KEY,
        "n_shots": Column(pl.Int32(), required=True),
        "chance": Column(pl.Float64(), required=True),
        "n_items": _INT,
        "description": _TEXT,
    },
    "scores": {
        "model_id": _KEY,
        "benchmark": _KEY,
        "metric": _KEY,
        "n_shots": Column(pl.Int32(), required=True),
        "value": Column(pl.Float64(), required=True),
        "stderr": _FLOAT,
        "n_samples": _INT,
        "source_id": _KEY,
        "harness": _TEXT,
        "harness_version": _TEXT,
        "evaluated_at": _TIMESTAMP,
    },
    "losses": {
        "model_id": _KEY,
        "dataset": _KEY,
        "value": Column(pl.Float64(), required=True),
        "unit": _KEY,
        "tokens_seen": _FLOAT,
        "source_id": _KEY,
        "stderr": Column(pl.Float64(), registry=False),
        "n_shots": Column(pl.Int32(), registry=False),
    },
    "eval_runs": {
        "source_id": _KEY,
        "model_id": _KEY,
        "model_name": _KEY,
        "revision": _TEXT,
        "harness": _KEY,
        "harness_version": _TEXT,
        "file_format": _KEY,
        "model_args": _TEXT,
        "n_shot": _JSON,
        "task_versions": _JSON,
        "config": _JSON,
        "path": _TEXT,
        "evaluated_at": _TIMESTAMP,
    },
    "eval_cache": {
        "model_id": _KEY,
        "revision": _KEY,
        "task": _KEY,
        "num_fewshot": Column(pl.Int32(), required=True),
        "harness_version": _KEY,
        "limit": _KEY,
        "source_id": _KEY,
        "n_shots": _INT,
        "finished_at": Column(pl.Datetime("us"), default=True),
    },
    "model_datasets": {"model_id": _KEY, "dataset": _KEY, "source_id": _KEY},
}
# Tables the curated seed holds, referenced tables first (its load and write order).
REGISTRY_TABLES = ("sources", "families", "benchmarks", "models", "model_aliases", "scores", "losses")


def columns(table: str) -> dict[str, Column]:
    """The spec of ``table``; a table the spec lacks is a KeyError naming the ones it has."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"no column spec for table {table!r}; known: {', '.join(TABLES)}") from None


def schema(table: str, names: Iterable[str] | None = None) -> dict[str, pl.DataType]:
    """Polars schema of ``table``'s columns ``names`` (in that order; default every column)."""
    spec = columns(table)
    names = list(spec) if names is None else list(names)
    unknown = [name for name in names if name not in spec]
    if unknown:
        raise KeyError(f"table {table!r} has no column(s) {unknown}; known: {', '.join(spec)}")
    return {name: spec[name].dtype for name in names}


def registry_columns(table: str) -> list[str]:
    """The columns of ``registry/<table>.csv``, in file order."""
    return [name for name, column in columns(table).items() if column.registry]


def given_columns(table: str, leave_out: Iterable[str] = ()) -> tuple[str, ...]:
    """The columns of ``table`` a writer gives, in table order: all but those a database default
    fills and ``leave_out``."""
    skip = set(leave_out)
    return tuple(name for name, column in columns(table).items() if not column.default and name not in skip)


def required_columns(table: str) -> list[str]:
    """The columns every row of ``table`` must give (NOT NULL, no default)."""
    return [name for name, column in columns(table).items() if column.required]
