"""obslaws built-in plugin: forecast.

Registers the default forecaster and the matrix-completion baselines:

- ``forecast``: covariates (size, tokens, release date) with partially pooled family effects,
  plus low-rank completion from a model's other scores; choices and 90% intervals from inner
  folds of the training data (docs/forecasting.md);
- ``benchmark-mean``: the mean training score per benchmark;
- ``logit-svd``: rank-2 completion of the logit score matrix.

The fitting code is imported when the fitters are first needed, not when plugins load.
"""

from __future__ import annotations

from typing import Any

from obslaws import hookimpl

__all__ = ["BenchmarkMean", "ForecastFitter", "LogitSVD", "register_fitters"]


@hookimpl
def register_fitters(register):
    from .baselines import BenchmarkMean, LogitSVD
    from .fitter import ForecastFitter

    register(ForecastFitter)
    register(BenchmarkMean)
    register(LogitSVD)


def __getattr__(name: str) -> Any:
    if name == "ForecastFitter":
        from .fitter import ForecastFitter

        return ForecastFitter
    if name in ("BenchmarkMean", "LogitSVD"):
        from . import baselines

        return getattr(baselines, name)
    raise AttributeError(f"module 'obslaws_forecast' has no attribute {name!r}")
