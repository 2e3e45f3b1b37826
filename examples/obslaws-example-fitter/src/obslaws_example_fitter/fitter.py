"""``logit-linear``: a line in log compute on the logit scale above chance, per benchmark."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit, logit

from obslaws import FitData, Fitter, Requirements
from obslaws.errors import FitterError

EPS = 1e-3  # keeps logits finite for scores at (or below) chance and at 1


class LogitLinearFitter(Fitter):
    """Per benchmark: logit((y - chance) / (1 - chance)) = a + b log(FLOPs / 1e21).

    Hyperparameters (keyword-only, stored verbatim, nothing else in ``__init__``):

    ridge:
        L2 penalty on the slope (0 = ordinary least squares).
    interval:
        Coverage of the prediction interval (quantile of the absolute training residuals
        on the logit scale).
    """

    name = "logit-linear"
    version = "0.1.0"
    requires = Requirements(needs=frozenset({"flops"}), min_models=3)

    def __init__(self, *, ridge: float = 0.0, interval: float = 0.9) -> None:
        self.ridge = ridge
        self.interval = interval

    def _fit(self, data: FitData) -> None:
        # Learned state goes in attributes ending in "_"; the data is never modified.
        x_all = np.log(data.models["flops"].to_numpy() / 1e21)
        wide = data.matrix(self.targets_)
        self.coef_: dict[str, tuple[float, float]] = {}
        self.half_width_: dict[str, float] = {}
        self.chance_: dict[str, float] = {}
        for bench in self.targets_:
            y = wide[bench].to_numpy().astype(float)
            keep = np.isfinite(y) & np.isfinite(x_all)
            if keep.sum() < self.requires.min_models:
                raise FitterError(f"{self.name}: {int(keep.sum())} training models with FLOPs and {bench}; need 3")
            chance = data.chance(bench)
            z = _logit(y[keep], chance)
            x = x_all[keep]
            x_mean, z_mean = x.mean(), z.mean()
            slope = float(((x - x_mean) * (z - z_mean)).sum() / (((x - x_mean) ** 2).sum() + self.ridge))
            intercept = float(z_mean - slope * x_mean)
            resid = np.abs(z - (intercept + slope * x))
            self.coef_[bench] = (intercept, slope)
            self.half_width_[bench] = float(np.quantile(resid, self.interval))
            self.chance_[bench] = chance

    def _predict(self, query: FitData) -> pl.DataFrame:
        flops = query.models["flops"].to_numpy()
        if not np.all(np.isfinite(flops) & (flops > 0)):
            raise FitterError(f"{self.name}: every model to predict needs FLOPs (or parameters and tokens)")
        x = np.log(flops / 1e21)
        frames = []
        for bench in self.targets_:
            intercept, slope = self.coef_[bench]
            z = intercept + slope * x
            half = self.half_width_[bench]
            chance = self.chance_[bench]
            frames.append(
                pl.DataFrame(
                    {
                        "model_id": query.models["model_id"],
                        "benchmark": [bench] * query.models.height,
                        "prediction": _expit(z, chance),
                        "lower": _expit(z - half, chance),
                        "upper": _expit(z + half, chance),
                    }
                )
            )
        return pl.concat(frames)

    def store_extras(self, conn: Any, fit_id: str) -> None:
        """Write this fit's lines to our own table (created by our migration; see __init__.py)."""
        from obslaws.store import upsert

        rows = [
            {
                "fit_id": fit_id,
                "benchmark": bench,
                "intercept": a,
                "slope": b,
                "logit_half_width": self.half_width_[bench],
            }
            for bench, (a, b) in self.coef_.items()
        ]
        upsert(conn, "logit_linear_lines", pl.DataFrame(rows))

    def learned_parameters(self) -> dict[str, Any]:
        return {
            bench: {"intercept": a, "slope_per_log_flops": b, "logit_half_width": self.half_width_[bench]}
            for bench, (a, b) in self.coef_.items()
        }


def _logit(y: np.ndarray, chance: float) -> np.ndarray:
    p = np.clip((y - chance) / (1 - chance), EPS, 1 - EPS)
    return logit(p)


def _expit(z: np.ndarray, chance: float) -> np.ndarray:
    return chance + (1 - chance) * expit(z)
