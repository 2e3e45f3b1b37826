"""obslaws built-in plugin: Sloth, skills scaling laws (Polo et al. 2024), and its size-and-tokens baseline."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from obslaws import hookimpl

# Imported on first use: torch loads only when a Sloth fitter is used, not at every CLI start.
_LAZY = {"SlothFitter": "obslaws_sloth.fitter", "SizeTokensFitter": "obslaws_sloth.baseline"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'obslaws_sloth' has no attribute {name!r}")


@hookimpl
def register_fitters(register: Callable[[type], None]) -> None:
    from obslaws_sloth.baseline import SizeTokensFitter
    from obslaws_sloth.fitter import SlothFitter

    register(SlothFitter)
    register(SizeTokensFitter)


@hookimpl
def register_migrations(register: Any) -> None:
    from obslaws.store.migrations import MigrationSet

    register(MigrationSet.from_package("sloth", "obslaws_sloth"))


@hookimpl
def report_sections(conn: Any, out: Any, draw: Any) -> Any:
    from obslaws_sloth.report import report_section

    return report_section(conn, out, draw)
