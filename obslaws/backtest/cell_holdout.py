"""``cell-holdout``: matrix completion. Hide half of each model's scores; predict them from the rest.

"What will this model score on the benchmarks it has not run?" (the capability idea of
ObsScaling, Epoch's benchmark stitching, BenchPress). In each of ``folds`` folds, every model
with at least ``min_scores`` target scores has ``floor(fraction * n)`` of them hidden, drawn by a
generator seeded from ``(random_state, fold, model_id)``: a model's hidden cells do not depend on which
other models are in the data, so fitters with different needs are scored on the same cells.
Every model trains (with its hidden cells removed); the query models keep their other scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split, scored_models
from obslaws.data import FitData


def _generator(seed: int, fold: int, model_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{fold}:{model_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class CellHoldout(Protocol):
    name: ClassVar[str] = "cell-holdout"
    averaging: ClassVar[str] = "cell"

    def __init__(self, *, folds: int = 3, random_state: int = 0, fraction: float = 0.5, min_scores: int = 2) -> None:
        self.folds, self.random_state = int(folds), int(random_state)
        self.fraction, self.min_scores = float(fraction), int(min_scores)
        if self.folds < 1 or not 0 < self.fraction < 1 or self.min_scores < 2:
            raise ProtocolError("cell-holdout: folds >= 1, 0 < fraction < 1 and min_scores >= 2")

    def options(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "random_state": self.random_state,
            "fraction": self.fraction,
            "min_scores": self.min_scores,
        }

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        data = super().eligible(data, targets, needs)
        return data.select_models(scored_models(data, targets))

    def hidden_cells(self, data: FitData, targets: Sequence[str], fold: int) -> list[tuple[str, str]]:
        """The (model, benchmark) cells hidden in ``fold``."""
        observed = (
            data.scores.filter(pl.col("benchmark").is_in(list(targets)))
            .group_by("model_id", maintain_order=True)
            .agg(pl.col("benchmark").sort())
        )
        cells: list[tuple[str, str]] = []
        for model_id, benches in observed.iter_rows():
            if len(benches) < self.min_scores:
                continue
            k = int(np.floor(self.fraction * len(benches)))
            picked = _generator(self.random_state, fold, model_id).choice(len(benches), size=k, replace=False)
            cells += [(model_id, benches[i]) for i in sorted(picked)]
        return cells

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:
        everyone = tuple(data.model_ids)
        for fold in range(self.folds):
            cells = self.hidden_cells(data, targets, fold)
            if not cells:
                raise ProtocolError(f"cell-holdout: no model has {self.min_scores}+ scores on the targets")
            test = tuple(dict.fromkeys(m for m, _ in cells))
            yield Split(name=f"fold {fold}", train=everyone, test=test, info={}, hidden=tuple(cells))
