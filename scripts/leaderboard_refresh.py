#!/usr/bin/env python
"""Leaderboard refresh: ingest what is new, refit every fitter, backtest, write the report.

The same as `obslaws [--db PATH] refresh [--config FILE] [--out DIR] [--force]`.
"""

import sys

import click

from obslaws.cli import cli, main


def show_help() -> None:
    """The refresh command's help with the group's --db among its options (the script takes both)."""
    from obslaws.cli.refresh import refresh

    database = next(p for p in cli.params if p.name == "db_path")
    command = click.Command(
        "leaderboard_refresh.py",
        help=refresh.help,
        params=[database, *refresh.params],
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    command.main(["--help"], prog_name="leaderboard_refresh.py")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "-h" in args or "--help" in args:
        show_help()
    database: list[str] = []
    if "--db" in args:  # a group option of the CLI: it goes before the command
        at = args.index("--db")
        database, args = args[at : at + 2], args[:at] + args[at + 2 :]
    main([*database, "refresh", *args])
