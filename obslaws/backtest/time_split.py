"""``time-split``: train on models released before a date, test on those released on or after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split, scored_models
from obslaws.data import FitData


def parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProtocolError(f"time-split: {value!r} is not a date (YYYY-MM-DD)") from None


class TimeSplit(Protocol):
    name: ClassVar[str] = "time-split"
    averaging: ClassVar[str] = "cell"

    def __init__(self, *, date: str | dt.date | None = None) -> None:
        if date is None:
            raise ProtocolError("time-split needs a date (--date YYYY-MM-DD)")
        self.date = parse_date(date)

    def options(self) -> dict[str, Any]:
        return {"date": self.date.isoformat()}

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        data = super().eligible(data, targets, tuple(dict.fromkeys(["release_date", *needs])))
        return data.select_models(scored_models(data, targets))

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:
        before = data.models.filter(pl.col("release_date") < self.date)["model_id"].to_list()
        after = data.models.filter(pl.col("release_date") >= self.date)["model_id"].to_list()
        if not before or not after:
            raise ProtocolError(
                f"time-split at {self.date} leaves {len(before)} training and {len(after)} test models "
                "with release dates; choose a date inside the data's range"
            )
        yield Split(name=f"before {self.date.isoformat()}", train=tuple(before), test=tuple(after), info={})
