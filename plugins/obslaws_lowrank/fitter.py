"""``lowrank``: observational scaling laws (Ruan, Maddison, Hashimoto 2024) as an obslaws fitter."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.benchmark_sets import OBSSCALING_BASE, resolve_benchmarks
from obslaws.data import FitData, prediction_frame
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws_lowrank.diagnostics import equivalent_compute, family_efficiency, fit_capability_trend
from obslaws_lowrank.intervals import central_interval
from obslaws_lowrank.pipeline import Settings, TargetLaw, fit_target_law

# Targets for which GSM8K is left out of the capability benchmarks (as in the paper).
MATH_TARGET = re.compile(r"arithmetic|gsm8k|math|multiplication|addition|subtraction", re.IGNORECASE)
CAPABILITIES_FROM = ("auto", "scores", "compute")


def _model_columns(models: pl.DataFrame) -> tuple[np.ndarray, list[str], list[str | None]]:
    flops = models["flops"].cast(pl.Float64).to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log10_flops = np.where(flops > 0, np.log10(np.where(flops > 0, flops, 1.0)), np.nan)
    families = [f if f is not None else f"model:{m}" for f, m in zip(models["family"], models["model_id"], strict=True)]
    groups = models["family_group"].to_list()
    return log10_flops, families, groups


class LowRankFitter(Fitter):
    """Observational scaling laws: benchmark scores -> K capabilities (PCA) -> sigmoid link.

    Per target: impute the missing capability-benchmark scores of the training models by
    iterated rank-1 PCA, project onto K mean-centred principal components, fit
    ``y = (1 - b) sigmoid(alpha + beta's) + b`` (b in [0, floor_max]) from several starting
    points keeping the lowest training loss, and bootstrap the training models for intervals.
    A query model with input scores is placed by its scores; one without (family hold-out) by
    its compute and family (shared slope, family intercept: "PCA + FLOPs (adapted)").

    Parameters
    ----------
    input_benchmarks:
        The capability benchmarks: a set name (``obsscaling-base``, ``oll-v1``, ...) or a list.
        The target itself is never an input; inputs scored for fewer than
        ``min_input_coverage`` of the training models are dropped.
    n_components:
        K, the number of principal components (capabilities).
    drop_gsm8k_for_math:
        Leave GSM8K out of the inputs when the target is arithmetic or math (as the paper does).
    ridge:
        Penalty on |beta|^2 added to the training mean squared error; keeps separable data
        from driving the link to a step function.
    n_random_starts:
        Random starting points on top of three deterministic ones (the paper's, and two
        logit-space least-squares fits).
    floor_max:
        Upper bound of the floor b.
    max_slope:
        Bound on each |beta_k sd(PC_k)|, the change of the logit per training standard deviation
        of a capability: the guard against a fit running away to a step function.
    max_logit:
        Bound on |alpha|, the logit at the training models' mean capabilities.
    n_bootstrap:
        Bootstrap replicates over training models for intervals (0: no intervals).
    interval:
        Nominal coverage of the intervals.
    capabilities_from:
        How query models are placed: ``auto`` (their scores when they have any input score,
        else compute and family), ``scores`` or ``compute``.
    reference_family:
        Family whose compute axis "equivalent compute" is expressed on.
    min_input_coverage:
        Minimum share of training models an input benchmark must be scored for.
    impute_tol, impute_max_iter:
        Convergence of the training imputation.
    random_state:
        Seed for random starts, bootstrap and residual draws.

    Examples
    --------
    >>> fitter = LowRankFitter(n_components=3)
    >>> fitter.fit(train).predict(query)  # doctest: +SKIP
    """

    name: ClassVar[str] = "lowrank"
    version: ClassVar[str] = "1"
    # The default capability benchmarks; with other ``input_benchmarks`` the harness still shows
    # every non-target score of the query models, so those are read the same way.
    requires: ClassVar[Requirements] = Requirements(
        needs=frozenset({"flops", "family", "scores"}), input_benchmarks=OBSSCALING_BASE, min_models=6
    )

    def __init__(
        self,
        *,
        input_benchmarks: str | tuple[str, ...] | list[str] = "obsscaling-base",
        n_components: int = 3,
        drop_gsm8k_for_math: bool = True,
        ridge: float = 0.0,
        n_random_starts: int = 4,
        floor_max: float = 0.2,
        max_slope: float = 10.0,
        max_logit: float = 20.0,
        n_bootstrap: int = 200,
        interval: float = 0.9,
        capabilities_from: str = "auto",
        reference_family: str = "llama-2",
        min_input_coverage: float = 0.5,
        impute_tol: float = 1e-6,
        impute_max_iter: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.input_benchmarks = input_benchmarks
        self.n_components = n_components
        self.drop_gsm8k_for_math = drop_gsm8k_for_math
        self.ridge = ridge
        self.n_random_starts = n_random_starts
        self.floor_max = floor_max
        self.max_slope = max_slope
        self.max_logit = max_logit
        self.n_bootstrap = n_bootstrap
        self.interval = interval
        self.capabilities_from = capabilities_from
        self.reference_family = reference_family
        self.min_input_coverage = min_input_coverage
        self.impute_tol = impute_tol
        self.impute_max_iter = impute_max_iter
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        return Settings(
            n_components=int(self.n_components),
            ridge=float(self.ridge),
            n_random_starts=int(self.n_random_starts),
            floor_max=float(self.floor_max),
            max_slope=float(self.max_slope),
            max_logit=float(self.max_logit),
            n_bootstrap=int(self.n_bootstrap),
            impute_tol=float(self.impute_tol),
            impute_max_iter=int(self.impute_max_iter),
            random_state=int(self.random_state),
        )

    def inputs_for(self, target: str, data: FitData) -> tuple[str, ...]:
        """The capability benchmarks used for ``target`` on training data ``data``."""
        names = [b for b in resolve_benchmarks(self.input_benchmarks) if b != target]
        if self.drop_gsm8k_for_math and MATH_TARGET.search(target):
            names = [b for b in names if b != "gsm8k"]
        counts = dict(data.scores.filter(pl.col("benchmark").is_in(names)).group_by("benchmark").len().iter_rows())
        # The share is of the models scored on any input or the target: models the data holds
        # for other benchmarks only (another leaderboard's) are not training models of this law.
        relevant = data.scores.filter(pl.col("benchmark").is_in([*names, target]))["model_id"].n_unique()
        need = max(2, int(np.ceil(self.min_input_coverage * relevant)))
        return tuple(b for b in names if counts.get(b, 0) >= need)

    def _fit(self, data: FitData) -> None:
        if self.capabilities_from not in CAPABILITIES_FROM:
            raise FitterError(
                f"lowrank: capabilities_from must be one of {CAPABILITIES_FROM}, not {self.capabilities_from!r}"
            )
        settings = self._settings()
        self.laws_: dict[str, TargetLaw] = {}
        self.diagnostics_: dict[str, dict[str, Any]] = {}
        for target in data.targets:
            inputs = self.inputs_for(target, data)
            if len(inputs) < 2:
                raise FitterError(
                    f"lowrank: fewer than 2 capability benchmarks scored for target {target!r} "
                    f"(input_benchmarks={self.input_benchmarks!r}); choose input_benchmarks the data has"
                )
            wide = data.matrix([*inputs, target])
            x_all = wide.select(list(inputs)).to_numpy().astype(float)
            y_all = wide[target].cast(pl.Float64).to_numpy().astype(float)
            rows = np.isfinite(y_all) & np.isfinite(x_all).any(axis=1)
            n_needed = settings.n_components + 3
            if rows.sum() < n_needed:
                raise FitterError(
                    f"lowrank: {int(rows.sum())} training models have {target!r} and a capability score; "
                    f"need {n_needed}"
                )
            log10_flops, families, groups = _model_columns(data.models)
            idx = np.flatnonzero(rows)
            all_ids = wide["model_id"].to_list()
            law = fit_target_law(
                target,
                inputs,
                [all_ids[i] for i in idx],
                x_all[rows],
                y_all[rows],
                log10_flops[idx],
                [families[i] for i in idx],
                [groups[i] for i in idx],
                settings,
            )
            self.laws_[target] = law
            self.diagnostics_[target] = self._diagnose(law, wide["model_id"].to_list(), x_all, data)

    def _diagnose(self, law: TargetLaw, ids: list[str], x_all: np.ndarray, data: FitData) -> dict[str, Any]:
        """Family efficiency and equivalent compute for every training model with scores and FLOPs.

        The efficiency table is only written with the fit (:meth:`store_extras`), never for a
        backtest's folds, so what it is computed from is kept and the table made there (about a
        third of a fold's fit was its thousands of per-family line fits).
        """
        log10_flops, families, groups = _model_columns(data.models)
        keep = np.isfinite(x_all).any(axis=1) & np.isfinite(log10_flops)
        out: dict[str, Any] = {"family_efficiency_of": None, "equivalent_compute": [], "reference": None}
        if keep.sum() < 2:
            return out
        pcs = law.capability_scores(x_all[keep])
        logits = law.link.logit(pcs)
        fam = [families[i] for i in np.flatnonzero(keep)]
        grp = [groups[i] for i in np.flatnonzero(keep)]
        lf = log10_flops[keep]
        names = [f"PC{k + 1}" for k in range(pcs.shape[1])] + ["logit"]
        out["family_efficiency_of"] = (np.column_stack([pcs, logits]), names, lf, fam)
        ref = self.reference_family.lower()
        in_ref = np.array([(f or "").lower() == ref or (g or "").lower() == ref for f, g in zip(fam, grp, strict=True)])
        if not in_ref.any():
            return out
        if in_ref.sum() >= 3 and np.ptp(lf[in_ref]) > 0:  # the family's own line
            slope = np.array([np.polyfit(lf[in_ref], pcs[in_ref, k], 1) for k in range(pcs.shape[1])])
            ref_slope, ref_intercept, how = slope[:, 0], slope[:, 1], "own"
        else:  # too few reference models: shared slope, the reference family's intercept
            trend = fit_capability_trend(pcs, lf, fam, grp)
            ref_slope = trend.slope
            ref_intercept = (pcs[in_ref] - np.outer(lf[in_ref], trend.slope)).mean(axis=0)
            how = "shared-slope"
        eq = equivalent_compute(logits, law.link.intercept, law.link.weights, ref_slope, ref_intercept)
        kept_ids = [ids[i] for i in np.flatnonzero(keep)]
        out["equivalent_compute"] = [
            {"model_id": m, "log10_flops": float(v)} for m, v in zip(kept_ids, eq, strict=True) if np.isfinite(v)
        ]
        out["reference"] = {"family": self.reference_family, "n_models": int(in_ref.sum()), "slope": how}
        return out

    # -- prediction ----------------------------------------------------------------------------

    def _query_capabilities(self, law: TargetLaw, query: FitData) -> tuple[np.ndarray, np.ndarray]:
        """Capabilities of the query models (m, K) and which of them came from compute (m,)."""
        x = query.matrix(law.inputs).select(list(law.inputs)).to_numpy().astype(float)
        has_scores = np.isfinite(x).any(axis=1)
        use_compute = (
            ~has_scores if self.capabilities_from == "auto" else np.full(len(x), self.capabilities_from == "compute")
        )
        pcs = np.zeros((len(x), law.capabilities.components.shape[0]))
        if (~use_compute).any():
            if not has_scores[~use_compute].all():
                raise FitterError("lowrank: capabilities_from='scores' but some query models have no input score")
            pcs[~use_compute] = law.capability_scores(x[~use_compute])
        if use_compute.any():
            log10_flops, families, groups = _model_columns(query.models)
            rows = np.flatnonzero(use_compute)
            if law.trend is None or not np.isfinite(log10_flops[rows]).all():
                bad = [query.model_ids[i] for i in rows if not np.isfinite(log10_flops[i])]
                raise FitterError(
                    f"lowrank: query model(s) {bad[:3]} have no input score and no FLOPs (or the training "
                    "models had no FLOPs): nothing to place them by"
                )
            pcs[rows] = law.trend.predict(log10_flops[rows], [families[i] for i in rows], [groups[i] for i in rows])
        return pcs, use_compute

    def _predict(self, query: FitData) -> pl.DataFrame:
        frames = []
        ids = query.models["model_id"].to_list()
        for target, law in self.laws_.items():
            pcs, from_compute = self._query_capabilities(law, query)
            point = law.link.predict(pcs)
            lower = upper = np.full(len(ids), np.nan)
            if law.bootstrap is not None and len(ids):
                rng = np.random.default_rng(self.random_state + 1)
                noise = None
                if from_compute.any() and law.trend is not None:
                    n_boot = len(law.bootstrap.params)
                    pick = rng.integers(0, len(law.trend.residuals), size=(n_boot, len(ids)))
                    noise = law.trend.residuals[pick] * from_compute[None, :, None]
                draws = law.bootstrap.draws(pcs, rng, noise)
                lower, upper = central_interval(draws, float(self.interval))
                lower, upper = np.minimum(lower, point), np.maximum(upper, point)
            frames.append(prediction_frame(ids, target, point, lower, upper))
        return pl.concat(frames)

    # -- reporting -----------------------------------------------------------------------------

    def learned_parameters(self) -> dict[str, Any]:
        """Per target: inputs, loadings, link coefficients, benchmark-space weights, fit health."""
        out: dict[str, Any] = {"targets": list(self.targets_), "laws": {}}
        for target, law in self.laws_.items():
            link = law.link
            out["laws"][target] = {
                "inputs": list(law.inputs),
                "n_train": len(law.train_ids),
                "explained_variance_ratio": law.capabilities.explained_variance_ratio.round(6).tolist(),
                "loadings": law.capabilities.components.round(6).tolist(),
                "intercept": link.intercept,
                "pc_weights": link.weights.round(6).tolist(),
                "floor": link.floor,
                "benchmark_weights": dict(zip(law.inputs, law.benchmark_weights().round(6).tolist(), strict=True)),
                "train_mse": link.mse,
                "max_abs_coefficient": float(np.abs(link.params[:-1]).max()),
                "max_std_slope": float(np.abs(link.weights * law.train_pcs.std(axis=0)).max()),
                "starts_at_best": int((link.losses <= link.loss * (1 + 1e-6) + 1e-15).sum()),
                "n_starts": len(link.losses),
                "impute_iterations": law.imputer.n_iter,
                "trend_slope": None if law.trend is None else law.trend.slope.round(6).tolist(),
                "equivalent_compute_reference": self.diagnostics_[target]["reference"],
            }
        return out

    def store_extras(self, conn: Any, fit_id: str) -> None:
        """Write family efficiency and equivalent compute of this fit (tables of its migration 001)."""
        from obslaws_lowrank.store import write_diagnostics

        tables = {
            target: {**diag, "family_efficiency": family_efficiency(*diag["family_efficiency_of"])}
            if diag["family_efficiency_of"] is not None
            else {**diag, "family_efficiency": []}
            for target, diag in self.diagnostics_.items()
        }
        write_diagnostics(conn, fit_id, tables, self.reference_family)
