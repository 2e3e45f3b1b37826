"""Whether a plugin's compiled (numba) kernel module loads, for the plugins that fall back without it."""

from __future__ import annotations

import functools
import importlib
import warnings


@functools.cache
def kernel_loads(module: str, who: str, fallback: str) -> bool:
    """Whether ``module`` imports; else warn once (``who``: compiled kernel unavailable; using
    ``fallback``). numba may be missing, or refuse a module where it finds no place for its cache."""
    try:
        importlib.import_module(module)
    except (ImportError, RuntimeError) as error:
        warnings.warn(f"{who}: compiled kernel unavailable ({error}); using {fallback}", stacklevel=3)
        return False
    return True


class WhenKernelLoads:
    """A class attribute that reads true where ``module`` loads (:func:`kernel_loads`), for a
    fitter whose flag (``Fitter.batch_invariant``) holds for its compiled engine but not for the
    fallback it runs without one. The check runs on first read, not at class definition."""

    def __init__(self, module: str, who: str, fallback: str) -> None:
        self.args = (module, who, fallback)

    def __get__(self, instance: object, owner: type | None = None) -> bool:
        return kernel_loads(*self.args)
