"""Database commands: init, sql, models, schema."""

from __future__ import annotations

import sys

import click
import duckdb
import polars as pl

from obslaws.cli.common import Context, emit, format_option
from obslaws.errors import StoreError


@click.command()
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Load this registry folder instead of the one shipped with obslaws.",
)
@click.pass_obj
def init(ctx: Context, registry_path: str | None) -> None:
    """Create or migrate the database and load the curated registry (idempotent).

    A failed init of a new file removes the file; an existing database is left as it was.
    """
    from pathlib import Path

    from obslaws.registry import load_registry, summary

    target = Path(ctx.path()).expanduser()
    created = ctx.path() != ":memory:" and not target.exists()
    try:
        conn = ctx.connect(create=True)
        report = load_registry(conn, Path(registry_path) if registry_path else None)
    except BaseException:  # also Ctrl-C: a half-made file is no database to leave behind
        if created:
            ctx.close()
            for leftover in (target, target.with_name(target.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    for table, stats in report.tables.items():
        click.echo(f"{table:>14}: {stats}")
    click.echo(f"loaded in {report.seconds:.2f} s" + ("" if report.changed else " (nothing changed)"))
    click.echo("")
    for label, count in summary(conn).items():
        click.echo(f"{count:>8}  {label}")


@click.command()
@click.argument("query")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind a named parameter ($NAME in the query); repeatable. Values are never pasted into SQL.",
)
@click.option("--write", is_flag=True, help="Open the database for writing (default: read-only).")
@click.option(
    "--snapshot",
    is_flag=True,
    help="Read the snapshot the last refresh published (NAME.snapshot.duckdb), e.g. while a refresh runs.",
)
@format_option
@click.pass_obj
def sql(ctx: Context, query: str, params: tuple[str, ...], write: bool, snapshot: bool, fmt: str) -> None:
    """Run a SQL QUERY ('-' reads it from standard input).

    Read-only unless --write: readers never block each other, a read-only file can be queried,
    and a stray statement cannot change the data. While another process writes the database (a
    refresh), it reads the snapshot that process's last refresh published, and says so.
    """
    if write and snapshot:
        raise click.UsageError("--write and --snapshot exclude each other: the snapshot is read-only")
    from_stdin = query == "-"
    if from_stdin:
        query = sys.stdin.read()
    if not duckdb.extract_statements(query):  # else DuckDB runs nothing and the command says nothing
        where = "standard input has" if from_stdin else "the query has"
        raise click.UsageError(f"{where} no SQL statement")
    bound: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-p")
        bound[name] = value
    conn = ctx.connect() if write else ctx.connect_for_reading(snapshot=snapshot)
    try:
        result = conn.sql(query, params=bound or None)  # a relation for a query, None for a statement
    except duckdb.InvalidInputException as exc:
        if not write and "read-only" in str(exc):
            raise StoreError(f"{' '.join(str(exc).split())}; `obslaws sql --write` changes data") from exc
        raise
    if result is None:
        return
    emit(result.pl(), fmt)


@click.command()
@click.option("--family", default=None, help="Only models of this family (or family group).")
@format_option
@click.pass_obj
def models(ctx: Context, family: str | None, fmt: str) -> None:
    """List models with their size, tokens, compute and release date."""
    from obslaws.store.query import read_frame

    conn = ctx.connect_for_reading()
    query = (
        "SELECT model_id, family, variant, params, tokens, flops, release_date FROM model_features "
        "WHERE NOT is_checkpoint AND ($family IS NULL OR family = $family OR family_group = $family) "
        "ORDER BY family, params NULLS LAST, model_id"
    )
    emit(read_frame(conn, query, {"family": family}), fmt)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "sql"]), default="markdown", show_default=True)
def schema(fmt: str) -> None:
    """Print the documented schema, generated from the code."""
    from obslaws.store.schema_doc import schema_markdown, schema_sql

    click.echo(schema_markdown() if fmt == "markdown" else schema_sql())


commands = [init, sql, models, schema]
__all__ = ["commands", "pl"]
