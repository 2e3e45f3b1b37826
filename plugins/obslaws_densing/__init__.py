"""obslaws built-in plugin: densing.

Capacity density (Xiao et al. 2024, arXiv:2412.04315): a model's effective parameter size
against a named reference family, density = effective / actual size, and the exponential growth
of the maximum density over release dates.

- :mod:`obslaws_densing.reference`: reference curves (direct, or the paper's two-step) and their inverses;
- :mod:`obslaws_densing.trend`: the upper envelope, ln rho_max = A t + B, bootstrap interval;
- :mod:`obslaws_densing.fitter`: the ``densing`` fitter;
- :mod:`obslaws_densing.store`: the ``densities`` and ``density_trend`` tables (its migration 001_densities.sql);
- :mod:`obslaws_densing.report`: its section of the refresh report;
- :mod:`obslaws_densing.plot`: :func:`plot_density`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obslaws import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_fitters(register: Callable[[type], None]) -> None:
    from obslaws_densing.fitter import DensingFitter

    register(DensingFitter)


@hookimpl
def register_migrations(register: Any) -> None:
    from obslaws.store.migrations import MigrationSet

    register(MigrationSet.from_package("densing", "obslaws_densing"))


@hookimpl
def report_sections(conn: Any, out: Any, draw: Any) -> Any:
    from obslaws_densing.report import report_section

    return report_section(conn, out, draw)
