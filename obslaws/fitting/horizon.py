"""Where a fitter's forecast leaves what it checked: the notes ``obslaws predict`` prints.

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


def extrapolation_notes(fitter: str, learned: dict[str, Any], models: pl.DataFrame) -> list[str]:
    """One line per query model (``models``: ``model_id``, ``release_date``) released further past the
    targets' latest release than ``learned["question_horizon"]`` says the fitter's time folds tested."""
    horizon = learned.get("question_horizon") or {}
    latest, months = horizon.get("latest_target_release"), horizon.get("time_folds_test_months_ahead")
    if not latest or not months or "release_date" not in models.columns:
        return []
    latest_date = dt.date.fromisoformat(str(latest))
    notes = []
    for model_id, released in models.select("model_id", "release_date").iter_rows():
        if released is None:
            continue
        ahead = (released - latest_date).days / MONTH_DAYS
        if ahead > months:
            notes.append(
                f"note: {model_id} is released {ahead:.0f} months after the latest model with a target score "
                f"({latest_date}); {fitter}'s time folds tested forecasts up to {months} months ahead, so its "
                "date trend is carried past anything they checked"
            )
    return notes
