"""The sloth section of the refresh report: the rotated skill loadings of the latest sloth fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from obslaws.report import Figure, ReportSection, latest_fit_id
from obslaws.store.query import read_frame


def report_section(
    conn: duckdb.DuckDBPyConnection, out: Path, draw: Callable[..., Any] | None = None
) -> ReportSection | None:
    """A benchmarks x skills heatmap (figure ``loadings.png``), drawn by ``draw`` (the hook's:
    on the report's figure workers) if given, else here."""
    fit_id = latest_fit_id(conn, "skill_loadings")
    if fit_id is None:
        return None
    frame = read_frame(
        conn,
        "SELECT benchmark, 'skill ' || skill::VARCHAR AS component, loading FROM skill_loadings WHERE fit_id = ?",
        [fit_id],
    )
    from obslaws.report.plots import loadings_heatmap

    (draw or _here)(loadings_heatmap, frame, "Sloth skill loadings (rotated)", out / "loadings.png")
    return ReportSection("Skill loadings", "", [Figure("loadings.png", "skill loadings")])


def _here(function: Callable[..., Any], *args: Any) -> None:
    function(*args)
