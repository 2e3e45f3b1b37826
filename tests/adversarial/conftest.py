"""Shared pieces of the adversarial tests: the CLI's exit status, a fresh database file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import obslaws
from obslaws.cli import main


def _status(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def cli() -> Callable[[list[str]], int]:
    """Run ``obslaws ARGS`` in this process; returns the exit status (0 when it returns)."""
    return _status


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A fresh, migrated database file (only ``obslaws init`` creates one from the CLI)."""
    path = tmp_path / "adversarial.duckdb"
    obslaws.connect(path, plugins=False).close()
    return path
