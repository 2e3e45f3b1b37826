"""What a backtest protocol is: a rule that turns the shared table into train/test splits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import polars as pl

from obslaws.data import FitData
from obslaws.errors import ObslawsError
from obslaws.fitting.selection import with_covariates


class ProtocolError(ObslawsError):
    """A backtest protocol cannot run on this data or with these options."""


# Split.info key: the targets no training model of the split was scored on (planned.trained_targets)
UNTRAINED = "targets_without_training_scores"


@dataclass(frozen=True)
class Split:
    """One fold: fit on ``train`` models, predict the targets of ``test`` models."""

    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)
    # Cell hold-out: the (model, benchmark) cells to hide and score; empty: every target of ``test``.
    hidden: tuple[tuple[str, str], ...] = ()

    def hidden_frame(self) -> pl.DataFrame:
        return pl.DataFrame(list(self.hidden), schema={"model_id": pl.String, "benchmark": pl.String}, orient="row")

    def train_data(self, data: FitData) -> FitData:
        """The training data of this split: its models, without the hidden cells."""
        train = data.select_models(self.train)
        return drop_cells(train, self.hidden_frame()) if self.hidden else train

    def query_data(self, data: FitData, targets: Sequence[str]) -> FitData:
        """What the fitter sees of the test models: every target hidden, or only the hidden cells."""
        query = data.select_models(self.test)
        return drop_cells(query, self.hidden_frame()) if self.hidden else query.hide_scores(targets)


class Protocol:
    """Base class of the backtest protocols.

    A protocol is built from its options (``Protocol(**options)``), filters the data to the
    models it evaluates (:meth:`eligible`), then yields :class:`Split` objects (:meth:`splits`).
    Its :meth:`options` are recorded with every run and enter the backtest id.
    """

    name: ClassVar[str] = ""
    # How cells are averaged into a benchmark's score: "split" (mean within each split, then
    # across splits: the Sloth paper's averaging) or "cell" (one mean over all test cells).
    averaging: ClassVar[str] = "split"

    def options(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        """The models this protocol may use: those with every covariate in ``needs``."""
        return with_covariates(data, needs)

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:  # pragma: no cover - abstract
        raise NotImplementedError


def drop_cells(data: FitData, cells: pl.DataFrame) -> FitData:
    """``data`` without the scores of these (model_id, benchmark) cells."""
    return replace(data, scores=data.scores.join(cells, on=["model_id", "benchmark"], how="anti"))


def complete_models(data: FitData, targets: Sequence[str]) -> list[str]:
    """Models with a score on every one of ``targets``."""
    wide = data.matrix(targets)
    mask = pl.all_horizontal([pl.col(t).is_not_null() for t in targets]) if targets else pl.lit(True)
    return wide.filter(mask)["model_id"].to_list()


def scored_models(data: FitData, targets: Sequence[str]) -> list[str]:
    """Models with a score on at least one of ``targets``."""
    ids = data.scores.filter(pl.col("benchmark").is_in(list(targets)))["model_id"].unique()
    return data.models.filter(pl.col("model_id").is_in(ids.to_list()))["model_id"].to_list()


def base_models_only(data: FitData) -> FitData:
    """Pretrained base models only: instruct and fine-tuned ones left out (``base_only``: a forecast
    of what pretraining gives, where post-training would add its own spread)."""
    return data.select_models(data.models.filter(~pl.col("instruct"))["model_id"].to_list())
