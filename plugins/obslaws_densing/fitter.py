"""The ``densing`` fitter: capacity density against a named reference family, and its trend.

``fit`` (1) fits a reference curve per target benchmark on the reference family, (2) inverts it
for every model with all target scores (effective size = geometric mean over the benchmarks of
the per-benchmark effective sizes; density = effective / actual active parameters), (3) fits
ln rho_max = A t + B over the upper envelope by release date (bootstrap interval) and, for
prediction, the typical trend ln rho = a t + b over all dated models.

``predict`` gives a model's score from its size and release date: effective size
N * exp(a t + b) (the typical density of its date), then the reference curve; ``lower``/``upper``
use the 10% and 90% quantiles of the residual log densities. A model without a release date gets
the median density of the fitted models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws_densing.family import family_sizes, pick_reference_family, require_rising, require_sizes
from obslaws_densing.reference import DirectReference, TwoStepReference, fit_direct, fit_two_step
from obslaws_densing.trend import DensityTrend, days, fit_trend

METHODS = ("direct", "two-step")


class DensingFitter(Fitter):
    """Capacity density (Xiao et al. 2024, arXiv:2412.04315) against a reference family.

    Parameters
    ----------
    reference_family:
        The family whose size-to-score curve defines effective size; default: the family with the
        most sizes scored on every target. A list names families in order of preference: the first
        that has the sizes on every target and rises with size on each is taken (a refresh that
        backtests on other benchmark suites names a second family for them). Every result names it.
    method:
        ``direct`` (score against log size, any family with >= 4 sizes) or ``two-step`` (the
        paper's loss law and sigmoid, for a reference family with losses on data sets named like
        the benchmarks, inverted at ``d0`` tokens).
    d0:
        Training tokens at which the two-step reference is inverted (1T in the paper).
    variants:
        Model variants whose densities are computed (``base`` models in the paper).
    margin:
        A benchmark counts towards a model's effective size only if its score lies more than
        ``margin`` above the chance level (and below 1 - ``margin``): near chance the inverse is
        undefined. Models with no such benchmark get no density.
    envelope_bin_days:
        ``None``: the envelope is the models that set a density record when released; a number:
        the densest model of each period of that many days (e.g. 91 for quarters).
    since:
        ISO date; the trend uses models released on or after it (``None``: all dated models).
    n_bootstrap, interval, random_state:
        Bootstrap resamples, nominal coverage and seed for the trend's interval.
    """

    name = "densing"
    check_hyperparameters: ClassVar[dict[str, Any]] = {"n_bootstrap": 20}
    version = "1"
    requires = Requirements(
        needs=frozenset({"params", "family", "release_date", "scores"}),
        min_models=6,
        default_benchmarks=("mmlu", "gsm8k", "humaneval"),  # knowledge, math and code
    )

    def __init__(
        self,
        *,
        reference_family: str | Sequence[str] | None = None,
        method: str = "direct",
        d0: float = 1e12,
        variants: tuple[str, ...] = ("base",),
        margin: float = 0.02,
        since: str | None = None,
        envelope_bin_days: float | None = None,
        n_bootstrap: int = 500,
        interval: float = 0.9,
        random_state: int = 0,
    ) -> None:
        self.reference_family = reference_family
        self.method = method
        self.d0 = d0
        self.variants = variants
        self.margin = margin
        self.since = since
        self.envelope_bin_days = envelope_bin_days
        self.n_bootstrap = n_bootstrap
        self.interval = interval
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------

    def _fit(self, data: FitData) -> None:
        if self.method not in METHODS:
            raise FitterError(f"densing: unknown method {self.method!r}; choose from {METHODS}")
        benches = list(self.targets_)
        wide = data.matrix(benches)
        finals = data.models.filter(pl.col("checkpoint_of").is_null())
        if not 0.0 < self.margin < 0.5:
            raise FitterError(f"densing: margin must lie in (0, 0.5), got {self.margin}")
        self.references_ = self._first_qualifying_reference(data, finals, wide, benches)
        self.densities_ = self._densities(finals, wide, benches)
        dated = self.densities_.filter(pl.col("release_date").is_not_null())
        if self.since is not None:
            dated = dated.filter(pl.col("release_date") >= dt.date.fromisoformat(str(self.since)))
        self.trend_: DensityTrend | None = None
        self.typical_: dict[str, float] = {
            "slope": 0.0,
            "intercept": float(np.log(self.densities_["density"]).median()),
        }
        if dated.height >= 3:
            t = days(dated["release_date"].to_list())
            y = np.log(dated["density"].to_numpy())
            try:
                self.trend_, env = fit_trend(
                    t,
                    y,
                    n_bootstrap=self.n_bootstrap,
                    interval=self.interval,
                    random_state=self.random_state,
                    bin_days=self.envelope_bin_days,
                )
            except ValueError:
                env = np.array([], dtype=int)
            on_env = np.zeros(dated.height, dtype=bool)
            on_env[env] = True
            envelope_ids = set(dated["model_id"].filter(pl.Series(on_env)).to_list())
            self.densities_ = self.densities_.with_columns(
                pl.col("model_id").is_in(list(envelope_ids)).alias("envelope")
            )
            slope, intercept = np.polyfit(t, y, 1) if np.unique(t).size >= 2 else (0.0, float(np.median(y)))
            self.typical_ = {"slope": float(slope), "intercept": float(intercept)}
            resid = y - (slope * t + intercept)
        else:
            self.densities_ = self.densities_.with_columns(pl.lit(False).alias("envelope"))
            resid = np.log(self.densities_["density"].to_numpy()) - self.typical_["intercept"]
        self.typical_["resid_lo"], self.typical_["resid_hi"] = (float(q) for q in np.quantile(resid, [0.1, 0.9]))

    def _first_qualifying_reference(
        self, data: FitData, finals: pl.DataFrame, wide: pl.DataFrame, benches: list[str]
    ) -> dict[str, DirectReference | TwoStepReference]:
        """The reference curves of the first family in ``reference_family``'s order that can define
        effective size on every target (the default: the family ``pick_reference_family`` finds)."""
        named = self.reference_family
        preference = [named] if isinstance(named, str) else list(named or [])
        if not preference:
            preference = [pick_reference_family(finals, wide, benches, data.chance, self.margin)]
        refused: list[str] = []
        for family in preference:
            try:
                return self._fit_references(data, finals, wide, benches, family)
            except FitterError as exc:
                refused.append(str(exc))
        if len(refused) == 1:
            raise FitterError(refused[0])
        raise FitterError(f"densing: no reference family of {preference} qualifies: " + "; ".join(refused))

    def _fit_references(
        self, data: FitData, finals: pl.DataFrame, wide: pl.DataFrame, benches: list[str], family: str
    ) -> dict[str, DirectReference | TwoStepReference]:
        """``family``'s reference curve per benchmark, or a FitterError saying why it cannot define sizes."""
        if finals.filter(pl.col("family") == family).height == 0:
            raise FitterError(f"densing: reference family {family!r} has no models in the data")
        self.reference_family_ = family
        fitted = {b: self._fit_reference(data, family_sizes(finals, wide, family, b), b) for b in benches}
        references = {b: ref for b, (ref, _) in fitted.items()}
        require_rising(family, references, {b: sizes for b, (_, sizes) in fitted.items()}, self.margin)
        return references

    def _fit_reference(
        self, data: FitData, frame: pl.DataFrame, bench: str
    ) -> tuple[DirectReference | TwoStepReference, np.ndarray]:
        """The reference curve on ``bench`` from the family's ``frame`` (family_sizes), and the sizes it saw."""
        if self.method == "direct":
            require_sizes(self.reference_family_, frame, bench)
            params = frame["params"].to_numpy()
            return fit_direct(bench, params, frame["score"].to_numpy(), data.chance(bench)), params
        losses = data.losses.filter(pl.col("dataset") == bench).select("model_id", pl.col("value").alias("loss"))
        tokens = data.models.select("model_id", "tokens")
        frame = frame.join(tokens, on="model_id").join(losses, on="model_id").drop_nulls(["tokens", "loss"])
        if frame.height < 5:
            raise FitterError(
                f"densing: reference family {self.reference_family_!r} has {frame.height} model(s) with tokens, "
                f"a loss on {bench!r} and a score; the two-step reference needs 5"
            )
        params = frame["params"].to_numpy()
        reference = fit_two_step(
            bench, params, frame["tokens"].to_numpy(), frame["loss"].to_numpy(), frame["score"].to_numpy(), self.d0
        )
        return reference, params

    def _densities(self, finals: pl.DataFrame, wide: pl.DataFrame, benches: list[str]) -> pl.DataFrame:
        rows = (
            finals.filter(pl.col("variant").is_in(list(self.variants)) & pl.col("params").is_not_null())
            .join(wide, on="model_id")
            .drop_nulls(benches)
        )
        if rows.height == 0:
            raise FitterError(f"densing: no {list(self.variants)} model has params and scores on all of {benches}")
        logs = np.array([np.log(self.references_[b].effective_params(rows[b].to_numpy())) for b in benches])
        scores = np.array([rows[b].to_numpy() for b in benches])
        floors = np.array([[self.references_[b].to_dict().get("floor", 0.0)] for b in benches])
        usable = (scores > floors + self.margin) & (scores < 1.0 - self.margin)
        n_used = usable.sum(axis=0)
        log_hat = np.where(usable, logs, 0.0).sum(axis=0) / np.maximum(n_used, 1)
        effective = np.exp(log_hat)
        require_finite_sizes(rows["model_id"], effective, benches, usable & ~np.isfinite(logs))
        out = rows.select("model_id", "family", "params", "release_date").with_columns(
            pl.Series("effective_params", effective),
            pl.Series("density", effective / rows["params"].to_numpy()),
            pl.Series("n_benchmarks", n_used, dtype=pl.Int64),
        )
        out = out.filter(pl.col("n_benchmarks") > 0)
        if out.height == 0:
            raise FitterError(f"densing: every model scores within {self.margin} of chance on all of {benches}")
        return out

    # -- prediction --------------------------------------------------------------------------------

    def log_density(self, release_dates: list[dt.date | None]) -> np.ndarray:
        """The typical log density at each release date (the fitted models' median where None)."""
        median = float(np.median(np.log(self.densities_["density"].to_numpy())))
        return np.array(
            [
                median if d is None else self.typical_["slope"] * days([d])[0] + self.typical_["intercept"]
                for d in release_dates
            ]
        )

    def _predict(self, query: FitData) -> pl.DataFrame:
        models = query.models
        if models["params"].null_count():
            bad = models.filter(pl.col("params").is_null())["model_id"][0]
            raise FitterError(f"densing: model {bad!r} has no params; predict needs its size")
        n = models["params"].to_numpy()
        log_rho = self.log_density(models["release_date"].to_list())
        frames = []
        for bench in self.targets_:
            ref = self.references_[bench]
            frames.append(
                models.select("model_id").with_columns(
                    pl.lit(bench).alias("benchmark"),
                    pl.Series("prediction", ref.score(n * np.exp(log_rho)), dtype=pl.Float64),
                    pl.Series("lower", ref.score(n * np.exp(log_rho + self.typical_["resid_lo"])), dtype=pl.Float64),
                    pl.Series("upper", ref.score(n * np.exp(log_rho + self.typical_["resid_hi"])), dtype=pl.Float64),
                )
            )
        return pl.concat(frames)

    # -- results -------------------------------------------------------------------------------------

    def learned_parameters(self) -> dict[str, Any]:
        return {
            **super().learned_parameters(),
            "reference_family": self.reference_family_,
            "method": self.method,
            "references": {b: r.to_dict() for b, r in self.references_.items()},
            "trend": None if self.trend_ is None else self.trend_.to_dict(),
            "typical": self.typical_,
            "n_densities": self.densities_.height,
        }

    def store_extras(self, conn: Any, fit_id: str) -> None:
        """Write this fit's densities and trend to ``densities`` and ``density_trend`` (its migration 001)."""
        from obslaws_densing.store import write_densities

        write_densities(conn, fit_id, self)


def require_finite_sizes(ids: pl.Series, effective: np.ndarray, benches: list[str], overflowed: np.ndarray) -> None:
    """A FitterError naming the first model whose effective size is zero or infinite, and the
    benchmark(s) whose inverse overflowed for it (a reference curve too flat to invert there)."""
    bad = np.flatnonzero(~np.isfinite(effective) | (effective <= 0))
    if bad.size:
        i = int(bad[0])
        where = [b for b, hit in zip(benches, overflowed[:, i], strict=True) if hit] or benches
        raise FitterError(
            f"densing: {bad.size} model(s) get an effective size of {effective[i]:.3g}, e.g. {ids[i]!r}: "
            f"the reference curve of {where} is too flat to invert at its score"
        )
