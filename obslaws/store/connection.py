"""Opening the DuckDB file: path resolution, migrations, plugin connection hooks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pluggy

from obslaws import interrupts
from obslaws.errors import StoreError
from obslaws.store.migrations import CORE_SET, migrate, plugin_migrations
from obslaws.store.views import rebuild_score_matrix

DEFAULT_DB = "obslaws.duckdb"


def default_path() -> Path:
    """`$OBSLAWS_DB` if set, else `./obslaws.duckdb`."""
    return Path(os.environ.get("OBSLAWS_DB") or DEFAULT_DB)


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    plugins: bool | pluggy.PluginManager = True,
) -> duckdb.DuckDBPyConnection:
    """Open (and create or migrate) the obslaws database.

    Parameters
    ----------
    path:
        The DuckDB file; ``":memory:"`` for an in-memory database. Defaults to ``$OBSLAWS_DB``,
        else ``./obslaws.duckdb``.
    read_only:
        Open without taking the write lock; the file must already exist and be migrated.
    plugins:
        Apply every plugin's own migrations (``register_migrations``) and run its
        ``prepare_connection`` hook on the new connection: True for the process's plugins
        (:func:`obslaws.plugins.plugin_manager`), or a plugin manager; False for the core's
        tables only.

    Examples
    --------
    >>> import obslaws
    >>> conn = obslaws.connect(":memory:", plugins=False)
    >>> conn.execute("SELECT count(*) FROM models").fetchone()
    (0,)
    """
    target = str(path) if path is not None else str(default_path())
    if target != ":memory:":
        parent = Path(target).expanduser().resolve().parent
        if not parent.exists():
            raise StoreError(f"cannot open database {target}: folder {parent} does not exist")
    try:
        conn = duckdb.connect(target, read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open database {target}: {exc}") from exc
    pm = _manager(plugins)
    if not read_only:
        applied = migrate(conn, plugin_sets=plugin_migrations(pm) if pm is not None else ())
        if any(steps == CORE_SET for steps, _ in applied):
            rebuild_score_matrix(conn)
        if applied:
            # Schema changes go into the file now: DuckDB cannot replay some of them (a dropped
            # table's index) from the WAL of a process killed before it closed the file.
            conn.execute("CHECKPOINT")
    if pm is not None:
        pm.hook.prepare_connection(conn=conn)
    return conn


def _manager(plugins: bool | pluggy.PluginManager) -> pluggy.PluginManager | None:
    if isinstance(plugins, pluggy.PluginManager):
        return plugins
    if plugins:
        from obslaws.plugins import plugin_manager

        return plugin_manager()
    return None


# Open transaction() blocks per connection (by id): DuckDB aborts a transaction on a nested
# BEGIN, so nesting is tracked here rather than probed.
_DEPTH: dict[int, int] = {}


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit when the block ends, roll back on any exception (also Ctrl-C).

    Nested use joins the caller's transaction: the outermost block commits or rolls back, so an
    ingest inside a refresh lands only if the whole refresh does.
    """
    key = id(conn)
    if _DEPTH.get(key):
        _DEPTH[key] += 1
        try:
            yield conn
        finally:
            _DEPTH[key] -= 1
        return
    conn.execute("BEGIN TRANSACTION")
    _DEPTH[key] = 1
    try:
        yield conn
        interrupts.check()  # a Ctrl-C or SIGTERM that a C extension dropped: roll back, not commit
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        _DEPTH.pop(key, None)
    conn.execute("COMMIT")
