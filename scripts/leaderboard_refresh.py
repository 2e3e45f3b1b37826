#!/usr/bin/env python
"""Leaderboard refresh: ingest what is new, refit every fitter, backtest, write the report.

The same as `obslaws [--db PATH] refresh [--config FILE] [--out DIR] [--force]`.
"""

import sys

from obslaws.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    database: list[str] = []
    if "--db" in args:  # a group option of the CLI: it goes before the command
        at = args.index("--db")
        database, args = args[at : at + 2], args[:at] + args[at + 2 :]
    main([*database, "refresh", *args])
