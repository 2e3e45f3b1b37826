"""Views whose columns depend on the data (DuckDB needs PIVOT columns spelt out)."""

from __future__ import annotations

import duckdb

from obslaws.store.query import quote_identifier as _quote


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rebuild_score_matrix(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create `score_matrix`: one row per model, one column per benchmark, preferred source."""
    names = [row[0] for row in conn.execute("SELECT benchmark FROM benchmarks ORDER BY benchmark").fetchall()]
    conn.execute("DROP VIEW IF EXISTS score_matrix")
    if not names:
        conn.execute("CREATE VIEW score_matrix AS SELECT model_id FROM models WHERE false")
    else:
        columns = ", ".join(
            f"max(value) FILTER (WHERE benchmark = {_literal(name)}) AS {_quote(name)}" for name in names
        )
        conn.execute(f"CREATE VIEW score_matrix AS SELECT model_id, {columns} FROM preferred_scores GROUP BY model_id")
    conn.execute(
        "COMMENT ON VIEW score_matrix IS 'One row per model, one column per benchmark (headline "
        "metric and shots, highest-priority source); rebuilt when benchmarks change.'"
    )
