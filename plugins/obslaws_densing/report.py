"""The densing section of the refresh report: density over release dates for the latest densing fit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from obslaws.report import Figure, ReportSection, latest_fit_id
from obslaws.report.markdown import fmt
from obslaws.store.query import read_frame
from obslaws_densing.plot import plot_density
from obslaws_densing.trend import DensityTrend

_TREND_FIELDS = ("slope_per_day", "intercept", "r2", "slope_lo", "slope_hi", "n_envelope", "n_models", "level")


def _trend(conn: duckdb.DuckDBPyConnection, fit_id: str) -> DensityTrend | None:
    rows = read_frame(conn, "SELECT * FROM density_trend WHERE fit_id = ?", [fit_id])
    if not rows.height:
        return None
    row = rows.row(0, named=True)
    if row["slope_per_day"] is None:
        return None
    # The interval columns are nullable; a missing bound reads as NaN (doubling time "inf").
    return DensityTrend(**{name: float("nan") if row[name] is None else row[name] for name in _TREND_FIELDS})


def report_section(
    conn: duckdb.DuckDBPyConnection, out: Path, draw: Callable[..., Any] | None = None
) -> ReportSection | None:
    """Density by release date (figure ``density.png``) and the envelope's doubling time; the
    figure drawn by ``draw`` (the hook's: on the report's figure workers) if given, else here."""
    fit_id = latest_fit_id(conn, "densities")
    if fit_id is None:
        return None
    frame = read_frame(
        conn,
        "SELECT model_id, reference_family, release_date, density, on_envelope AS envelope FROM densities "
        "WHERE fit_id = ? AND release_date IS NOT NULL AND density > 0",
        [fit_id],
    )
    if not frame.height:
        return None
    reference = frame["reference_family"][0]
    trend = _trend(conn, fit_id)
    plot = functools.partial(plot_density, reference_family=reference)
    if draw is None:
        plot(frame.drop("reference_family"), trend, out / "density.png")
    else:
        draw(plot, frame.drop("reference_family"), trend, out / "density.png")
    text = ""
    if trend is not None:
        text = (
            f"Reference family **{reference}**; the upper envelope doubles every "
            f"{fmt(trend.doubling_days, 0)} days (90% interval {fmt(trend.doubling_lo, 0)}–"
            f"{fmt(trend.doubling_hi, 0)}); the densing paper reports about 95 days."
        )
    return ReportSection("Capacity density over time", text, [Figure("density.png", "density over time")])


__all__ = ["report_section"]
