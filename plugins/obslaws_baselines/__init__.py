"""obslaws built-in plugin: baselines.

Registers the compute baselines of the Sloth paper, through the same ``obslaws`` entry point
group a third-party plugin uses:

- ``flops-sigmoid``: a sigmoid in log FLOPs per benchmark, one intercept for all families;
- ``flops-sigmoid-family``: the same with one intercept per family.

The fitting code is imported when the fitters are first needed, not when plugins load.
"""

from __future__ import annotations

from typing import Any

from obslaws import hookimpl

__all__ = ["FlopsSigmoidFitter", "FlopsSigmoidFamilyFitter", "register_fitters"]


@hookimpl
def register_fitters(register):
    from .sigmoid import FlopsSigmoidFamilyFitter, FlopsSigmoidFitter

    register(FlopsSigmoidFitter)
    register(FlopsSigmoidFamilyFitter)


def __getattr__(name: str) -> Any:
    if name in ("FlopsSigmoidFitter", "FlopsSigmoidFamilyFitter"):
        from . import sigmoid

        return getattr(sigmoid, name)
    raise AttributeError(f"module 'obslaws_baselines' has no attribute {name!r}")
