"""``time-split``: train on models released before a date, test on those released on or after it
(``base_only``: pretrained base models only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split, base_models_only, scored_models
from obslaws.data import FitData


def parse_date(value: str | dt.date, who: str = "time-split date") -> dt.date:
    """``value`` as a date; ``who`` (protocol and option) names it in the error."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProtocolError(f"{who}: {value!r} is not a date (YYYY-MM-DD)") from None


class TimeSplit(Protocol):
    name: ClassVar[str] = "time-split"
    averaging: ClassVar[str] = "cell"

    def __init__(self, *, date: str | dt.date | None = None, base_only: bool = False) -> None:
        if date is None:
            raise ProtocolError("time-split needs a date (--date YYYY-MM-DD, or -P date=YYYY-MM-DD)")
        self.date = parse_date(date)
        self.base_only = bool(base_only)

    def options(self) -> dict[str, Any]:
        # base_only enters the options (and so the backtest id) only when set, so the ids of
        # the existing time splits stay as they were.
        return {"date": self.date.isoformat(), **({"base_only": True} if self.base_only else {})}

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        data = super().eligible(data, targets, tuple(dict.fromkeys(["release_date", *needs])))
        if self.base_only:
            data = base_models_only(data)
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
