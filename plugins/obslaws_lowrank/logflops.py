"""``obsscaling-logflops``: the paper's compute baseline, y = (1 - b) sigmoid(alpha + beta log C) + b.

Ruan et al. compare their capability model with the same sigmoid link on log training FLOPs
(natural log of FLOPs in units of 1e21) and nothing else: no family terms. It shares the
link fit (multi-start, floor in [0, 0.2]) and the bootstrap intervals of ``lowrank``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.data import FitData, prediction_frame
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws_lowrank.intervals import bootstrap_link, central_interval
from obslaws_lowrank.link import fit_link


def _log_compute(models: pl.DataFrame) -> np.ndarray:
    flops = models["flops"].cast(pl.Float64).to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(flops / 1e21)


class LogFlopsSigmoidFitter(Fitter):
    """Sigmoid with a floor on log training compute, one curve per target (the ObsScaling baseline).

    Parameters
    ----------
    ridge:
        Penalty on beta^2 added to the training mean squared error.
    n_random_starts:
        Random starting points besides the three deterministic ones.
    floor_max:
        Upper bound of the floor b.
    max_slope, max_logit:
        Bounds on the slope per standard deviation of log compute and on the logit at the
        training mean (no step functions).
    n_bootstrap, interval:
        Bootstrap replicates over training models, and the intervals' nominal coverage.
    random_state:
        Seed of starts, bootstrap and residual draws.
    """

    name: ClassVar[str] = "obsscaling-logflops"
    version: ClassVar[str] = "1"
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"flops", "scores"}), min_models=4)

    def __init__(
        self,
        *,
        ridge: float = 0.0,
        n_random_starts: int = 4,
        floor_max: float = 0.2,
        max_slope: float = 10.0,
        max_logit: float = 20.0,
        n_bootstrap: int = 200,
        interval: float = 0.9,
        random_state: int = 0,
    ) -> None:
        self.ridge = ridge
        self.n_random_starts = n_random_starts
        self.floor_max = floor_max
        self.max_slope = max_slope
        self.max_logit = max_logit
        self.n_bootstrap = n_bootstrap
        self.interval = interval
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        logc = _log_compute(data.models)
        wide = data.matrix(list(data.targets))
        self.links_: dict[str, Any] = {}
        self.boots_: dict[str, Any] = {}
        for target in data.targets:
            y = wide[target].cast(pl.Float64).to_numpy().astype(float)
            rows = np.isfinite(y) & np.isfinite(logc)
            if rows.sum() < 4:
                raise FitterError(f"obsscaling-logflops: {int(rows.sum())} training models with FLOPs score {target!r}")
            x = logc[rows, None]
            bounds = {"max_slope": float(self.max_slope), "max_logit": float(self.max_logit)}
            link = fit_link(
                x,
                y[rows],
                ridge=self.ridge,
                n_random=self.n_random_starts,
                seed=self.random_state,
                floor_max=self.floor_max,
                **bounds,
            )
            self.links_[target] = link
            if self.n_bootstrap > 0:
                self.boots_[target] = bootstrap_link(
                    x,
                    y[rows],
                    link.params,
                    n_boot=self.n_bootstrap,
                    ridge=self.ridge,
                    floor_max=self.floor_max,
                    rng=np.random.default_rng(self.random_state),
                    **bounds,
                )

    def _predict(self, query: FitData) -> pl.DataFrame:
        logc = _log_compute(query.models)
        if not np.isfinite(logc).all():
            raise FitterError("obsscaling-logflops: every query model needs positive FLOPs")
        ids = query.models["model_id"].to_list()
        frames = []
        for target, link in self.links_.items():
            point = link.predict(logc[:, None])
            lower = upper = np.full(len(ids), np.nan)
            if target in self.boots_ and ids:
                draws = self.boots_[target].draws(logc[:, None], np.random.default_rng(self.random_state + 1))
                lower, upper = central_interval(draws, float(self.interval))
                lower, upper = np.minimum(lower, point), np.maximum(upper, point)
            frames.append(prediction_frame(ids, target, point, lower, upper))
        return pl.concat(frames)

    def learned_parameters(self) -> dict[str, Any]:
        return {
            "targets": list(self.targets_),
            "links": {
                t: {
                    "intercept": link.intercept,
                    "slope": float(link.weights[0]),
                    "floor": link.floor,
                    "train_mse": link.mse,
                }
                for t, link in self.links_.items()
            },
        }
