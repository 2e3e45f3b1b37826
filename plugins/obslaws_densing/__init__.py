"""obslaws built-in plugin: densing.

Capacity density (Xiao et al. 2024, arXiv:2412.04315): a model's effective parameter size
against a named reference family, density = effective / actual size, and the exponential growth
of the maximum density over release dates.

- :mod:`obslaws_densing.reference`: reference curves (direct, or the paper's two-step) and their inverses;
- :mod:`obslaws_densing.trend`: the upper envelope, ln rho_max = A t + B, bootstrap interval;
- :mod:`obslaws_densing.fitter`: the ``densing`` fitter;
- :mod:`obslaws_densing.store`: the ``densities`` and ``density_trend`` tables (migration 007);
- :mod:`obslaws_densing.plot`: :func:`plot_density`.
"""

from __future__ import annotations

from collections.abc import Callable

from obslaws import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_fitters(register: Callable[[type], None]) -> None:
    from obslaws_densing.fitter import Densing

    register(Densing)
