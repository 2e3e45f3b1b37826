"""Migration sets: the core's and each plugin's own (``register_migrations``), recorded per set.

A database file made before the sets existed (obslaws at fd46a2b: one numbered list, 005-007
creating the sloth, lowrank and densing tables) must open with today's obslaws with nothing
re-applied and every row unchanged. ``_old_database`` builds such a file the way that version
did: the same SQL (the moved files differ from fd46a2b's 005-007 only in their first comment
line), applied in that version's order and recorded in that version's ``schema_migrations``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import obslaws
from obslaws import hookimpl
from obslaws.errors import PluginError, StoreError
from obslaws.plugins import get_plugin_manager
from obslaws.store.migrations import CORE_SET, Migration, MigrationSet, applied_steps
from obslaws.store.views import rebuild_score_matrix

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "obslaws" / "store" / "migrations"
# fd46a2b's numbered list: version -> (name it recorded, where that SQL lives today).
OLD_LAYOUT = {
    1: ("initial", CORE / "001_initial.sql"),
    2: ("views", CORE / "002_views.sql"),
    3: ("backtest_summary", CORE / "003_backtest_summary.sql"),
    4: ("eval_runs", CORE / "004_eval_runs.sql"),
    5: ("sloth", ROOT / "plugins" / "obslaws_sloth" / "migrations" / "001_skills.sql"),
    6: ("lowrank", ROOT / "plugins" / "obslaws_lowrank" / "migrations" / "001_diagnostics.sql"),
    7: ("densing", ROOT / "plugins" / "obslaws_densing" / "migrations" / "001_densities.sql"),
    8: ("refresh", CORE / "008_refresh.sql"),
    9: ("declared_keys", CORE / "009_declared_keys.sql"),
}
CORE_TABLES = ("sources", "families", "benchmarks", "models", "model_aliases", "scores", "losses")
# The core steps after fd46a2b's, which an old file gets when it is opened.
NEWER_CORE = [(10, "family_domain")]

OLD_SETS = (CORE_SET, "sloth", "lowrank", "densing")
PLUGIN_ROWS = {
    "skill_values": "('fit-a', 'm1', 1, 0.5), ('fit-a', 'm2', 1, -0.5)",
    "skill_loadings": "('fit-a', 'mmlu', 1, 1.25)",
    "skill_slopes": "('fit-a', 'log10_params', 1, 0.3)",
    "skill_family_intercepts": "('fit-a', 'llama', 1, -0.1)",
    "family_efficiency": "('fit-b', 'mmlu', 'llama', 'PC1', 0.4, -8.0, 0.99, 4)",
    "equivalent_compute": "('fit-b', 'mmlu', 'm1', 'Llama-2', 22.5)",
    "densities": "('fit-c', 'm1', 'Llama-2', 'direct', 'mmlu', 7e9, 1.4e10, 2.0, DATE '2024-03-01', true)",
    "density_trend": "('fit-c', 'Llama-2', 'direct', 'mmlu', 0.007, -0.2, DATE '2023-01-01', 0.005, 0.009, 0.9, "
    "99.0, 77.0, 138.0, 0.93, 5, 40)",
}


def _old_database(path: Path, registry_db: Path, upto: int = 9) -> None:
    """A file as obslaws fd46a2b left it: its migrations 001..upto, recorded by version, with data."""
    conn = duckdb.connect(str(path))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    for version, (name, file) in sorted(OLD_LAYOUT.items()):
        if version > upto:
            break
        conn.execute(file.read_text(encoding="utf-8"))
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    conn.execute(f"ATTACH '{registry_db}' AS seed (READ_ONLY)")
    for table in CORE_TABLES:  # the columns that version had (today's seed may have more)
        columns = ", ".join(row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall())
        conn.execute(f"INSERT INTO {table} SELECT {columns} FROM seed.{table}")
    conn.execute("DETACH seed")
    conn.execute(
        "INSERT INTO fits (fit_id, fitter, fitter_version, hyperparameters, data_hash) "
        "VALUES ('fit-a', 'sloth', '1', '{}', 'h'), ('fit-b', 'lowrank', '1', '{}', 'h'), "
        "('fit-c', 'densing', '1', '{}', 'h')"
    )
    rebuild_score_matrix(conn)  # as that version's connect() and ingests did
    present = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for table, rows in PLUGIN_ROWS.items():
        if table in present:
            conn.execute(f"INSERT INTO {table} VALUES {rows}")
    conn.close()


def _snapshot(path: Path) -> dict[str, object]:
    conn = duckdb.connect(str(path), read_only=True)
    tables = [row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
    snap = {
        table: (
            conn.execute(f"DESCRIBE {table}").fetchall(),
            conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall(),
        )
        for table in tables
        if table != "schema_migrations"
    }
    conn.close()
    return snap


def _records(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(
        "SELECT migration_set, version, name, applied_at FROM schema_migrations ORDER BY ALL"
    ).fetchall()


def test_a_database_from_before_the_sets_upgrades_with_identical_rows(tmp_path, registry_db):
    path = tmp_path / "old.duckdb"
    _old_database(path, registry_db)
    before = _snapshot(path)
    old = duckdb.connect(str(path))
    recorded = dict(old.execute("SELECT version, applied_at FROM schema_migrations").fetchall())
    old.close()
    assert recorded.keys() == set(range(1, 10))

    conn = obslaws.connect(path)  # the process's plugins: their sets are applied here
    records = _records(conn)
    conn.close()
    # Every step the old file had is recorded under the set that owns it now, with its old time;
    # nothing was applied again (a CREATE TABLE run twice would have failed) and nothing was added.
    expected = [
        (CORE_SET, v, name, recorded[v])
        for v, name in [
            (1, "initial"),
            (2, "views"),
            (3, "backtest_summary"),
            (4, "eval_runs"),
            (8, "refresh"),
            (9, "declared_keys"),
        ]  # fmt: skip
    ]
    expected += [("densing", 1, "densities", recorded[7]), ("lowrank", 1, "diagnostics", recorded[6])]
    expected += [("sloth", 1, "skills", recorded[5])]
    newer = {(CORE_SET, v, name) for v, name in NEWER_CORE}
    assert [r for r in records if r[0] in OLD_SETS and r[:3] not in newer] == sorted(expected)
    assert newer <= {r[:3] for r in records}
    # Other installed plugins (the example) get their tables now, new and empty; 010 adds
    # families.domain, NULL in every old row (test_family_domain checks that column).
    after = _snapshot(path)
    assert {t: after[t] for t in before if t != "families"} == {t: v for t, v in before.items() if t != "families"}
    assert [row[:4] for row in after["families"][1]] == before["families"][1]
    assert all(not rows for t, (_, rows) in after.items() if t not in before)
    # Opening it again changes nothing either.
    again = obslaws.connect(path)
    assert _records(again) == records
    again.close()
    assert _snapshot(path) == after


def test_an_old_file_between_the_moved_steps_gets_only_what_it_lacks(tmp_path, registry_db):
    path = tmp_path / "old6.duckdb"
    _old_database(path, registry_db, upto=6)  # has sloth's and lowrank's tables, not densing's
    before = _snapshot(path)
    conn = obslaws.connect(path)
    steps = applied_steps(conn)
    conn.close()
    after = _snapshot(path)
    assert {("sloth", 1), ("lowrank", 1), ("densing", 1), ("obslaws", 8), ("obslaws", 9)} <= steps
    for table in ("skill_values", "family_efficiency", "models", "sources"):
        assert after[table][1] == before[table][1]
    assert after["densities"][1] == [] and "refresh_runs" in after


def test_a_fresh_database_records_the_same_steps_as_an_upgraded_one(tmp_path, registry_db):
    old, fresh = tmp_path / "old.duckdb", tmp_path / "fresh.duckdb"
    _old_database(old, registry_db)
    upgraded = obslaws.connect(old)
    new = obslaws.connect(fresh)
    assert [r[:3] for r in _records(upgraded)] == [r[:3] for r in _records(new)]
    describe = (  # score_matrix has one column per benchmark with scores: data, not schema
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name <> 'score_matrix' ORDER BY ALL"
    )
    assert upgraded.execute(describe).fetchall() == new.execute(describe).fetchall()


def _notes_plugin(*steps: Migration, set_name: str = "notes") -> object:
    class Notes:
        @hookimpl
        def register_migrations(self, register):
            register(MigrationSet(set_name, steps))

    return Notes()


NOTES_1 = Migration(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text VARCHAR)")
NOTES_2 = Migration(2, "note_author", "ALTER TABLE notes ADD COLUMN author VARCHAR")


def test_a_plugin_set_upgrades_in_order_and_is_recorded_per_set(tmp_path):
    path = tmp_path / "notes.duckdb"
    first = get_plugin_manager(load_entry_points=False, extra=[("notes", _notes_plugin(NOTES_1))])
    conn = obslaws.connect(path, plugins=first)
    conn.execute("INSERT INTO notes VALUES (1, 'kept')")
    conn.close()
    # The plugin's next version adds a step: only that one runs.
    second = get_plugin_manager(load_entry_points=False, extra=[("notes", _notes_plugin(NOTES_1, NOTES_2))])
    conn = obslaws.connect(path, plugins=second)
    assert conn.execute("SELECT * FROM notes").fetchall() == [(1, "kept", None)]
    assert conn.execute(
        "SELECT version, name FROM schema_migrations WHERE migration_set = 'notes' ORDER BY 1"
    ).fetchall() == [(1, "notes"), (2, "note_author")]


def test_a_failing_plugin_step_names_the_set_and_rolls_back(tmp_path):
    broken = Migration(2, "broken", "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table")
    pm = get_plugin_manager(load_entry_points=False, extra=[("notes", _notes_plugin(NOTES_1, broken))])
    with pytest.raises(StoreError, match=r"migration notes/002_broken failed: CatalogException"):
        obslaws.connect(tmp_path / "x.duckdb", plugins=pm)
    conn = obslaws.connect(tmp_path / "x.duckdb", plugins=False)
    assert ("notes", 1) in applied_steps(conn) and ("notes", 2) not in applied_steps(conn)
    assert not conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half'").fetchall()[0][0]


def test_the_core_set_name_and_junk_are_refused_naming_the_plugin(tmp_path):
    pm = get_plugin_manager(load_entry_points=False, extra=[("thief", _notes_plugin(NOTES_1, set_name="obslaws"))])
    with pytest.raises(PluginError, match=r'plugin "thief" registered a migration set named \'obslaws\''):
        obslaws.connect(tmp_path / "x.duckdb", plugins=pm)

    class Junk:
        @hookimpl
        def register_migrations(self, register):
            register("CREATE TABLE x (a INTEGER)")

    pm = get_plugin_manager(load_entry_points=False, extra=[("junk", Junk())])
    with pytest.raises(PluginError, match=r'plugin "junk" registered .*expected an obslaws MigrationSet'):
        obslaws.connect(tmp_path / "y.duckdb", plugins=pm)
