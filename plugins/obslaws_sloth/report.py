"""The sloth section of the refresh report: the rotated skill loadings of the latest sloth fit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from obslaws.report import Figure, ReportSection, latest_fit_id
from obslaws.store.query import read_frame


def report_section(conn: duckdb.DuckDBPyConnection, out: Path) -> ReportSection | None:
    """A benchmarks x skills heatmap (figure ``loadings.png``)."""
    fit_id = latest_fit_id(conn, "skill_loadings")
    if fit_id is None:
        return None
    frame = read_frame(
        conn,
        "SELECT benchmark, 'skill ' || skill::VARCHAR AS component, loading FROM skill_loadings WHERE fit_id = ?",
        [fit_id],
    )
    from obslaws.report.plots import loadings_heatmap

    loadings_heatmap(frame, "Sloth skill loadings (rotated)", out / "loadings.png")
    return ReportSection("Skill loadings", "", [Figure("loadings.png", "skill loadings")])
