"""An example obslaws plugin: the ``logit-linear`` fitter, its own table and its report section.

obslaws finds this module through the ``obslaws`` entry point declared in pyproject.toml and
calls its hook implementations; nothing in obslaws names this package.
"""

from __future__ import annotations

from obslaws import hookimpl
from obslaws_example_fitter.fitter import LogitLinearFitter

__all__ = ["LogitLinearFitter", "register_fitters", "register_migrations", "report_sections"]


@hookimpl
def register_fitters(register):
    """Called once by obslaws: register every fitter class this plugin provides."""
    register(LogitLinearFitter)


@hookimpl
def register_migrations(register):
    """Our table, ``logit_linear_lines``: migrations/NNN_name.sql, applied once per database."""
    from obslaws.store.migrations import MigrationSet

    register(MigrationSet.from_package("example", "obslaws_example_fitter"))


@hookimpl
def report_sections(conn, out):
    """Our section of the refresh report (None until a logit-linear fit is stored)."""
    from obslaws_example_fitter.report import report_section

    return report_section(conn, out)
