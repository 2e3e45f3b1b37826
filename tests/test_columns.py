"""The column spec (obslaws.store.columns) matches the schema the migrations build, and its users use it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import polars as pl
import pytest

from obslaws.errors import ValidationError
from obslaws.ingest.batch import SCHEMAS as BATCH_SCHEMAS
from obslaws.registry import TABLES as REGISTRY_TABLES
from obslaws.registry_check import registry_schema
from obslaws.store import columns as spec


def _migrated(conn) -> dict[str, list[tuple[str, str, bool]]]:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, sql_type, nullable in rows:
        out.setdefault(table, []).append((column, sql_type, nullable))
    return out


@pytest.mark.parametrize("table", list(spec.TABLES))
def test_spec_matches_the_migrated_schema(conn, table):
    migrated = _migrated(conn)
    assert table in migrated, f"{table} is in the spec but no migration creates it"
    expected = [(name, column.sql_type, not column.not_null) for name, column in spec.TABLES[table].items()]
    assert migrated[table] == expected


def test_every_column_a_default_fills_has_one_in_the_database(conn):
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND column_default IS NOT NULL AND is_nullable = 'NO'"
    ).fetchall()
    with_default = {(table, column) for table, column in rows if table in spec.TABLES}
    declared = {(t, c) for t, cols in spec.TABLES.items() for c, column in cols.items() if column.default}
    assert declared == with_default


def test_the_spec_catches_a_drifted_column(conn):
    # What the test above would report if a migration changed a type: the check can fail.
    conn.execute("ALTER TABLE benchmarks ALTER n_shots TYPE BIGINT")
    migrated = _migrated(conn)["benchmarks"]
    assert ("n_shots", "BIGINT", False) in migrated
    assert ("n_shots", spec.TABLES["benchmarks"]["n_shots"].sql_type, False) not in migrated


def _builder_core():
    """scripts/registry_build/core.py, the registry builder's tables and CSV writer."""
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        return importlib.import_module("registry_build.core")
    finally:
        sys.path.remove(str(scripts))


def test_loader_batch_and_builder_take_their_types_from_the_spec():
    for table in REGISTRY_TABLES:
        assert registry_schema(table) == spec.schema(table, spec.registry_columns(table))
    for table, schema in BATCH_SCHEMAS.items():
        assert schema == spec.schema(table, list(schema)), table
    core = _builder_core()
    assert {t: spec.registry_columns(t) for t in REGISTRY_TABLES} == core.COLUMNS


def test_schema_names_an_unknown_column_or_table():
    with pytest.raises(KeyError, match="no column"):
        spec.schema("models", ["model_id", "params"])
    with pytest.raises(KeyError, match="no column spec for table 'fits_'"):
        spec.schema("fits_")
    assert spec.schema("benchmarks", ["n_shots"]) == {"n_shots": pl.Int32()}


def test_the_builder_runs_the_loaders_checks_on_what_it_writes():
    core = _builder_core()
    source = {c: None for c in core.COLUMNS["sources"]} | {"source_id": "s", "kind": "paper", "citation": "c"}
    family = {"family": "f", "family_group": "f", "organization": None, "description": None}
    model = {c: None for c in core.COLUMNS["models"]} | {"model_id": "m", "family": "f", "source_id": "s"}
    tables = {"sources": [source], "families": [family], "models": [model | {"variant": "base"}]}
    core.check_rendered({t: core.render_csv(t, rows) for t, rows in tables.items()})
    tables["models"] = [model | {"variant": "chat"}]
    with pytest.raises(ValidationError, match=r"models.csv, row 2, field 'variant'"):
        core.check_rendered({t: core.render_csv(t, rows) for t, rows in tables.items()})
    tables["models"] = [model | {"variant": "base", "params_total": 7.0}]
    with pytest.raises(ValidationError, match=r"field 'params_total': 7 looks like a size in billions"):
        core.check_rendered({t: core.render_csv(t, rows) for t, rows in tables.items()})
