"""What a refresh publishes besides the database: the report folder and the read-only snapshot.

The report is built in a staging folder beside its target and swapped in when complete; it
records the database state it describes (``refresh.json``), so that a refresh that finds
nothing new can still tell that the report is missing or stale (after a kill during the report
step) and rebuild it. Staging folders a killed refresh left behind are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from obslaws import interrupts

STAMP = "refresh.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_staging(out_dir: Path) -> list[Path]:
    """Remove staging folders of ``out_dir`` whose refresh is no longer running; returns them."""
    removed = []
    for path in out_dir.parent.glob(f".{out_dir.name}-*"):
        owner = path.name.removeprefix(f".{out_dir.name}-").split("-", 1)[0]
        if path.is_dir() and not (owner.isdigit() and _alive(int(owner))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def write_report_atomically(build: Callable[[Path], Path], out_dir: Path, stamp: dict | None = None) -> Path:
    """Build the report in a sibling staging folder, then swap it into ``out_dir``.

    ``stamp`` (the refresh id and state hash) is written as ``refresh.json`` in the report.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-{os.getpid()}-", dir=out_dir.parent))
    try:
        build(staging)
        interrupts.check()  # an interrupted report replaces nothing, even where DuckDB dropped the signal
        if stamp is not None:
            (staging / STAMP).write_text(json.dumps(stamp, default=str, indent=2) + "\n")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-{os.getpid()}-old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def report_is_current(out_dir: Path, state_hash: str) -> bool:
    """Whether ``out_dir`` holds a complete report of the database state ``state_hash``."""
    try:
        stamp = json.loads((out_dir / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("state_hash") == state_hash and (out_dir / "index.md").is_file()
