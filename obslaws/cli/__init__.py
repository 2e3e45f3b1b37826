"""The ``obslaws`` command line. Commands live in one module per group; errors become one line."""

from __future__ import annotations

import importlib
import os
import sys

import click

from obslaws import interrupts
from obslaws.cli.common import Context

# One module per command group; each defines ``commands`` (a list of click commands).
_COMMAND_MODULES = (
    "obslaws.cli.backtest",
    "obslaws.cli.db",
    "obslaws.cli.export",
    "obslaws.cli.fitting",
    "obslaws.cli.ingest",
    "obslaws.cli.names",
    "obslaws.cli.refresh",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="DuckDB file (default: $OBSLAWS_DB, else ./obslaws.duckdb).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Threads for torch and BLAS in fits and backtests (default: $OBSLAWS_THREADS, else 1) and for "
        "Sloth's compiled problems (default: one per core); see docs/speed.md."
    ),
)
@click.version_option(package_name="obslaws")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, threads: int | None) -> None:
    """obslaws: observational scaling-law benchmark database with plugin fitters."""
    ctx.obj = Context(db_path=db_path)
    # the command's connection closes with it, not when the garbage collector finds it: a process
    # that runs the CLI in-process (a test, a notebook) may open the file again at once, read-only
    ctx.call_on_close(ctx.obj.close)
    # ``eval`` runs a language model, which wants torch's own default unless told otherwise.
    if threads is not None or ctx.invoked_subcommand != "eval":
        from obslaws.threads import set_threads

        set_threads(threads)


def _build() -> click.Group:
    for name in _COMMAND_MODULES:
        for command in importlib.import_module(name).commands:
            cli.add_command(command)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; library errors print as one line unless OBSLAWS_DEBUG=1."""
    debug = os.environ.get("OBSLAWS_DEBUG", "") not in ("", "0")
    # Ctrl-C and SIGTERM unwind (transactions roll back, workers end) and are not lost in a C extension
    with interrupts.handled():
        _run(argv, debug)


def _run(argv: list[str] | None, debug: bool) -> None:
    try:
        group = _build()
        from obslaws.plugins import plugin_manager

        plugin_manager().hook.register_commands(cli=group)
        status = group.main(args=argv, prog_name="obslaws", standalone_mode=False)
        if isinstance(status, int) and status:  # a command's click.exceptions.Exit(status)
            sys.exit(status)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # one place turns every error into one line
        if debug:
            raise
        from obslaws.cli.common import one_line

        click.echo(f"Error: {one_line(exc)}", err=True)
        sys.exit(1)
