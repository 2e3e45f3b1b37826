"""The schema documentation, generated from the migrations so it cannot drift."""

from __future__ import annotations

import duckdb

from obslaws.store.migrations import available_migrations, migrate
from obslaws.store.upsert import declared_keys
from obslaws.store.views import rebuild_score_matrix


def _fresh() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    migrate(conn)
    rebuild_score_matrix(conn)
    return conn


def schema_markdown() -> str:
    """Every table and view: its comment, columns, types and keys."""
    conn = _fresh()
    lines = [
        "# obslaws database schema",
        "",
        "Generated from the migrations (`obslaws schema`). Tables and views are the public SQL interface.",
        "",
        "Key column: `PK` is a PRIMARY KEY; `key` is a natural key declared in `table_keys` (scores and",
        "losses: no index, so large ingests stay fast; writes keep it unique and `check_integrity` reports",
        "duplicates).",
        "",
    ]
    objects = conn.execute(
        "SELECT table_name, 'table' AS kind, comment FROM duckdb_tables() WHERE table_name <> 'schema_migrations' "
        "UNION ALL SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT internal "
        "ORDER BY kind, table_name"
    ).fetchall()
    keys = {
        row[0]: set(row[1])
        for row in conn.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    declared = declared_keys(conn)
    for name, kind, comment in objects:
        lines += [f"## `{name}` ({kind})", "", comment or "", ""]
        if name in declared:
            lines += [f"Declared key (no index): ({', '.join(declared[name])}).", ""]
        lines += ["| column | type | key |", "|---|---|---|"]
        for column, dtype in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [name],
        ).fetchall():
            mark = "PK" if column in keys.get(name, ()) else "key" if column in declared.get(name, ()) else ""
            lines.append(f"| `{column}` | {dtype} | {mark} |")
        lines.append("")
    return "\n".join(lines)


def schema_sql() -> str:
    """The migrations, concatenated."""
    return "\n".join(f"-- migration {v:03d}_{n}\n{sql}" for v, n, sql in available_migrations())
