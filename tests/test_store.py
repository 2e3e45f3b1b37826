"""The store: migrations, idempotent upserts, transactions, views."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import polars as pl
import pytest

import obslaws
from obslaws.errors import StoreError
from obslaws.store import transaction, upsert
from obslaws.store.integrity import check_integrity, check_written
from obslaws.store.migrations import available_migrations, migrate
from obslaws.store.query import read_frame
from obslaws.store.upsert import primary_key
from obslaws.store.views import rebuild_score_matrix


def _seed(conn: duckdb.DuckDBPyConnection) -> None:
    upsert(conn, "sources", pl.DataFrame({"source_id": ["s"], "kind": ["dataset"], "citation": ["test"]}))
    upsert(conn, "families", pl.DataFrame({"family": ["f"], "family_group": ["f"]}))
    upsert(
        conn,
        "benchmarks",
        pl.DataFrame({"benchmark": ["b1", "b2"], "metric": ["acc", "acc"], "n_shots": [0, 0], "chance": [0.25, 0.0]}),
    )
    upsert(
        conn,
        "models",
        pl.DataFrame(
            {
                "model_id": ["m1", "m2"],
                "family": ["f", "f"],
                "variant": ["base", "base"],
                "params_total": [1e9, 2e9],
                "tokens": [1e11, 1e11],
                "source_id": ["s", "s"],
            }
        ),
    )


def test_migrations_are_recorded_and_not_reapplied(db_path):
    first = obslaws.connect(db_path, plugins=False)
    versions = [row[0] for row in first.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
    assert versions == [v for v, _, _ in available_migrations()]
    first.close()
    again = obslaws.connect(db_path, plugins=False)
    assert again.execute("SELECT count(*) FROM schema_migrations").fetchall()[0][0] == len(versions)


def test_upsert_counts_added_updated_unchanged(conn):
    _seed(conn)
    frame = pl.DataFrame(
        {
            "model_id": ["m1", "m3"],
            "family": ["f", "f"],
            "variant": ["base", "base"],
            "params_total": [1.5e9, 3e9],
            "source_id": ["s", "s"],
        }
    )
    stats = upsert(conn, "models", frame)
    assert (stats.added, stats.updated, stats.unchanged) == (1, 1, 0)
    stats = upsert(conn, "models", frame)
    assert (stats.added, stats.updated, stats.unchanged) == (0, 0, 2)
    # columns the frame lacks are left alone
    assert conn.execute("SELECT tokens FROM models WHERE model_id = 'm1'").fetchall()[0][0] == 1e11


def test_transaction_rolls_back_everything_on_error(conn):
    _seed(conn)
    with pytest.raises(StoreError), transaction(conn):
        upsert(
            conn, "models", pl.DataFrame({"model_id": ["m9"], "family": ["f"], "variant": ["base"], "source_id": ["s"]})
        )
        upsert(
            conn,
            "scores",
            pl.DataFrame(
                {
                    "model_id": ["m9"],
                    "benchmark": ["b1"],
                    "metric": ["acc"],
                    "n_shots": [0],
                    "value": [1.5],
                    "source_id": ["s"],
                }
            ),
        )
    assert conn.execute("SELECT count(*) FROM models WHERE model_id = 'm9'").fetchall()[0][0] == 0


def test_integrity_names_dangling_reference(conn):
    _seed(conn)
    upsert(
        conn,
        "scores",
        pl.DataFrame(
            {
                "model_id": ["ghost"],
                "benchmark": ["b1"],
                "metric": ["acc"],
                "n_shots": [0],
                "value": [0.5],
                "source_id": ["s"],
            }
        ),
    )
    with pytest.raises(StoreError, match="scores.model_id refers to 'ghost'"):
        check_integrity(conn)


def test_written_rows_are_checked_for_dangling_references(conn):
    """check_written (what an ingest batch runs) looks at just the rows it is given."""
    _seed(conn)
    ghost = pl.DataFrame({"model_id": ["m1", "ghost"], "benchmark": ["b1", "b1"], "source_id": ["s", "s"]})
    with pytest.raises(StoreError, match="scores.model_id refers to 'ghost', not in models.model_id"):
        check_written(conn, [("sources", pl.DataFrame({"source_id": ["s"]})), ("scores", ghost)])
    check_written(conn, [("scores", ghost.filter(pl.col("model_id") == "m1"))])


def test_score_matrix_prefers_headline_metric_and_priority(conn):
    _seed(conn)
    upsert(
        conn,
        "sources",
        pl.DataFrame({"source_id": ["better"], "kind": ["dataset"], "citation": ["x"], "priority": [1]}),
    )
    upsert(
        conn,
        "scores",
        pl.DataFrame(
            {
                "model_id": ["m1", "m1", "m1", "m2"],
                "benchmark": ["b1", "b1", "b1", "b2"],
                "metric": ["acc", "acc", "acc_norm", "acc"],
                "n_shots": [0, 0, 0, 5],
                "value": [0.4, 0.6, 0.9, 0.3],
                "source_id": ["s", "better", "s", "s"],
            }
        ),
    )
    rebuild_score_matrix(conn)
    matrix = read_frame(conn, "SELECT * FROM score_matrix ORDER BY model_id")
    assert matrix.columns == ["model_id", "b1", "b2"]
    assert matrix.row(0) == ("m1", 0.6, None)  # priority 1 beats 100; acc_norm is not the headline
    assert matrix.height == 1  # m2's only score is 5-shot, not the headline 0-shot


def test_model_features_derives_compute(conn):
    _seed(conn)
    row = conn.execute("SELECT params, flops, instruct FROM model_features WHERE model_id = 'm1'").fetchall()[0]
    assert row == (1e9, 6 * 1e9 * 1e11, False)


def test_connect_rejects_missing_folder(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        obslaws.connect(tmp_path / "nope" / "x.duckdb", plugins=False)


def test_nested_transactions_join_the_outer_one(conn):
    _seed(conn)
    with pytest.raises(RuntimeError), transaction(conn):
        with transaction(conn):
            upsert(conn, "families", pl.DataFrame({"family": ["g"], "family_group": ["g"]}))
        raise RuntimeError("outer step fails after the inner block finished")
    assert conn.execute("SELECT count(*) FROM families WHERE family = 'g'").fetchall()[0][0] == 0


_SCORES = pl.DataFrame(
    {
        "model_id": ["m1", "m1", "m2"],
        "benchmark": ["b1", "b2", "b1"],
        "metric": ["acc", "acc", "acc"],
        "n_shots": [0, 0, 0],
        "value": [0.4, 0.5, 0.6],
        "stderr": [0.01, None, 0.02],
        "source_id": ["s", "s", "s"],
    }
)
_LOSSES = pl.DataFrame(
    {
        "model_id": ["m1", "m2"],
        "dataset": ["pile", "pile"],
        "value": [2.5, 2.1],
        "unit": ["nats_per_token", "nats_per_token"],
        "source_id": ["s", "s"],
        "n_shots": [0, None],
    },
    schema_overrides={"n_shots": pl.Int32},
)


def test_scores_and_losses_upsert_on_their_declared_keys(conn):
    """Migration 009: no PRIMARY KEY index on scores and losses; the key is declared in table_keys."""
    assert primary_key(conn, "scores") == ["model_id", "benchmark", "metric", "n_shots", "source_id"]
    assert primary_key(conn, "losses") == ["model_id", "dataset", "unit", "source_id"]
    assert primary_key(conn, "models") == ["model_id"]
    indexed = conn.execute(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
        "AND table_name IN ('scores', 'losses')"
    ).fetchall()
    assert indexed == []
    conn.execute("CREATE TABLE unkeyed (a INTEGER)")
    with pytest.raises(StoreError, match="unkeyed has no primary key or declared key"):
        upsert(conn, "unkeyed", pl.DataFrame({"a": [1]}))
    _seed(conn)
    assert upsert(conn, "scores", _SCORES).added == 3
    twice = pl.concat([_SCORES, _SCORES.with_columns(pl.col("value") + 0.1)])
    stats = upsert(conn, "scores", twice)  # the last row of a duplicated key wins
    assert (stats.added, stats.updated, stats.unchanged) == (0, 3, 0)
    assert conn.execute("SELECT count(*), round(sum(value), 6) FROM scores").fetchall() == [(3, 1.8)]
    check_integrity(conn)


def test_duplicate_natural_key_from_raw_sql_is_reported(conn):
    _seed(conn)
    upsert(conn, "scores", _SCORES)
    check_integrity(conn)
    conn.execute(
        "INSERT INTO scores (model_id, benchmark, metric, n_shots, value, source_id) "
        "VALUES ('m2', 'b1', 'acc', 0, 0.7, 's')"
    )
    with pytest.raises(
        StoreError,
        match=r"scores has duplicate rows for its key \(model_id, benchmark, metric, n_shots, source_id\): "
        r"model_id='m2', benchmark='b1', metric='acc', n_shots=0, source_id='s' \(2 rows\)",
    ):
        check_integrity(conn)


def test_database_at_migration_008_migrates_to_declared_keys(db_path):
    old = duckdb.connect(str(db_path))
    migrate(old, upto=8)
    assert primary_key(old, "scores") == ["model_id", "benchmark", "metric", "n_shots", "source_id"]  # the PK
    _seed(old)
    upsert(old, "scores", _SCORES)
    upsert(old, "losses", _LOSSES)
    rebuild_score_matrix(old)
    tables = ("sources", "models", "benchmarks", "scores", "losses")
    before = {t: old.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    columns = {t: old.execute(f"DESCRIBE {t}").fetchall() for t in ("scores", "losses")}
    matrix = old.execute("SELECT * FROM score_matrix ORDER BY ALL").fetchall()
    old.close()

    conn = obslaws.connect(db_path, plugins=False)
    latest = available_migrations()[-1][0]  # 009 and the steps after it
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(latest,)]
    assert {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} == before
    # Same columns, types, NOT NULLs and defaults; only the key column of DESCRIBE differs.
    for table, described in columns.items():
        now = conn.execute(f"DESCRIBE {table}").fetchall()
        assert [r[:3] + r[4:5] for r in now] == [r[:3] + r[4:5] for r in described]
    assert conn.execute("SELECT * FROM score_matrix ORDER BY ALL").fetchall() == matrix
    assert conn.execute("SELECT count(*) FROM preferred_scores").fetchall() == [(3,)]
    with pytest.raises(duckdb.ConstraintException):  # the CHECK survives the rebuild
        conn.execute(
            "INSERT INTO scores (model_id, benchmark, metric, n_shots, value, source_id) "
            "VALUES ('m1', 'b1', 'x', 0, 2, 's')"
        )
    for table, frame in (("scores", _SCORES), ("losses", _LOSSES)):
        stats = upsert(conn, table, frame)
        assert (stats.added, stats.updated, stats.unchanged) == (0, 0, frame.height)
    assert {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} == before
    check_integrity(conn)
    conn.close()


def test_a_new_database_survives_a_process_killed_before_closing_it(tmp_path):
    # DuckDB cannot replay the migrations' schema changes from the WAL (the error of duckdb issue 22044):
    # connect() checkpoints them, so a process killed later leaves a file that still opens.
    db = tmp_path / "killed.duckdb"
    code = (
        "import os, obslaws; conn = obslaws.connect(os.environ['DB'], plugins=False); "
        "conn.execute(\"INSERT INTO sources (source_id, kind, citation) VALUES ('s', 'dataset', 'x')\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "DB": str(db)}, check=True)
    conn = obslaws.connect(db, plugins=False)
    assert conn.execute("SELECT source_id FROM sources").fetchall() == [("s",)]
    conn.close()
