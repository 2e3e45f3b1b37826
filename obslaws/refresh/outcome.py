"""What a refresh did: per fit, per backtest and overall (the report is built from these)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from obslaws.errors import ObslawsError
from obslaws.fitting.contract import Fitter

if TYPE_CHECKING:
    from obslaws.refresh.predict import Predicted

Progress = Callable[[str], None]


@dataclass
class FitOutcome:
    fitter: str
    plugin: str
    status: str  # "fitted" or "failed: ..."
    fit_id: str | None = None
    seconds: float = 0.0
    benchmarks: tuple[str, ...] = ()
    source: str | None = None
    instance: Fitter | None = None
    timing: Any = None  # obslaws.refresh.parallel.Timing, where it ran in this refresh
    predicted: Predicted | None = None  # where its worker predicted too


@dataclass
class BacktestOutcome:
    fitter: str
    label: str
    status: str  # "done", "skipped: ..."
    backtest_id: str | None = None
    summary: dict[str, Any] | None = None
    seconds: float = 0.0
    timing: Any = None  # as FitOutcome.timing


@dataclass
class RefreshOutcome:
    refresh_id: str | None
    nothing_new: bool
    state_hash: str
    steps: dict[str, float] = field(default_factory=dict)
    ingested: dict[str, Any] = field(default_factory=dict)
    fits: list[FitOutcome] = field(default_factory=list)
    backtests: list[BacktestOutcome] = field(default_factory=list)
    predictions: pl.DataFrame | None = None
    new_models: pl.DataFrame | None = None
    previous: dict[str, Any] | None = None
    workers_started: float = 0.0  # epoch seconds when the fits and backtests were first queued

    @property
    def slowest_step(self) -> tuple[str, float]:
        return max(self.steps.items(), key=lambda kv: kv[1]) if self.steps else ("", 0.0)

    def timed(self, name: str, progress: Progress, start: float) -> None:
        """Record step ``name`` as having run since ``start`` (``time.perf_counter``) and say so."""
        self.steps[name] = time.perf_counter() - start
        progress(f"  {name}: {self.steps[name]:.1f} s")

    def summary(self) -> dict[str, Any]:
        """What refresh_runs.summary keeps of this run."""
        return {
            "ingested": self.ingested,
            "fits": [
                {"fitter": f.fitter, "status": f.status, "fit_id": f.fit_id, "seconds": f.seconds} for f in self.fits
            ],
            "backtests": [
                {
                    "fitter": b.fitter,
                    "backtest": b.label,
                    "status": b.status,
                    "backtest_id": b.backtest_id,
                    "seconds": b.seconds,
                }
                for b in self.backtests
            ],
            "steps": self.steps,
        }


def describe(exc: BaseException) -> str:
    """One line for a failed step: our errors as they are, anything else with its type."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ObslawsError) else f"{type(exc).__name__}: {text}"
