"""The sloth section of the refresh report: the rotated skill loadings of the latest sloth fit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from obslaws.report import Figure, ReportSection
from obslaws.store.query import read_frame


def report_section(conn: duckdb.DuckDBPyConnection, out: Path) -> ReportSection | None:
    """A benchmarks x skills heatmap (figure ``loadings.png``)."""
    latest = conn.execute(
        "SELECT l.fit_id FROM skill_loadings l JOIN fits f USING (fit_id) ORDER BY f.created_at DESC LIMIT 1"
    ).fetchall()
    if not latest:
        return None
    frame = read_frame(
        conn,
        "SELECT benchmark, 'skill ' || skill::VARCHAR AS component, loading FROM skill_loadings WHERE fit_id = ?",
        [latest[0][0]],
    )
    from obslaws.report.plots import loadings_heatmap

    loadings_heatmap(frame, "Sloth skill loadings (rotated)", out / "loadings.png")
    return ReportSection("Skill loadings", "", [Figure("loadings.png", "skill loadings")])
