"""Where a fitter's forecast leaves what it checked: the notes ``obslaws predict`` prints and the
refresh's ``months_after_targets`` column.

A fitter may record in its learned parameters a ``question_horizon``: the latest release among the
models with a target score (``latest_target_release``, ISO date) and how many months past a cut its
inner time folds tested (``time_folds_test_months_ahead``). The built-in forecaster does. A query
model released further past that date than the folds looked ahead is forecast by a date trend
carried past anything the folds checked; its interval is wider, but the reader should know.
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


def extrapolation_notes(fitter: str, learned: dict[str, Any], models: pl.DataFrame) -> list[str]:
    """One line per query model (``models``: ``model_id``, ``release_date``) released further past the
    targets' latest release than ``learned["question_horizon"]`` says the fitter's time folds tested."""
    horizon = _horizon(learned)
    if horizon is None:
        return []
    latest, ahead = horizon
    far = months_after_targets(learned, models).filter(pl.col("months_after_targets") > ahead)
    return [
        f"note: {model_id} is released {months:.0f} months after the latest model with a target score "
        f"({latest}); {fitter}'s time folds tested forecasts up to {ahead:.0f} months ahead, so its "
        "date trend is carried past anything they checked"
        for model_id, months, _ in far.iter_rows()
    ]
