"""Where a fitter's forecast leaves what it checked: the notes ``obslaws predict`` prints and the
refresh's ``months_after_targets`` and ``times_smaller_than_targets`` columns.

A fitter may record in its learned parameters a ``question_horizon``: the latest release among the
models with a target score (``latest_target_release``, ISO date), how many months past a cut its
inner time folds tested (``time_folds_test_months_ahead``) and the fewest parameters among those
models (``smallest_target_params``). The built-in forecaster does. A query model released further
past that date than the folds looked ahead is forecast by a date trend carried past anything the
folds checked; its interval is wider, but the reader should know. A query model smaller than every
model with a target score is forecast by a size trend carried below them, a question no inner fold
poses (the registry's 10M-parameter OpenLM models, 6.7 times smaller than Pythia-70M, came out at
74-83% on TruthfulQA MC2, whose scores fall with size among the small models).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

MONTH_DAYS = 30.44


def _horizon(learned: dict[str, Any]) -> tuple[dt.date, float] | None:
    horizon = learned.get("question_horizon") or {}
    latest, months = horizon.get("latest_target_release"), horizon.get("time_folds_test_months_ahead")
    return (dt.date.fromisoformat(str(latest)), float(months)) if latest and months else None


def months_after_targets(learned: dict[str, Any], models: pl.DataFrame) -> pl.DataFrame:
    """``model_id, months_after_targets, months_checked``: how many months after the latest model with
    a target score each model was released (null where it was not or is undated), and how many
    months ahead the fitter's time folds tested; both null where the fitter keeps no horizon."""
    horizon = _horizon(learned)
    if horizon is None or "release_date" not in models.columns:
        none = pl.lit(None, dtype=pl.Float64)
        return models.select("model_id", none.alias("months_after_targets"), none.alias("months_checked"))
    months = (pl.col("release_date") - pl.lit(horizon[0])).dt.total_days().cast(pl.Float64) / MONTH_DAYS
    return models.select(
        "model_id",
        pl.when(months > 0).then(months.round(1)).alias("months_after_targets"),
        pl.lit(horizon[1]).alias("months_checked"),
    )


def _smallest(learned: dict[str, Any]) -> float | None:
    smallest = (learned.get("question_horizon") or {}).get("smallest_target_params")
    return float(smallest) if smallest else None


def times_smaller_than_targets(learned: dict[str, Any], models: pl.DataFrame) -> pl.DataFrame:
    """``model_id, times_smaller_than_targets``: how many times fewer parameters each model has than
    the smallest model with a target score (null where it has as many or more, its size is unknown,
    or the fitter keeps no such horizon)."""
    smallest = _smallest(learned)
    if smallest is None or "params" not in models.columns:
        return models.select("model_id", pl.lit(None, dtype=pl.Float64).alias("times_smaller_than_targets"))
    ratio = pl.lit(smallest) / pl.col("params").cast(pl.Float64)
    return models.select("model_id", pl.when(ratio > 1).then(ratio.round(1)).alias("times_smaller_than_targets"))


def horizon_columns(learned: dict[str, Any], models: pl.DataFrame) -> pl.DataFrame:
    """``months_after_targets`` and ``times_smaller_than_targets`` of each model, one row per model."""
    return months_after_targets(learned, models).join(
        times_smaller_than_targets(learned, models), on="model_id", how="left"
    )


def extrapolation_notes(fitter: str, learned: dict[str, Any], models: pl.DataFrame) -> list[str]:
    """One line per query model (``models``: ``model_id``, ``release_date``, ``params``) released
    further past the targets' latest release than ``learned["question_horizon"]`` says the fitter's
    time folds tested, and one per query model smaller than every model with a target score."""
    notes = []
    horizon = _horizon(learned)
    if horizon is not None:
        latest, ahead = horizon
        far = months_after_targets(learned, models).filter(pl.col("months_after_targets") > ahead)
        notes += [
            f"note: {model_id} is released {months:.0f} months after the latest model with a target score "
            f"({latest}); {fitter}'s time folds tested forecasts up to {ahead:.0f} months ahead, so its "
            "date trend is carried past anything they checked"
            for model_id, months, _ in far.iter_rows()
        ]
    small = times_smaller_than_targets(learned, models).drop_nulls("times_smaller_than_targets")
    smallest = _smallest(learned)
    notes += [
        f"note: {model_id} has {times:g} times fewer parameters than the smallest model with a target score "
        f"({smallest:.3g}); {fitter}'s size trend is carried below any model it was fitted on"
        for model_id, times in small.iter_rows()
    ]
    return notes
