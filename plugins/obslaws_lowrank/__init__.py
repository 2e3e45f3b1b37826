"""obslaws built-in plugin ``lowrank``: observational scaling laws (Ruan, Maddison, Hashimoto 2024).

Registers two fitters: ``lowrank`` (benchmark scores -> principal capabilities -> sigmoid link)
and ``obsscaling-logflops`` (the paper's log-compute sigmoid baseline), and the
``obslaws lowrank`` command group (reproduction and robustness tables).
"""

from __future__ import annotations

import importlib
from typing import Any

from obslaws import hookimpl

# Imported on first use, so that loading the plugin (every CLI start) stays cheap.
_LAZY = {
    "LowRankFitter": "obslaws_lowrank.fitter",
    "LogFlopsSigmoidFitter": "obslaws_lowrank.logflops",
    "obsscaling_default_data": "obslaws_lowrank.default_set",
    "obsscaling_default_models": "obslaws_lowrank.default_set",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'obslaws_lowrank' has no attribute {name!r}")


@hookimpl
def register_fitters(register: Any) -> None:
    from obslaws_lowrank.fitter import LowRankFitter
    from obslaws_lowrank.logflops import LogFlopsSigmoidFitter

    register(LowRankFitter)
    register(LogFlopsSigmoidFitter)


@hookimpl
def register_commands(cli: Any) -> None:
    from obslaws_lowrank.commands import lowrank_group

    cli.add_command(lowrank_group)


@hookimpl
def register_migrations(register: Any) -> None:
    from obslaws.store.migrations import MigrationSet

    register(MigrationSet.from_package("lowrank", "obslaws_lowrank"))
