"""The benchmarks' seed reports: ``forecast_table.py --seeds`` (each figure per inner-fold seed and its
range) and ``forecast_seed_stability.py`` (each forecast's range over seeds, by query kind)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "bench"))

from forecast_table import seed_lines  # noqa: E402


def _row(fitter: str, protocol: str, seed: int | None, mae: float, coverage: float | None) -> dict:
    return {
        "fitter": fitter,
        "protocol": protocol,
        "seed": seed,
        "mae": mae,
        "coverage": coverage,
        "interval_score": 30.0,
    }


def test_each_seed_and_the_range_of_a_fitter_run_at_several_seeds():
    rows = [
        _row("forecast", "family v1", 0, 3.39, 0.90),
        _row("forecast", "family v1", 1, 3.76, 0.90),
        _row("forecast", "family v1", 2, 3.33, 0.86),
        _row("flops-sigmoid-family", "family v1", None, 4.0, 0.7),  # no seed: not in the spread
        _row("forecast", "time-split", 0, 4.83, 0.95),  # one seed only: nothing to spread
    ]
    lines = seed_lines(rows)
    body = [line for line in lines if line.startswith("| forecast")]
    assert body == [
        "| forecast | family v1 | 3.39 / 0.90 / 30.0 | 3.76 / 0.90 / 30.0 | 3.33 / 0.86 / 30.0 | 0.43 | 0.04 |"
    ]
    assert "| fitter | protocol | seed 0 | seed 1 | seed 2 | MAE range | coverage range |" in lines


def test_no_fitter_at_several_seeds_adds_nothing():
    assert (
        seed_lines([_row("forecast", "family v1", 0, 3.39, 0.9), _row("logit-svd", "cells epoch", None, 8.58, 0.51)])
        == []
    )


def test_the_stability_summary_gives_each_cells_range_by_kind():
    import polars as pl
    from forecast_seed_stability import summary

    table = pl.DataFrame(
        {
            "model_id": ["a", "a", "b"],
            "benchmark": ["mmlu", "gsm8k", "mmlu"],
            "p0": [0.50, 0.20, 0.30],
            "p1": [0.52, 0.20, 0.30],
            "p2": [0.47, 0.20, 0.30],
        }
    )
    kinds = pl.DataFrame({"model_id": ["a", "b"], "kind": ["inside", "later"]})
    text = summary(table, kinds, [0, 1, 2])
    assert text.startswith("Each missing cell's prediction range over seeds 0, 1, 2 (points)")
    assert "│ inside ┆ 2     ┆ 2.50 ┆" in text  # (5 + 0) / 2 points over a's two cells
    assert "│ later  ┆ 1     ┆ 0.00 ┆" in text
