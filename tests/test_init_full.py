"""`obslaws init` on the shipped registry: what a new user gets, and that a second init changes nothing."""

from __future__ import annotations

import pytest

import obslaws
from obslaws.registry import TABLES, load_registry
from obslaws.store.query import read_frame


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("init") / "full.duckdb"
    conn = obslaws.connect(path, plugins=False)
    first = load_registry(conn)
    snapshot = {
        t: conn.execute(f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)) FROM {t} t").fetchall()
        for t in TABLES
    }
    second = load_registry(conn)
    yield conn, first, second, snapshot
    conn.close()


def q(conn, sql):
    return conn.execute(sql).fetchall()[0][0]


def test_second_init_changes_nothing(loaded):
    conn, first, second, snapshot = loaded
    assert first.changed and not second.changed
    for table in TABLES:
        assert (
            conn.execute(f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)) FROM {table} t").fetchall()
            == snapshot[table]
        )


def test_coverage_meets_the_floor(loaded):
    conn = loaded[0]
    assert q(conn, "SELECT count(*) FROM models WHERE checkpoint_of IS NULL") >= 350
    assert q(conn, "SELECT count(DISTINCT family) FROM models") >= 60
    assert q(conn, "SELECT count(*) FROM scores") >= 5000
    assert q(conn, "SELECT count(*) FROM losses") >= 1000


def test_every_row_has_a_known_source(loaded):
    conn = loaded[0]
    for table in ("models", "scores", "losses"):
        assert q(conn, f"SELECT count(*) FROM {table} WHERE source_id NOT IN (SELECT source_id FROM sources)") == 0


def test_base_models_of_1b_and_up_have_dated_sources(loaded):
    conn = loaded[0]
    missing = conn.execute(
        "SELECT model_id FROM models WHERE variant = 'base' AND checkpoint_of IS NULL "
        "AND coalesce(params_total, params_active) >= 1e9 "
        "AND (release_date IS NULL OR release_date_source NOT IN (SELECT source_id FROM sources))"
    ).fetchall()
    assert missing == []


@pytest.mark.parametrize(
    ("model_id", "column", "value"),
    [
        ("cerebras/btlm-3b-8k-base", "tokens", 6.27e11),
        ("openlm-research/open_llama_7b_v2", "params_total", 7e9),
        ("stabilityai/stablelm-2-1_6b", "params_total", 1.6e9),
        ("google/gemma-2-2b", "tokens", 2e12),
        ("google/gemma-2-9b", "tokens", 8e12),
        ("google/gemma-2-27b", "tokens", 13e12),
        ("mistralai/Mixtral-8x7B-v0.1", "params_active", 12.9e9),
    ],
)
def test_known_data_errors_are_fixed(loaded, model_id, column, value):
    assert q(loaded[0], f"SELECT {column} FROM models WHERE model_id = '{model_id}'") == pytest.approx(value)


def test_btlm_compute_follows_its_corrected_tokens(loaded):
    assert q(loaded[0], "SELECT flops FROM models WHERE model_id = 'cerebras/btlm-3b-8k-base'") < 2e22


def test_aliases_resolve_source_names(loaded):
    conn = loaded[0]
    assert q(conn, "SELECT count(*) FROM model_aliases WHERE model_id NOT IN (SELECT model_id FROM models)") == 0
    assert q(conn, "SELECT model_id FROM model_aliases WHERE alias = 'meta-llama-3-8b-instruct'").startswith(
        "meta-llama/"
    )


def test_score_matrix_and_features_views(loaded):
    conn = loaded[0]
    matrix = read_frame(conn, "SELECT * FROM score_matrix")
    assert {"mmlu", "leaderboard_bbh", "gsm8k"} <= set(matrix.columns)
    assert matrix["model_id"].is_unique().all()
    features = read_frame(conn, "SELECT * FROM model_features WHERE NOT is_checkpoint")
    assert features.filter(features["flops"].is_not_null()).height >= 250
