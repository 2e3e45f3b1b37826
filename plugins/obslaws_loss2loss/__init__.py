"""obslaws built-in plugin: loss2loss.

Loss-to-loss prediction (Brandfonbrener et al. 2024, arXiv:2411.12925) and the two-step task
law of the OLMo model ladder (Bhagia et al. 2024, arXiv:2412.04403):

- :mod:`obslaws_loss2loss.laws`: compute laws L(N, D), multi-start Huber fits;
- :mod:`obslaws_loss2loss.shifted`: shifted power laws between losses;
- :mod:`obslaws_loss2loss.pairings`: train-to-train, train-to-test, test-to-test pairings and
  the translation of a compute law to a new data set;
- :mod:`obslaws_loss2loss.sigmoid`: task loss to accuracy;
- :mod:`obslaws_loss2loss.fitter`: the ``loss2loss`` fitter, (N, D) -> task loss -> score.
"""

from __future__ import annotations

from collections.abc import Callable

from obslaws import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_fitters(register: Callable[[type], None]) -> None:
    from obslaws_loss2loss.fitter import Loss2LossFitter

    register(Loss2LossFitter)
