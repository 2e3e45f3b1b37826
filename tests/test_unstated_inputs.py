"""Scores whose shots their source does not state reach fitters as inputs, never as targets."""

from __future__ import annotations

import duckdb
import polars as pl

import obslaws
from obslaws.store import upsert
from obslaws.store.read import load_fit_data


def _seed(conn: duckdb.DuckDBPyConnection) -> None:
    upsert(
        conn,
        "sources",
        pl.DataFrame(
            {
                "source_id": ["leaderboard", "card", "paper"],
                "kind": ["dataset", "model_card", "paper"],
                "citation": ["test"] * 3,
                "priority": [10, 60, 50],
            }
        ),
    )
    upsert(conn, "families", pl.DataFrame({"family": ["f"], "family_group": ["f"]}))
    upsert(
        conn,
        "benchmarks",
        pl.DataFrame(
            {"benchmark": ["target", "input"], "metric": ["acc", "acc"], "n_shots": [5, 5], "chance": [0.25, 0.25]}
        ),
    )
    upsert(
        conn,
        "models",
        pl.DataFrame(
            {
                "model_id": ["headline", "unstated", "other-shots"],
                "family": ["f"] * 3,
                "variant": ["base"] * 3,
                "params_total": [1e9, 2e9, 3e9],
                "tokens": [1e11] * 3,
                "source_id": ["leaderboard"] * 3,
            }
        ),
    )
    rows = [  # model, benchmark, n_shots, value, source
        ("headline", "target", 5, 0.50, "leaderboard"),
        ("headline", "input", 5, 0.60, "leaderboard"),
        ("headline", "input", -1, 0.99, "card"),  # a headline score exists: the unstated one stays out
        ("unstated", "target", 5, 0.55, "leaderboard"),
        ("unstated", "target", -1, 0.90, "card"),  # a target: never filled
        ("unstated", "input", -1, 0.70, "card"),
        ("unstated", "input", -1, 0.71, "paper"),  # the higher-priority source (lower number) wins
        ("other-shots", "target", 5, 0.45, "leaderboard"),
        ("other-shots", "input", 0, 0.40, "leaderboard"),  # stated, but not the headline: not a stand-in
    ]
    upsert(
        conn,
        "scores",
        pl.DataFrame(
            rows, schema=["model_id", "benchmark", "n_shots", "value", "source_id"], orient="row"
        ).with_columns(metric=pl.lit("acc")),
    )


def _cells(data) -> dict[tuple[str, str], float]:
    return {(m, b): v for m, b, v in data.scores.select("model_id", "benchmark", "value").iter_rows()}


def test_unstated_scores_fill_missing_inputs_only():
    conn = obslaws.connect(":memory:", plugins=False)
    _seed(conn)
    cells = _cells(load_fit_data(conn, ["target"]))
    assert cells[("headline", "input")] == 0.60  # the headline setting wins over an unstated one
    assert cells[("unstated", "input")] == 0.71  # from the source preferred_scores ranks first
    assert ("other-shots", "input") not in cells  # a stated other setting is another measurement
    assert cells[("unstated", "target")] == 0.55  # a target keeps its headline-setting truth
    assert len(cells) == 5


def test_unstated_inputs_can_be_turned_off_and_follow_the_source():
    conn = obslaws.connect(":memory:", plugins=False)
    _seed(conn)
    assert ("unstated", "input") not in _cells(load_fit_data(conn, ["target"], unstated_inputs=False))
    # requested as a target, the benchmark holds headline-setting scores alone
    as_target = _cells(load_fit_data(conn, ["target", "input"]))
    assert ("unstated", "input") not in as_target and as_target[("headline", "input")] == 0.60
    # with one source, only that source's scores: the card states no shots, so all it gives are inputs
    assert _cells(load_fit_data(conn, ["target"], source="card")) == {
        ("unstated", "input"): 0.70,
        ("headline", "input"): 0.99,
    }


def test_internlm2_card_scores_reach_the_forecaster_inputs(registry_db):
    """InternLM2's model card states no shots: its GSM8K and MMLU are inputs for the OLL targets."""
    conn = duckdb.connect(str(registry_db), read_only=True)
    cells = _cells(load_fit_data(conn, ["gsm8k", "mmlu"]))
    assert abs(cells[("internlm/internlm2-7b", "epoch_gsm8k")] - 0.708) < 1e-9
    assert abs(cells[("internlm/internlm2-20b", "epoch_mmlu")] - 0.677) < 1e-9
    assert ("internlm/internlm2-7b", "epoch_gsm8k") not in _cells(load_fit_data(conn, ["epoch_gsm8k"]))
