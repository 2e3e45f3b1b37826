"""Shared CLI pieces: the context object, output formats, error rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import duckdb
import polars as pl

from obslaws.errors import ObslawsError, StoreError

FORMATS = ("table", "csv", "json")
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)


@dataclass
class Context:
    db_path: str | None = None
    _conn: duckdb.DuckDBPyConnection | None = None

    def path(self) -> str:
        from obslaws.store.connection import default_path

        return self.db_path if self.db_path is not None else str(default_path())

    def connect(self, *, read_only: bool = False, create: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the database; it must exist unless ``create`` (only ``obslaws init`` creates one)."""
        if self._conn is None:
            from obslaws.store import connect

            path = self.path()
            if not create and path != ":memory:" and not Path(path).expanduser().exists():
                raise StoreError(
                    f"database {path} does not exist: create it with `obslaws --db {path} init`, "
                    "or check --db and $OBSLAWS_DB"
                )
            self._conn = connect(path, read_only=read_only)
        return self._conn

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def connect_for_reading(self, *, snapshot: bool = False) -> duckdb.DuckDBPyConnection:
        """A read-only connection: to the snapshot if asked, or if another process holds the database."""
        from obslaws.store import connect
        from obslaws.store.snapshot import describe_snapshot, is_locked, snapshot_path

        copy = snapshot_path(self.path())
        if snapshot:
            if not copy.exists():
                raise StoreError(f"no snapshot {copy}: a refresh of {self.path()} publishes one")
            self._conn = connect(copy, read_only=True)
            return self._conn
        try:
            return self.connect(read_only=True)
        except StoreError as exc:
            if not is_locked(exc):
                raise
            if not copy.exists():
                raise StoreError(
                    f"{exc}; another process (a refresh?) is writing it, and there is no snapshot to read "
                    f"({copy}: the next refresh publishes one)"
                ) from exc
        click.echo(
            f"note: {self.path()} is locked by a writer; reading the snapshot {describe_snapshot(copy)}", err=True
        )
        self._conn = connect(copy, read_only=True)
        return self._conn


def one_line(exc: BaseException) -> str:
    """A one-line description of an error, with the hint to see the traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, ObslawsError):
        text = f"{type(exc).__name__}: {text}"
    return text + (" (OBSLAWS_DEBUG=1 shows the traceback)" if not isinstance(exc, ObslawsError) else "")


def emit(frame: pl.DataFrame, fmt: str) -> None:
    """Print a frame as a table, CSV or JSON (a list of row objects)."""
    if fmt == "csv":
        click.echo(frame.write_csv(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
    else:
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            fmt_str_lengths=80,
            tbl_width_chars=200,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ):
            click.echo(str(frame))


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, default=str, indent=2))
