"""obslaws: an observational scaling-law benchmark database with plugin fitters.

Importing obslaws has no side effects: plugins load only when a plugin manager is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("obslaws")
"""Marker for plugin hook implementations: ``from obslaws import hookimpl``."""

_LAZY = {
    "connect": ("obslaws.store", "connect"),
    "transaction": ("obslaws.store", "transaction"),
    "Fitter": ("obslaws.fitting.contract", "Fitter"),
    "Requirements": ("obslaws.fitting.contract", "Requirements"),
    "FitData": ("obslaws.data", "FitData"),
    "ObslawsError": ("obslaws.errors", "ObslawsError"),
}

if TYPE_CHECKING:
    from obslaws.data import FitData
    from obslaws.errors import ObslawsError
    from obslaws.fitting.contract import Fitter, Requirements
    from obslaws.store import connect, transaction


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'obslaws' has no attribute {name!r}")


__all__ = [
    "FitData",
    "Fitter",
    "ObslawsError",
    "Requirements",
    "connect",
    "hookimpl",
    "transaction",
]
