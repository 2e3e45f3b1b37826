"""A read-only copy of the database for readers while a writer holds it.

DuckDB lets one process write a file, and while it does, no other process can open it, not
even read-only. The refresh holds the file for minutes, so after it commits it publishes a
copy beside it (``obslaws.duckdb`` -> ``obslaws.snapshot.duckdb``), written under a temporary
name and renamed into place, so a reader sees either the previous snapshot or the new one,
never half of one. ``obslaws sql --snapshot`` reads it, and ``obslaws sql`` falls back to it
(saying so) when the database is locked.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from obslaws.errors import StoreError


def snapshot_path(db_path: str | os.PathLike[str]) -> Path:
    """Where the snapshot of ``db_path`` lives: ``NAME.snapshot.duckdb`` beside it.

    Examples
    --------
    >>> snapshot_path("/data/obslaws.duckdb").as_posix()
    '/data/obslaws.snapshot.duckdb'
    """
    path = Path(db_path)
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


def publish_snapshot(conn: duckdb.DuckDBPyConnection, db_path: str | os.PathLike[str]) -> Path:
    """Checkpoint ``conn`` (no transaction open) and atomically replace the snapshot with a copy."""
    db_path = Path(db_path)
    target = snapshot_path(db_path)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        conn.execute("CHECKPOINT")  # everything in the main file, nothing left in the WAL
        shutil.copyfile(db_path, staging)
        os.replace(staging, target)
    except (OSError, duckdb.Error) as exc:
        staging.unlink(missing_ok=True)
        raise StoreError(f"cannot publish the snapshot {target}: {exc}") from exc
    return target


def is_locked(exc: BaseException) -> bool:
    """Whether opening failed because another process holds the file."""
    return "lock" in str(exc).lower()


def describe_snapshot(path: Path) -> str:
    """``path (published YYYY-MM-DD HH:MM)`` for messages."""
    when = datetime.fromtimestamp(path.stat().st_mtime)
    return f"{path} (published {when:%Y-%m-%d %H:%M})"
