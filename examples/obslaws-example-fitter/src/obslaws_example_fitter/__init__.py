"""An example obslaws plugin: registers the ``logit-linear`` fitter.

obslaws finds this module through the ``obslaws`` entry point declared in pyproject.toml and
calls its hook implementations; nothing in obslaws names this package.
"""

from __future__ import annotations

from obslaws import hookimpl
from obslaws_example_fitter.fitter import LogitLinear

__all__ = ["LogitLinear", "register_fitters"]


@hookimpl
def register_fitters(register):
    """Called once by obslaws: register every fitter class this plugin provides."""
    register(LogitLinear)
