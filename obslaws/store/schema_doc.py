"""The schema documentation, generated from the migrations so it cannot drift.

It covers the core's tables and those of obslaws' own plugins (their ``register_migrations``);
a third-party plugin documents its own.
"""

from __future__ import annotations

from importlib import metadata

import duckdb

from obslaws.plugins import ENTRY_POINT_GROUP, get_plugin_manager
from obslaws.store.migrations import MigrationSet, core_migrations, migrate, plugin_migrations
from obslaws.store.upsert import declared_keys
from obslaws.store.views import rebuild_score_matrix


def builtin_plugin_migrations() -> list[MigrationSet]:
    """The migration sets of the plugins that the obslaws distribution itself declares."""
    own = [
        (ep.name, ep.load())
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.name == "obslaws"
    ]
    return plugin_migrations(get_plugin_manager(load_entry_points=False, disabled=(), extra=own))


def _fresh() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    migrate(conn, plugin_sets=builtin_plugin_migrations())
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
    """The migrations (the core's, then obslaws' own plugins'), concatenated."""
    return "\n".join(
        f"-- migration {steps.name}/{step.version:03d}_{step.name}\n{step.sql}"
        for steps in [core_migrations(), *builtin_plugin_migrations()]
        for step in steps.migrations
    )
