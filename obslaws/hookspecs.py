"""The hooks an obslaws plugin can implement.

A plugin is a module (or object) registered under the ``obslaws`` entry-point group. It
implements any of the hooks below with the :data:`obslaws.hookimpl` marker::

    from obslaws import hookimpl

    @hookimpl
    def register_fitters(register):
        register(MyFitter)

Built-in fitters are plugins of exactly this kind: they register their fitters, their own tables
(``register_migrations``) and their part of the refresh report (``report_sections``). A function
named like a hook but not marked with ``@hookimpl``, a hook that does not exist
(``register_fitter``) or takes other arguments are errors naming the plugin (see
:func:`obslaws.plugins.get_plugin_manager`). The guide: ``docs/writing-a-fitter-plugin.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import click
    import duckdb

    from obslaws.report.section import ReportSection
    from obslaws.store.migrations import MigrationSet

hookspec = pluggy.HookspecMarker("obslaws")


@hookspec
def register_fitters(register: Callable[[type], None]) -> None:
    """Register fitter classes.

    Called once when a plugin manager's fitter registry is first built (for ``obslaws fit``,
    ``backtest``, ``plugins`` and the refresh).

    Parameters
    ----------
    register:
        Call ``register(FitterClass)`` for each :class:`obslaws.Fitter` subclass the plugin
        provides (the class, not an instance). The class's ``name`` must be unique across all
        plugins: a second plugin that registers the same name is an error naming both plugins.
        Anything that is not a Fitter subclass with a name, keyword-only hyperparameters and a
        :class:`obslaws.Requirements` is refused with an error naming the plugin.

    Returns
    -------
    None
    """


@hookspec
def register_ingestors(register: Callable[[Any], None]) -> None:
    """Register ingestors and lm-eval task-name mappings.

    Called once when the ingestor registry is built (``obslaws ingest`` and the refresh).

    Parameters
    ----------
    register:
        Call ``register(ingestor)`` with an :class:`obslaws.ingest.Ingestor` (a named object
        with ``ingest(conn, paths, **options)``), or ``register(TaskMapping(...))`` to map more
        lm-evaluation-harness task names to obslaws benchmarks. Duplicate names are errors.

    Returns
    -------
    None
    """


@hookspec
def prepare_connection(conn: duckdb.DuckDBPyConnection) -> None:
    """Prepare a new database connection.

    Called by :func:`obslaws.connect` after migrations, for every connection it opens. Use it
    to create a plugin's own views or macros (``CREATE OR REPLACE``: it runs on every open).

    Parameters
    ----------
    conn:
        The open DuckDB connection.

    Returns
    -------
    None
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``obslaws`` command line.

    Called once when the CLI starts, before arguments are parsed.

    Parameters
    ----------
    cli:
        The top-level :class:`click.Group`; add commands with ``cli.add_command(command)``
        or the ``@cli.command()`` decorator.

    Returns
    -------
    None
    """


@hookspec
def register_migrations(register: Callable[[MigrationSet], None]) -> None:
    """Register the plugin's own tables as a named set of numbered SQL migrations.

    Called by :func:`obslaws.connect` when it opens a database for writing, after the core's
    migrations. Each step runs once per database, in its own transaction, and is recorded in
    ``schema_migrations`` as ``(migration_set, version, name, applied_at)``; a new plugin version
    adds a step with the next number, so a database made by an older version upgrades in order.

    Parameters
    ----------
    register:
        Call ``register(MigrationSet.from_package("myplugin", "my_package"))`` to ship
        ``my_package/migrations/001_first.sql``, ``002_...``; or build a
        :class:`obslaws.store.migrations.MigrationSet` of :class:`~obslaws.store.migrations.Migration`
        steps. Name the set after the plugin; ``obslaws`` is the core's and two plugins cannot
        register one name. Give every table a ``COMMENT ON TABLE`` (``obslaws schema`` shows it).

    Returns
    -------
    None
    """


@hookspec
def report_sections(
    conn: duckdb.DuckDBPyConnection, out: Path, draw: Callable[..., None]
) -> ReportSection | list[ReportSection] | None:
    """Add sections to the refresh report (``obslaws refresh``).

    Called once per report, after the refresh has written its fits and backtests, in plugin
    registration order; the core places the sections after the backtests, each as a ``##``
    heading, its markdown, then its figures.

    Parameters
    ----------
    conn:
        The database, with this refresh's fits (read it; do not write).
    out:
        The report's folder: write figures here (PNG, names prefixed with the plugin's name so
        that they cannot collide) and list them in the section.
    draw:
        Optional (declare it to get it): ``draw(function, *args)`` draws ``function(*args)``,
        whose last argument is the PNG's path in ``out``, on the report's figure workers while
        the page is built, instead of here; ``function`` must be importable by name (a module's
        function, or a ``functools.partial`` of one) and its arguments picklable. The report is
        complete, its figures written, when the core's report step returns.

    Returns
    -------
    ReportSection, a list of them, or None
        :class:`obslaws.report.ReportSection` (title, markdown, figures); None (or an empty
        list) when there is nothing to show, for example before the plugin's fitter has run.
    """
