"""The store: migrations, idempotent upserts, transactions, views."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

import obslaws
from obslaws.errors import StoreError
from obslaws.store import transaction, upsert
from obslaws.store.integrity import check_integrity, check_written
from obslaws.store.migrations import available_migrations
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
    matrix = conn.execute("SELECT * FROM score_matrix ORDER BY model_id").pl()
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
