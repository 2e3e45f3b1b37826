"""``check_fitter``: the conformance suite every fitter (built-in or third-party) must pass.

>>> from obslaws.testing import check_fitter
>>> check_fitter(MyFitter())          # doctest: +SKIP

It builds synthetic data from what the fitter declares (``requires``: covariates, input
benchmarks, loss data sets) with scores and losses from a known law (:func:`synthetic_data`),
then checks the scikit-learn-style contract. A failure raises :class:`ConformanceError` (an
AssertionError) whose message starts with ``check_fitter[<check>]`` and names the fitter.
"""

from obslaws.testing.checks import check_fitter
from obslaws.testing.compare import ConformanceError
from obslaws.testing.synthetic import SYNTHETIC_CHANCE, SYNTHETIC_TARGETS, synthetic_data

__all__ = ["SYNTHETIC_CHANCE", "SYNTHETIC_TARGETS", "ConformanceError", "check_fitter", "synthetic_data"]
