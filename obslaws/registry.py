"""Loading the curated seed (`registry/`, shipped with the package) into the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from obslaws.errors import ValidationError
from obslaws.registry_check import KEYS, check_tables, read_table
from obslaws.store import WriteStats, transaction, upsert
from obslaws.store.columns import REGISTRY_TABLES
from obslaws.store.integrity import check_integrity
from obslaws.store.query import read_frame
from obslaws.store.views import rebuild_score_matrix

# Load order: referenced tables first.
TABLES = REGISTRY_TABLES


def registry_dir() -> Path:
    """The registry shipped with the package (wheel), else the source tree's `registry/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_registry", here.parent / "registry"):
        if (candidate / "models.csv").exists():
            return candidate
    raise ValidationError(str(here.parent / "registry"), None, None, "registry files not found")


@dataclass
class LoadReport:
    tables: dict[str, WriteStats] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(s.added or s.updated for s in self.tables.values())


def _known(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The keys the database already holds, which registry rows may refer to."""
    return {table: set(read_frame(conn, f"SELECT {key} FROM {table}")[key].to_list()) for table, key in KEYS.items()}


def read_registry(directory: Path | None = None) -> dict[str, pl.DataFrame]:
    """The registry CSVs of ``directory`` (any of them may be left out, but not all: a folder
    with none is a mistyped ``--registry``, which would otherwise load nothing and say so happily)."""
    directory = directory or registry_dir()
    frames = {t: read_table(directory / f"{t}.csv", t) for t in TABLES if (directory / f"{t}.csv").exists()}
    if not frames:
        names = ", ".join(f"{t}.csv" for t in TABLES)
        raise ValidationError(str(directory), None, None, f"not a registry folder: none of {names} is there")
    return frames


def load_registry(conn: duckdb.DuckDBPyConnection, directory: Path | None = None) -> LoadReport:
    """Validate and load every registry CSV in one transaction (all or nothing, idempotent)."""
    start = time.perf_counter()
    frames = read_registry(directory)
    check_tables(frames, _known(conn))
    report = LoadReport()
    with transaction(conn):
        for table in TABLES:
            if table in frames:
                report.tables[table] = upsert(conn, table, frames[table])
        check_integrity(conn)
        if report.tables.get("benchmarks") and report.tables["benchmarks"].added:
            rebuild_score_matrix(conn)
    report.seconds = time.perf_counter() - start
    return report


def summary(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Headline counts of what the database holds."""
    queries = {
        "models (checkpoints counted once)": "SELECT count(*) FROM models WHERE checkpoint_of IS NULL",
        "checkpoints": "SELECT count(*) FROM models WHERE checkpoint_of IS NOT NULL",
        "families": "SELECT count(DISTINCT family) FROM models",
        "family groups": "SELECT count(DISTINCT family_group) FROM model_features",
        "benchmarks": "SELECT count(*) FROM benchmarks",
        "score rows": "SELECT count(*) FROM scores",
        "loss rows": "SELECT count(*) FROM losses",
        "sources": "SELECT count(*) FROM sources",
        "models with a release date": "SELECT count(*) FROM models WHERE release_date IS NOT NULL",
    }
    return {label: conn.execute(sql).fetchall()[0][0] for label, sql in queries.items()}
