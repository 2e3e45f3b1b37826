"""``size-tokens``: the per-benchmark size-and-tokens law the Sloth paper compares against.

Its ``logSlogT_trainlink_faminter``: for each benchmark separately, ``eta = x b + alpha_f + c``
with the same covariates as Sloth (``log10 N, log10 D``, their product), a family intercept,
and the trainable monotone link with a learned lower asymptote; fitted as Sloth is (basic
stage, then the trainable link from it). It is Sloth with one benchmark, d = 1 and the
loading fixed at 1, so it runs on the same batched engine (one problem per benchmark).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws.fitting.contract import Fitter, Requirements
from obslaws_sloth.design import LEARNING_RATES, build_design, covariates, query_weights
from obslaws_sloth.fitter import NEEDS


class SizeTokensFitter(Fitter):
    """Per-benchmark scaling law in size and tokens with family intercepts and a trainable link.

    Parameters
    ----------
    random_state:
        Seed of the starting point (deterministic on CPU).
    learning_rates:
        Tried in turn; the lowest training MAE wins, per benchmark.
    max_iter:
        Cap on optimiser steps per stage.
    """

    name: ClassVar[str] = "size-tokens"
    check_hyperparameters: ClassVar[dict[str, Any]] = {"learning_rates": (0.1,), "max_iter": 150}
    version: ClassVar[str] = "1"
    requires: ClassVar[Requirements] = Requirements(needs=NEEDS, min_models=4)

    def __init__(
        self, *, random_state: int = 0, learning_rates: tuple[float, ...] = LEARNING_RATES, max_iter: int = 100_000
    ) -> None:
        self.random_state = random_state
        self.learning_rates = learning_rates
        self.max_iter = max_iter

    def _fit(self, data: FitData) -> None:
        # imported here (torch): registering the fitter needs none of it
        from obslaws_sloth.engine import fit_many
        from obslaws_sloth.optimiser import Schedule

        designs = []
        for bench in self.targets_:
            design = build_design(data, [bench])
            designs.append(design)
        fits = fit_many(
            designs,
            [int(self.random_state)] * len(designs),
            1,
            fixed_loadings=True,
            lrs=tuple(self.learning_rates),
            schedule=Schedule(max_steps=int(self.max_iter)),
        )
        self.designs_ = designs
        self.members_ = [full for _, full in fits]

    def _predict(self, query: FitData) -> pl.DataFrame:
        x = covariates(query.models["params"].to_numpy(), query.models["tokens"].to_numpy())
        ids = query.models["model_id"].to_list()
        frames = []
        for bench, design, member in zip(self.targets_, self.designs_, self.members_, strict=True):
            pred = member.predict(x, query_weights(design, query.models), design.chance)[:, 0]
            frames.append(pl.DataFrame({"model_id": ids, "benchmark": bench, "prediction": pred}))
        return pl.concat(frames)

    def learned_parameters(self) -> dict[str, Any]:
        out = super().learned_parameters()
        out["laws"] = {
            bench: {"train_mae": m.train_mae, "lr": m.lr, **{k: np.asarray(v).tolist() for k, v in m.blocks().items()}}
            for bench, m in zip(self.targets_, self.members_, strict=True)
        }
        return out


__all__ = ["SizeTokensFitter"]
