"""Shared CLI pieces: the context object, output formats, error rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
import duckdb
import polars as pl

from obslaws.errors import ObslawsError

FORMATS = ("table", "csv", "json")
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)


@dataclass
class Context:
    db_path: str | None = None
    _conn: duckdb.DuckDBPyConnection | None = None

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            from obslaws.store import connect

            self._conn = connect(self.db_path, read_only=read_only)
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
