"""One backtest harness for every fitter: protocols, metrics, and writing to the database.

>>> from obslaws.backtest import run_backtest
>>> result = run_backtest(fitter, conn, "family-holdout", benchmarks="oll-v2", n_train=1)  # doctest: +SKIP
>>> result.summary()["average"]["mae_pt"]  # doctest: +SKIP
"""

from obslaws.backtest.base import Protocol, ProtocolError, Split
from obslaws.backtest.cell_holdout import CellHoldout
from obslaws.backtest.compute_cutoff import ComputeCutoff, ComputeSweep
from obslaws.backtest.family_holdout import FamilyHoldout
from obslaws.backtest.harness import PROTOCOLS, BacktestPlan, BacktestResult, make_protocol, run_backtest, run_backtests
from obslaws.backtest.metrics import summarise
from obslaws.backtest.rolling import RollingForecast
from obslaws.backtest.time_split import TimeSplit
from obslaws.backtest.writer import write_backtest

__all__ = [
    "PROTOCOLS",
    "BacktestPlan",
    "BacktestResult",
    "CellHoldout",
    "ComputeCutoff",
    "ComputeSweep",
    "FamilyHoldout",
    "Protocol",
    "ProtocolError",
    "RollingForecast",
    "Split",
    "TimeSplit",
    "make_protocol",
    "run_backtest",
    "run_backtests",
    "summarise",
    "write_backtest",
]
