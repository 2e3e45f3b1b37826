"""``rolling-forecast``: cut dates every quarter; train on what was released before each cut,
test on what was released in the following months.

This is the question a user of a scaling-law database asks: how well would last quarter's fit
have forecast this half-year's releases? Two variants:

- ``n_train=0``: families first seen after the cut are unseen (their intercept is a forecast);
- ``n_train=1``: the smallest model (by parameters) that each such family released in the test
  window goes to training, as in the family hold-out, and is not scored.

``base_only`` keeps pretrained base models alone (as the time split's option does): the rolling
forecast of the 2024-2026 base models on the Swallow and reported benchmarks.

Cuts run from ``start`` every ``step_months`` to the latest cut that leaves ``horizon_months``
of later releases in the data (or ``end``). The metric is averaged within each cut, then across
cuts (``averaging="split"``); ``summary()["splits"]`` has each cut's MAE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split, base_models_only, scored_models
from obslaws.backtest.time_split import parse_date
from obslaws.data import FitData


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` moved by whole months (the day clipped to 28 so every month has it)."""
    index = date.year * 12 + date.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(date.day, 28))


def cut_dates(start: dt.date, latest: dt.date, step_months: int, horizon_months: int) -> list[dt.date]:
    """Cuts ``start, start + step, ...`` while ``cut + horizon <= latest``."""
    cuts, cut = [], start
    while add_months(cut, horizon_months) <= latest:
        cuts.append(cut)
        cut = add_months(cut, step_months)
    return cuts


class RollingForecast(Protocol):
    name: ClassVar[str] = "rolling-forecast"
    averaging: ClassVar[str] = "split"

    def __init__(
        self,
        *,
        start: str | dt.date = "2023-07-01",
        end: str | dt.date | None = None,
        step_months: int = 3,
        horizon_months: int = 6,
        n_train: int = 0,
        base_only: bool = False,
    ) -> None:
        self.start = parse_date(start, "rolling-forecast start")
        self.end = None if end is None else parse_date(end, "rolling-forecast end")
        self.step_months, self.horizon_months, self.n_train = int(step_months), int(horizon_months), int(n_train)
        self.base_only = bool(base_only)
        if self.step_months < 1 or self.horizon_months < 1:
            raise ProtocolError("rolling-forecast: step_months and horizon_months must be >= 1")
        if self.n_train < 0:
            raise ProtocolError(f"rolling-forecast: n_train must be >= 0, not {n_train}")

    def options(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "step_months": self.step_months,
            "horizon_months": self.horizon_months,
            "n_train": self.n_train,
            # only when set, so the existing rolling forecasts keep their backtest ids
            **({"base_only": True} if self.base_only else {}),
        }

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        data = super().eligible(data, targets, tuple(dict.fromkeys(["release_date", *needs])))
        if self.base_only:
            data = base_models_only(data)
        return data.select_models(scored_models(data, targets))

    def cuts(self, data: FitData) -> list[dt.date]:
        """The cut dates this data allows."""
        if not data.models.height:
            return []
        cuts = cut_dates(self.start, data.models["release_date"].max(), self.step_months, self.horizon_months)
        return [c for c in cuts if self.end is None or c <= self.end]

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:
        cuts = self.cuts(data)
        if not cuts:
            latest = data.models["release_date"].max() if data.models.height else None
            raise ProtocolError(
                f"rolling-forecast: no cut from {self.start} leaves {self.horizon_months} months of later "
                f"releases (latest release date in the data: {latest})"
            )
        models = data.models.with_columns(pl.coalesce("family", "model_id").alias("_family"))
        for cut in cuts:
            until = add_months(cut, self.horizon_months)
            before = models.filter(pl.col("release_date") < cut)
            window = models.filter((pl.col("release_date") >= cut) & (pl.col("release_date") < until))
            new_families = sorted(set(window["_family"].to_list()) - set(before["_family"].to_list()))
            anchors: list[str] = []
            if self.n_train:
                fresh = window.filter(pl.col("_family").is_in(new_families))
                for (_family,), group in fresh.sort(
                    ["_family", "params", "release_date", "model_id"], nulls_last=True
                ).group_by(["_family"], maintain_order=True):
                    anchors += group["model_id"].to_list()[: self.n_train]
            test = [m for m in window["model_id"].to_list() if m not in set(anchors)]
            if not test or not before.height:
                continue
            yield Split(
                name=cut.isoformat(),
                train=tuple(before["model_id"].to_list() + anchors),
                test=tuple(test),
                info={"cut": cut.isoformat(), "until": until.isoformat(), "new_families": new_families},
            )
