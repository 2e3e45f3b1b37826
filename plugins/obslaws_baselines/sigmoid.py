"""Compute baselines of the Sloth paper: a sigmoid in log FLOPs per benchmark.

- ``flops-sigmoid``: y = g + (1 - g) sigmoid(a + b log C), one law per benchmark, one
  intercept shared by every family ("FLOPs (shared intercept)" in the paper);
- ``flops-sigmoid-family``: the same with one intercept per (fine-grained) family
  ("FLOPs" in the paper): a family's efficiency shifts its curve along log compute.

The lower asymptote g starts at the benchmark's chance level (logit(chance + 1e-5) as
upstream: a chance of 0 starts at 0) and is learned, for every benchmark, as in the paper's
code; ``learn_floor=False`` fixes it at chance. Fitting follows the paper's optimiser exactly
(see :mod:`.engine`); on the paper's protocol the per-benchmark MAEs match its published
per-model errors to within 0.05 points.

Intervals (``interval`` is the nominal coverage, ``interval_scale`` widens them): per benchmark,
the quantile of the absolute training residuals; the family model adds a width that grows with
the distance, in log compute, from the nearest training model of the same family, at the rate
its training families show when re-anchored on their smallest model alone (a family fitted
from one model is exact there and drifts away from it). The backtests measure the coverage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws import Fitter, Requirements
from obslaws.data import FitData, prediction_frame
from obslaws.errors import FitterError
from obslaws.threads import apply_threads

from .engine import SigmoidFit, SigmoidSet, fit_sigmoid_sets, sigmoid


def _flops(models: pl.DataFrame) -> np.ndarray:
    """FLOPs, or 6 N D where FLOPs are missing."""
    flops = models.select(pl.coalesce("flops", 6.0 * pl.col("params") * pl.col("tokens")))
    return flops.to_series().cast(pl.Float64).to_numpy()


class FlopsSigmoidFitter(Fitter):
    """Sigmoid of log FLOPs per benchmark with a learned lower asymptote; shared intercept."""

    name: ClassVar[str] = "flops-sigmoid"
    version: ClassVar[str] = "1"
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"flops"}), min_models=3)
    family_intercepts: ClassVar[bool] = False
    check_hyperparameters: ClassVar[dict[str, Any]] = {"n_iter_no_change": 100}

    def __init__(
        self,
        *,
        learning_rates: tuple[float, ...] = (0.1, 0.01, 0.001),
        huber_delta: float = 0.01,
        learn_floor: bool = True,
        n_iter_no_change: int = 500,
        tol: float = 1e-5,
        lr_patience: int = 20,
        lr_factor: float = 0.95,
        max_iter: int = 100_000,
        flops_unit: float = 1e21,
        interval: float = 0.9,
        interval_scale: float = 1.0,
        random_state: int = 42,
    ) -> None:
        self.learning_rates = learning_rates
        self.huber_delta = huber_delta
        self.learn_floor = learn_floor
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.max_iter = max_iter
        self.flops_unit = flops_unit
        self.interval = interval
        self.interval_scale = interval_scale
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------

    def _families(self, models: pl.DataFrame) -> list[str]:
        if not self.family_intercepts:
            return ["*"]
        return sorted(models["family"].fill_null("<none>").unique().to_list())

    def _codes(self, models: pl.DataFrame, families: list[str]) -> np.ndarray:
        if not self.family_intercepts:
            return np.zeros(models.height, dtype=int)
        index = {f: i for i, f in enumerate(families)}
        return np.array([index.get(f, -1) for f in models["family"].fill_null("<none>").to_list()], dtype=int)

    def _init(self, n_families: int) -> dict[str, np.ndarray]:
        """Starting values drawn as the upstream code draws them (torch, seeded)."""
        import torch  # only to draw the same starting values as upstream; imported when fitting

        gen = torch.Generator().manual_seed(int(self.random_state))
        w = torch.normal(0.0, 1.0, size=(1, 1), generator=gen).abs()
        a = torch.normal(0.0, 1.0, size=(n_families, 1), generator=gen)
        b = torch.normal(0.0, 1.0, size=(1, 1), generator=gen)
        return {"w": w.double().numpy()[0, 0], "a": a.double().numpy()[:, 0], "b": b.double().numpy()[0, 0]}

    def _options(self) -> dict[str, Any]:
        """The optimiser's settings (:func:`.engine.fit_sigmoid_sets`)."""
        return {
            "lrs": tuple(float(v) for v in self.learning_rates),
            "huber_delta": float(self.huber_delta),
            "learn_floor": bool(self.learn_floor),
            "patience": int(self.n_iter_no_change),
            "tol": float(self.tol),
            "lr_patience": int(self.lr_patience),
            "lr_factor": float(self.lr_factor),
            "max_steps": int(self.max_iter),
        }

    def _problem(self, data: FitData) -> SigmoidSet:
        """The training models with FLOPs and scores, as the engine's data set (sets ``families_``)."""
        if not (0 < float(self.interval) < 1):
            raise FitterError(f"{self.name}: interval must be in (0, 1), not {self.interval}")
        targets = list(self.targets_)
        flops = _flops(data.models)
        keep = np.isfinite(flops) & (flops > 0)
        models = data.models.filter(pl.Series(keep))
        wide = data.select_models(models["model_id"]).matrix(targets)
        y = wide.select(targets).to_numpy().astype(float)
        observed = ~np.isnan(y)
        has_any = observed.any(axis=1)
        models, y, observed = models.filter(pl.Series(has_any)), y[has_any], observed[has_any]
        x = np.log(flops[keep][has_any] / float(self.flops_unit))
        if models.height < self.requires.min_models:
            raise FitterError(f"{self.name}: {models.height} training models with FLOPs and scores; need 3")
        lacking = [t for t, n in zip(targets, observed.sum(axis=0), strict=True) if n == 0]
        if lacking:
            raise FitterError(f"{self.name}: no training scores for {lacking}")
        self.families_ = self._families(models)
        codes = self._codes(models, self.families_)
        chance = np.array([data.chance(t) for t in targets])
        n_families = len(self.families_)
        return SigmoidSet(x, codes, n_families, np.nan_to_num(y), observed, chance, self._init(n_families))

    def _fit(self, data: FitData) -> None:
        problem = self._problem(data)
        self._adopt(problem, fit_sigmoid_sets([problem], **self._options())[0])

    def fit_many(self, datas: Sequence[FitData]) -> list[FlopsSigmoidFitter]:
        """Fit one clone per data set (a backtest's folds) in one batched program.

        Equal to ``[self.clone().fit(d) for d in datas]``, to the bit (the engine's sums do not
        see a fold's padding): every (fold, benchmark, learning rate) is one problem of the same
        optimiser loop, so the loop's per-step overhead is paid once rather than once per fold.
        """
        clones = self.clones_for(datas)
        problems = [clone._problem(data) for clone, data in zip(clones, datas, strict=True)]
        if not problems:
            return []
        apply_threads()
        for clone, problem, fit in zip(clones, problems, fit_sigmoid_sets(problems, **self._options()), strict=True):
            clone._adopt(problem, fit)
        return clones

    def _adopt(self, problem: SigmoidSet, fit: SigmoidFit) -> None:
        """Keep ``fit`` and the intervals it implies on its training data."""
        x, codes, y, observed = problem.x, problem.family, problem.y, problem.observed
        self.slope_ = fit.slope
        self.offsets_ = fit.offsets
        self.floor_ = fit.floor
        self.lr_ = fit.lr
        self.train_mae_ = fit.train_mae
        self.steps_ = fit.steps
        pred = self._curve(x, fit.offsets[:, codes].T)
        resid = np.where(observed, np.abs(pred - y), np.nan)
        level, scale = float(self.interval), float(self.interval_scale)
        self.half_width_ = scale * np.nanquantile(resid, level, axis=0)
        if self.family_intercepts:
            self._fit_extrapolation_widths(x, codes, y, observed, level, scale)

    def _fit_extrapolation_widths(
        self, x: np.ndarray, codes: np.ndarray, y: np.ndarray, observed: np.ndarray, level: float, scale: float
    ) -> None:
        """How fast errors grow with the distance (in log compute) from a family's known models.

        For every training family with two or more models, re-anchor its curve on its smallest
        model alone (as the family hold-out does with n = 1) and measure the errors on its other
        models; their ``level`` quantile per unit of log compute (distances under one count as one)
        is the growth rate. A family not
        seen in training gets the quantile of the errors made with the mean family intercept.
        """
        n_bench = y.shape[1]
        rates = np.zeros(n_bench)
        g = self.floor_
        for j in range(n_bench):
            ratios = []
            for code in np.unique(codes):
                members = np.flatnonzero((codes == code) & observed[:, j])
                if members.size < 2:
                    continue
                anchor = members[np.argmin(x[members])]
                p0 = np.clip((y[anchor, j] - g[j]) / (1 - g[j]), 1e-4, 1 - 1e-4)
                offset = np.log(p0 / (1 - p0)) - self.slope_[j] * x[anchor]
                others = members[members != anchor]
                pred = g[j] + (1 - g[j]) * sigmoid(self.slope_[j] * x[others] + offset)
                ratios.extend(np.abs(pred - y[others, j]) / np.maximum(x[others] - x[anchor], 1.0))
            rates[j] = np.quantile(ratios, level) if ratios else 0.0
        self.extrapolation_rate_ = scale * rates
        self.family_log_flops_ = {self.families_[code]: np.sort(x[codes == code]).tolist() for code in np.unique(codes)}
        mean_pred = self._curve(x, np.broadcast_to(self.offsets_.mean(axis=1), (x.size, n_bench)))
        self.unseen_half_width_ = scale * np.nanquantile(
            np.where(observed, np.abs(mean_pred - y), np.nan), level, axis=0
        )

    def _half_widths(self, query: FitData, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Interval half-widths (n, J) for the query models."""
        if not self.family_intercepts:
            return np.broadcast_to(self.half_width_, (x.size, self.half_width_.size))
        out = np.empty((x.size, self.half_width_.size))
        for i, code in enumerate(codes):
            if code < 0:
                out[i] = self.unseen_half_width_
                continue
            known = np.asarray(self.family_log_flops_[self.families_[code]])
            distance = float(np.min(np.abs(known - x[i])))
            out[i] = self.half_width_ + self.extrapolation_rate_ * distance
        return out

    def _curve(self, x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Predictions (n, J) for log-compute ``x`` (n,) and per-model offsets (n, J)."""
        z = x[:, None] * self.slope_[None, :] + offsets
        return self.floor_[None, :] + (1 - self.floor_[None, :]) * sigmoid(z)

    # -- prediction ----------------------------------------------------------------------------

    def _predict(self, query: FitData) -> pl.DataFrame:
        flops = _flops(query.models)
        bad = ~(np.isfinite(flops) & (flops > 0))
        if bad.any():
            missing = query.models.filter(pl.Series(bad))["model_id"].to_list()
            raise FitterError(f"{self.name}: no FLOPs (nor parameters and tokens) for {missing[:3]}")
        x = np.log(flops / float(self.flops_unit))
        codes = self._codes(query.models, self.families_)
        # A family never seen in training gets the mean of the training families' intercepts.
        mean_offset = self.offsets_.mean(axis=1)
        offsets = np.where(codes[:, None] >= 0, self.offsets_[:, np.maximum(codes, 0)].T, mean_offset[None, :])
        pred = self._curve(x, offsets)
        half = self._half_widths(query, x, codes)
        lower = np.clip(pred - half, 0.0, 1.0)
        upper = np.clip(pred + half, 0.0, 1.0)
        n, n_bench = pred.shape
        return prediction_frame(
            np.repeat(query.models["model_id"].to_numpy(), n_bench).tolist(),
            np.tile(np.array(self.targets_, dtype=object), n).tolist(),
            pred.ravel(),
            lower.ravel(),
            upper.ravel(),
        )

    def learned_parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"targets": list(self.targets_), "flops_unit": float(self.flops_unit)}
        for j, bench in enumerate(self.targets_):
            entry: dict[str, Any] = {
                "slope_per_log_flops": float(self.slope_[j]),
                "floor": float(self.floor_[j]),
                "learning_rate": float(self.lr_[j]),
                "train_mae": float(self.train_mae_[j]),
                "steps": int(self.steps_[j]),
                "interval_half_width": float(self.half_width_[j]),
            }
            if self.family_intercepts:
                entry["family_intercepts"] = {
                    f: float(v) for f, v in zip(self.families_, self.offsets_[j], strict=True)
                }
            else:
                entry["intercept"] = float(self.offsets_[j, 0])
            out[bench] = entry
        return out


class FlopsSigmoidFamilyFitter(FlopsSigmoidFitter):
    """Sigmoid of log FLOPs per benchmark with one intercept per (fine-grained) family."""

    name: ClassVar[str] = "flops-sigmoid-family"
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"flops", "family"}), min_models=3)
    family_intercepts: ClassVar[bool] = True
