"""The example plugin's section of the refresh report: the latest logit-linear fit's lines."""

from __future__ import annotations

from pathlib import Path

import duckdb

from obslaws.report import ReportSection, latest_fit_id
from obslaws.report.markdown import markdown_table


def report_section(conn: duckdb.DuckDBPyConnection, out: Path) -> ReportSection | None:
    """One table: per benchmark, the slope in log compute and the logit at 1e21 FLOPs."""
    fit_id = latest_fit_id(conn, "logit_linear_lines")
    if fit_id is None:
        return None
    rows = conn.execute(
        "SELECT benchmark, slope * ln(10), intercept, logit_half_width FROM logit_linear_lines "
        "WHERE fit_id = ? ORDER BY slope DESC",
        [fit_id],
    ).fetchall()
    table = markdown_table(
        ["benchmark", "logit per decade of FLOPs", "logit at 1e21 FLOPs", "interval half width (logit)"],
        [list(row) for row in rows],
    )
    text = "How fast each benchmark grows with compute, above chance, in the latest **logit-linear** fit.\n\n"
    return ReportSection("Logit-linear lines (example plugin)", text + "\n".join(table))
