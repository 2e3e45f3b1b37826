"""Numbered schema migrations, recorded in the database so an old file opens with a new version.

The core's migrations and each plugin's own (the ``register_migrations`` hook) are named
migration sets, as in sqlite-migrate: ``schema_migrations`` records one row per applied step,
``(migration_set, version, name, applied_at)``. Each set is applied in version order, each step
in its own transaction; a step already recorded is never run again.

Until the sets existed the table had one row per core version, and versions 5 to 7 created the
sloth, lowrank and densing tables, which those plugins now own: :func:`_upgrade_record` rewrites
such a file's rows to the set that owns each step, so nothing is created twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import duckdb
import pluggy

from obslaws.errors import PluginError, StoreError
from obslaws.plugins import collect

CORE_SET = "obslaws"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

# Steps that the core applied before plugins had migrations, now the first step of a plugin's
# set: old version -> (set, version, name).
_MOVED = {5: ("sloth", 1, "skills"), 6: ("lowrank", 1, "diagnostics"), 7: ("densing", 1, "densities")}


@dataclass(frozen=True)
class Migration:
    """One numbered step of a migration set: SQL run once, in one transaction."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True)
class MigrationSet:
    """A named, ordered list of migrations (the core's, or one plugin's).

    Examples
    --------
    >>> steps = MigrationSet("notes", [Migration(1, "notes", "CREATE TABLE notes (id INTEGER)")])
    >>> [m.version for m in steps.migrations]
    [1]
    """

    name: str
    migrations: tuple[Migration, ...]

    def __init__(self, name: str, migrations: Iterable[Migration]) -> None:
        ordered = tuple(sorted(migrations, key=lambda m: m.version))
        versions = [m.version for m in ordered]
        if not name or not isinstance(name, str):
            raise StoreError(f"a migration set needs a name, got {name!r}")
        if len(set(versions)) != len(versions) or any(v < 1 for v in versions):
            raise StoreError(f"migration set {name!r}: versions must be distinct positive numbers, got {versions}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "migrations", ordered)

    @classmethod
    def from_package(cls, name: str, package: str, folder: str = "migrations") -> MigrationSet:
        """The ``NNN_name.sql`` files of ``package``'s ``folder`` (shipped as package data)."""
        found = []
        for entry in resources.files(package).joinpath(folder).iterdir():
            match = _NAME.match(entry.name)
            if match:
                found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
        if not found:
            raise StoreError(f"migration set {name!r}: no NNN_name.sql files in {package}/{folder}")
        return cls(name, found)


def core_migrations() -> MigrationSet:
    """The migrations shipped with obslaws itself."""
    return MigrationSet.from_package(CORE_SET, "obslaws.store")


def available_migrations() -> list[tuple[int, str, str]]:
    """Return (version, name, sql) for every core migration, in order."""
    return [(m.version, m.name, m.sql) for m in core_migrations().migrations]


_RECORD = (
    "CREATE TABLE {table} ("
    " migration_set VARCHAR NOT NULL, version INTEGER NOT NULL, name VARCHAR NOT NULL,"
    " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp, PRIMARY KEY (migration_set, version))"
)


def _columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'schema_migrations' "
            "AND table_schema = current_schema() ORDER BY ordinal_position"
        ).fetchall()
    ]


def _upgrade_record(conn: duckdb.DuckDBPyConnection) -> None:
    """Rewrite a one-set ``schema_migrations`` (version, name, applied_at) as named sets, in one
    transaction: the steps plugins now own go to their set, every other row to the core's."""
    moved_set = " ".join(f"WHEN {old} THEN '{s}'" for old, (s, _, _) in _MOVED.items())
    moved_version = " ".join(f"WHEN {old} THEN {v}" for old, (_, v, _) in _MOVED.items())
    moved_name = " ".join(f"WHEN {old} THEN '{n}'" for old, (_, _, n) in _MOVED.items())
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(_RECORD.format(table="schema_migrations_sets"))
        conn.execute(
            "INSERT INTO schema_migrations_sets "
            f"SELECT CASE version {moved_set} ELSE '{CORE_SET}' END, CASE version {moved_version} ELSE version END, "
            f"CASE version {moved_name} ELSE name END, applied_at FROM schema_migrations"
        )
        conn.execute("DROP TABLE schema_migrations")
        conn.execute("ALTER TABLE schema_migrations_sets RENAME TO schema_migrations")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def applied_steps(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, int]]:
    """(set, version) of every step recorded in the database (creating or upgrading the record)."""
    columns = _columns(conn)
    if not columns:
        conn.execute(_RECORD.format(table="schema_migrations"))
    elif "migration_set" not in columns:
        _upgrade_record(conn)
    return {(row[0], row[1]) for row in conn.execute("SELECT migration_set, version FROM schema_migrations").fetchall()}


def applied_versions(conn: duckdb.DuckDBPyConnection, migration_set: str = CORE_SET) -> set[int]:
    """The versions of ``migration_set`` recorded in the database."""
    return {version for name, version in applied_steps(conn) if name == migration_set}


def _apply(conn: duckdb.DuckDBPyConnection, sets: Sequence[MigrationSet], upto: int | None) -> list[tuple[str, int]]:
    done = applied_steps(conn)
    applied = []
    for steps in sets:
        for step in steps.migrations:
            if (steps.name, step.version) in done or (upto is not None and step.version > upto):
                continue
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(step.sql)
                conn.execute(
                    "INSERT INTO schema_migrations (migration_set, version, name) VALUES (?, ?, ?)",
                    [steps.name, step.version, step.name],
                )
                conn.execute("COMMIT")
            except Exception as exc:
                conn.execute("ROLLBACK")
                if steps.name == CORE_SET:
                    raise
                raise StoreError(
                    f"migration {steps.name}/{step.version:03d}_{step.name} failed: {type(exc).__name__}: {exc}"
                ) from exc
            applied.append((steps.name, step.version))
    return applied


def migrate(
    conn: duckdb.DuckDBPyConnection, upto: int | None = None, *, plugin_sets: Sequence[MigrationSet] = ()
) -> list[tuple[str, int]]:
    """Apply every pending core migration (up to version ``upto``, default all), then each of
    ``plugin_sets`` in order, each step in its own transaction. Returns the (set, version)
    steps applied."""
    for steps in plugin_sets:
        if steps.name == CORE_SET:
            raise StoreError(f"the migration set name {CORE_SET!r} is the core's; a plugin's set needs its own")
    applied = _apply(conn, [core_migrations()], upto)
    return applied + _apply(conn, plugin_sets, None)


def _check_set(item: object, plugin: str) -> None:
    if not isinstance(item, MigrationSet):
        raise PluginError(f'plugin "{plugin}" registered {item!r}: expected an obslaws MigrationSet')
    if item.name == CORE_SET:
        raise PluginError(f'plugin "{plugin}" registered a migration set named {CORE_SET!r}, which is the core\'s')


def plugin_migrations(pm: pluggy.PluginManager) -> list[MigrationSet]:
    """Every plugin's migration set (``register_migrations``), in plugin registration order."""
    return list(collect(pm, "register_migrations", "migration set", lambda s: s.name, _check_set).values())
