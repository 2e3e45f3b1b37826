"""The ``sloth`` and ``size-tokens`` fitters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws.fitting.kernels import WhenKernelLoads
from obslaws_sloth.design import (
    BASES,
    LEARNING_RATES,
    Design,
    build_design,
    covariates_in_log10,
    query_weights,
    slopes_in_log10,
)
from obslaws_sloth.intervals import half_width
from obslaws_sloth.rotation import Interpretation, interpret
from obslaws_sloth.store import skill_tables, write_skills

if TYPE_CHECKING:  # the engine (torch) is imported when a fit runs: registering needs none
    from obslaws_sloth.engine import Member
    from obslaws_sloth.optimiser import Schedule

NEEDS = frozenset({"params", "tokens", "family"})

# The default: an ensemble over every d from 1 to 4 and 3 seeds, each fit at one learning rate for
# at most 5,000 steps per stage: averaging over d and seeds removes most of full Sloth's seed-to-seed
# variance and beats any single d; the short fits pay for the twelve members (docs/sloth.md).
DEFAULT_MAX_D = 4
DEFAULT_LEARNING_RATES = (0.01,)
DEFAULT_MAX_STEPS = 5_000
# None: the full stage at the basic stage's learning rates. The cheaper optimiser (a cosine from
# 0.06 over 2,000 steps per stage) is an option, not the default: docs/speed.md.
DEFAULT_FULL_LEARNING_RATES: tuple[float, ...] | None = None
DEFAULT_FULL_SCHEDULE = "plateau"
SCHEDULES = ("plateau", "cosine")
# The paper's configuration (upstream code): one d, every learning rate, run to convergence.
UPSTREAM_MAX_STEPS = 100_000


@dataclass(frozen=True)
class Fit:
    """One member of the ensemble: ``d``, seed, the fitted model and the basic fit it grew from."""

    d: int
    seed: int
    model: Member
    basic: Member


def _as_tuple(value: int | Sequence[int]) -> tuple[int, ...]:
    return (int(value),) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


class SlothFitter(Fitter):
    """Skills scaling laws (Polo et al. 2024): a few latent skills, grown from size and tokens
    with shared slopes and a per-family intercept, drive every benchmark.

    Parameters
    ----------
    d:
        Number of skills, or several (the prediction then averages the fits of every ``d``);
        ``None`` (default): every d from 1 to 4, or to the number of benchmarks if fewer.
    link:
        ``"full"`` (per-benchmark monotone network and learned asymptote, fitted from the
        basic fit) or ``"basic"`` (logistic link, asymptote fixed at the chance level).
    restarts:
        Fits per ``d`` from different seeds (``random_state``, ``random_state + 1``, ...); default 3.
    combine:
        ``"mean"`` averages the predictions of all fits (restarts and ``d`` values);
        ``"best"`` keeps, per ``d``, the restart with the lowest training MAE (upstream
        practice), then averages over ``d``.
    select_d:
        ``"none"`` (default): use every ``d`` given; ``"inner-cv"``: with several ``d``, pick one per fit
        by an inner family-holdout of basic Sloth on the training families
        (:mod:`obslaws_sloth.selection`), then fit only that ``d``.
    cv_folds:
        Folds of family groups in that inner holdout.
    random_state:
        First seed; fits are deterministic on CPU for a given seed and data.
    interval:
        Nominal coverage of the prediction intervals.
    covariate_basis:
        ``"log10"`` (default): log10 N, log10 D and their product; ``"upstream"``: natural
        logarithms in the order of the paper's experiment code (``ln D, ln N, ln N ln D``). The
        model is the same; the optimiser's path from a seed is not, so replaying the paper's
        runs needs its basis. Slopes are reported on the log10 covariates either way.
    learning_rates, max_iter, n_iter_no_change:
        The optimiser: every learning rate is tried and the lowest training MAE kept; a run
        stops after ``n_iter_no_change`` steps without a 1e-5 gain in training MAE, or after
        ``max_iter`` steps (per stage). Default: 0.01 only, 5,000 steps.
    full_learning_rates, full_schedule:
        The full stage's own learning rates (``None``, the default: ``learning_rates``) and
        schedule: ``"plateau"`` (upstream's ``ReduceLROnPlateau``, the default) or ``"cosine"``
        (from the learning rate to 0 over ``max_iter`` steps). ``full_learning_rates=(0.06,)``
        with ``"cosine"`` and ``max_iter=2000`` takes about half the default's CPU for backtests
        0.02-0.11 points worse at one seed (docs/speed.md), so it is an option only.

    :meth:`SlothFitter.upstream` builds the paper's configuration.
    """

    name: ClassVar[str] = "sloth"
    # A quick configuration for the conformance suite (obslaws.testing.check_fitter).
    check_hyperparameters: ClassVar[dict[str, Any]] = {
        "d": 1,
        "restarts": 1,
        "select_d": "none",
        "learning_rates": (0.1,),
        "max_iter": 150,
    }
    version: ClassVar[str] = "2"
    # The kernel fits each fold alone (a batch's padding adds exact zeros): the same bits beside any
    # folds. The torch fallback rounds by batch (tests/test_sloth_kernel.py, docs/speed.md).
    batch_invariant = WhenKernelLoads("obslaws_sloth.kernel", "sloth", "the torch engine")
    requires: ClassVar[Requirements] = Requirements(needs=NEEDS, min_models=4, default_benchmarks="oll-all")

    def __init__(
        self,
        *,
        d: int | Sequence[int] | None = None,
        link: str = "full",
        restarts: int = 3,
        combine: str = "mean",
        select_d: str = "none",
        cv_folds: int = 4,
        random_state: int = 0,
        interval: float = 0.9,
        covariate_basis: str = "log10",
        learning_rates: Sequence[float] = DEFAULT_LEARNING_RATES,
        max_iter: int = DEFAULT_MAX_STEPS,
        n_iter_no_change: int = 500,
        full_learning_rates: Sequence[float] | None = DEFAULT_FULL_LEARNING_RATES,
        full_schedule: str = DEFAULT_FULL_SCHEDULE,
    ) -> None:
        self.d = d
        self.link = link
        self.restarts = restarts
        self.combine = combine
        self.select_d = select_d
        self.cv_folds = cv_folds
        self.random_state = random_state
        self.interval = interval
        self.covariate_basis = covariate_basis
        self.learning_rates = learning_rates
        self.max_iter = max_iter
        self.n_iter_no_change = n_iter_no_change
        self.full_learning_rates = full_learning_rates
        self.full_schedule = full_schedule

    @classmethod
    def upstream(cls, d: int, **options: Any) -> SlothFitter:
        """The paper's configuration: one ``d``, one seed, learning rates 0.1, 0.01 and 0.001
        each run to convergence, the lowest training MAE kept, the experiment code's covariates
        (``options`` override any of it; the paper's runs used ``random_state=42``)."""
        settings: dict[str, Any] = {
            "d": d,
            "covariate_basis": "upstream",
            "restarts": 1,
            "select_d": "none",
            "learning_rates": LEARNING_RATES,
            "max_iter": UPSTREAM_MAX_STEPS,
            "full_learning_rates": None,
            "full_schedule": "plateau",
        }
        return cls(**(settings | options))

    # -- fitting -------------------------------------------------------------------------------

    def _check(self) -> None:
        if self.link not in ("full", "basic"):
            raise FitterError(f"sloth: link must be 'full' or 'basic', not {self.link!r}")
        if self.combine not in ("mean", "best"):
            raise FitterError(f"sloth: combine must be 'mean' or 'best', not {self.combine!r}")
        if int(self.restarts) < 1 or (self.d is not None and not all(v >= 1 for v in _as_tuple(self.d))):
            raise FitterError("sloth: restarts and d must be >= 1")
        if self.select_d not in ("none", "inner-cv"):
            raise FitterError(f"sloth: select_d must be 'none' or 'inner-cv', not {self.select_d!r}")
        if self.covariate_basis not in BASES:
            raise FitterError(f"sloth: covariate_basis must be one of {BASES}, not {self.covariate_basis!r}")
        if self.full_schedule not in SCHEDULES:
            raise FitterError(f"sloth: full_schedule must be one of {SCHEDULES}, not {self.full_schedule!r}")
        if not 0 < float(self.interval) < 1:
            raise FitterError(f"sloth: interval must be in (0, 1), not {self.interval}")

    def _candidates(self, n_bench: int) -> tuple[int, ...]:
        if self.d is None:
            return tuple(range(1, min(DEFAULT_MAX_D, n_bench) + 1))
        return _as_tuple(self.d)

    def _schedule(self) -> Schedule:
        from obslaws_sloth.optimiser import Schedule

        return Schedule(max_steps=int(self.max_iter), stop_patience=int(self.n_iter_no_change))

    def _full_stage(self) -> tuple[tuple[float, ...] | None, Schedule]:
        """The full stage's learning rates (None: the basic stage's) and schedule."""
        rates = None if self.full_learning_rates is None else tuple(self.full_learning_rates)
        return rates, replace(self._schedule(), cosine=self.full_schedule == "cosine")

    def _fit(self, data: FitData) -> None:
        self._check()
        fitted, chosen = self._fit_datas([data.with_targets(self.targets_)])
        self._adopt(fitted[0])
        self.selection_ = chosen[0]

    def _fit_datas(self, datas: Sequence[FitData]) -> tuple[list[tuple[Design, list[Fit]]], list[dict[int, float]]]:
        """Select ``d`` (if asked), then fit every member on every data set in one batched program."""
        from obslaws_sloth.engine import fit_many
        from obslaws_sloth.selection import select_d

        n_bench = len(datas[0].targets)
        candidates = self._candidates(n_bench)
        if max(candidates) > n_bench:
            raise FitterError(f"sloth: d={max(candidates)} skills for {n_bench} benchmarks; use d <= J")
        designs = [build_design(data, list(data.targets), self.covariate_basis) for data in datas]
        for design, data in zip(designs, datas, strict=True):
            # a benchmark without one training score gets the loadings and link it started from
            lacking = [b for b, n in zip(data.targets, (~np.isnan(design.y)).sum(axis=0), strict=True) if n == 0]
            if lacking:
                raise FitterError(f"sloth: no training scores for {lacking}")
        if self.select_d == "inner-cv" and len(candidates) > 1:
            chosen, scores = select_d(
                datas,
                candidates,
                folds=int(self.cv_folds),
                seed=int(self.random_state),
                lrs=tuple(self.learning_rates),
                schedule=self._schedule(),
                basis=self.covariate_basis,
            )
            per_data = [(d,) for d in chosen]
        else:
            scores = [{} for _ in datas]
            per_data = [candidates for _ in datas]
        seeds = [int(self.random_state) + r for r in range(int(self.restarts))]
        # Every (data set, d, seed) in one batched program: smaller d are padded (engine.fit_many).
        problems = [(i, d, seed) for d in candidates for i, ds in enumerate(per_data) if d in ds for seed in seeds]
        full_lrs, full_schedule = self._full_stage()
        fits = fit_many(
            [designs[i] for i, _, _ in problems],
            [seed for _, _, seed in problems],
            [d for _, d, _ in problems],
            full=self.link == "full",
            lrs=tuple(self.learning_rates),
            schedule=self._schedule(),
            full_lrs=full_lrs,
            full_schedule=full_schedule,
        )
        out: list[list[Fit]] = [[] for _ in designs]
        for (i, d, seed), (basic, full) in zip(problems, fits, strict=True):
            out[i].append(Fit(d, seed, full if full is not None else basic, basic))
        return list(zip(designs, out, strict=True)), scores

    def _adopt(self, fitted: tuple[Design, list[Fit]]) -> None:
        design, members = fitted
        if self.combine == "best":
            members = [
                min((m for m in members if m.d == d), key=lambda m: m.model.train_mae)
                for d in sorted({m.d for m in members})
            ]
        self.design_ = design
        self.members_ = members
        # In-sample residual scale per benchmark, the noise part of the intervals.
        fitted_y = self._ensemble(design.x, np.eye(len(design.families))[design.fam])
        resid = design.y - fitted_y.mean(axis=0)
        self.residual_sd_ = np.sqrt(np.nanmean(resid**2, axis=0))
        self.train_mae_ = float(np.nanmean(np.abs(resid)))

    def fit_many(self, datas: Sequence[FitData]) -> list[SlothFitter]:
        """Fit independent clones on several data sets at once (for backtests): equal to
        ``[self.clone().fit(d) for d in datas]``, to the bit where the compiled kernel runs."""
        self._check()
        clones = self.clones_for(datas)
        if len({c.targets_ for c in clones}) > 1:
            raise FitterError("sloth: fit_many needs the same targets in every data set")
        fitted, chosen = self._fit_datas(list(datas))
        for clone, one, scores in zip(clones, fitted, chosen, strict=True):
            clone._adopt(one)
            clone.selection_ = scores
        return clones

    # -- prediction ----------------------------------------------------------------------------

    def _ensemble(self, x: np.ndarray, weights: np.ndarray, models: Sequence[Member] | None = None) -> np.ndarray:
        """Predictions of every member, shape (members, Q, J)."""
        models = models if models is not None else [m.model for m in self.members_]
        return np.stack([m.predict(x, weights, self.design_.chance) for m in models])

    def _adapt(self, query: FitData) -> tuple[list[Member] | None, list[str]]:
        """Members with intercepts fitted for unseen families that have scored models in ``query``."""
        from obslaws_sloth.engine import adapt_intercepts

        known = set(self.design_.families)
        scored = query.scores.filter(pl.col("benchmark").is_in(list(self.targets_)) & pl.col("value").is_not_null())
        models = query.models.filter(
            pl.col("model_id").is_in(scored["model_id"].unique().implode()) & ~pl.col("family").is_in(list(known))
        )
        if not models.height:
            return None, []
        new = sorted(set(models["family"].to_list()))
        y = query.select_models(models["model_id"].to_list()).matrix(list(self.targets_))
        y = models.select("model_id").join(y, on="model_id", how="left").select(list(self.targets_)).to_numpy()
        firsts = models.unique("family", keep="first", maintain_order=True)
        order = {f: i for i, f in enumerate(firsts["family"].to_list())}
        start = query_weights(self.design_, firsts)[[order[f] for f in new]]
        fam = np.array([new.index(f) for f in models["family"].to_list()])
        x = self.design_.covariates(models)
        adapted = adapt_intercepts(
            [m.model for m in self.members_], x, fam, y.astype(float), self.design_.chance, start, self._schedule()
        )
        return adapted, new

    def _predict(self, query: FitData) -> pl.DataFrame:
        models = query.models
        bad = models.filter(pl.col("params").is_null() | pl.col("tokens").is_null())
        if bad.height:
            raise FitterError(f"sloth: query model(s) {bad['model_id'].to_list()[:5]} lack params or tokens")
        x = self.design_.covariates(models)
        weights = query_weights(self.design_, models)
        adapted, new = self._adapt(query)
        if adapted is not None:
            # Models of a newly scored family use its fitted intercept.
            extra = np.zeros((models.height, len(new)))
            for row, family in enumerate(models["family"].to_list()):
                if family in new:
                    weights[row] = 0.0
                    extra[row, new.index(family)] = 1.0
            weights = np.hstack([weights, extra])
        preds = self._ensemble(x, weights, adapted)
        mean = preds.mean(axis=0)
        members = [m.model for m in self.members_] if adapted is None else adapted
        half = half_width(self.design_, members, self.residual_sd_, float(self.interval), x, weights, preds)
        ids = models["model_id"].to_list()
        rows: dict[str, list[Any]] = {"model_id": [], "benchmark": [], "prediction": [], "lower": [], "upper": []}
        for j, bench in enumerate(self.targets_):
            rows["model_id"] += ids
            rows["benchmark"] += [bench] * len(ids)
            rows["prediction"] += mean[:, j].tolist()
            rows["lower"] += np.clip(mean[:, j] - half[:, j], 0, 1).tolist()
            rows["upper"] += np.clip(mean[:, j] + half[:, j], 0, 1).tolist()
        return pl.DataFrame(rows)

    def learned_parameters(self) -> dict[str, Any]:
        out = super().learned_parameters()
        out["families"] = list(self.design_.families)
        out["train_mae"] = self.train_mae_
        out["inner_cv_mae"] = {str(k): v for k, v in getattr(self, "selection_", {}).items()}
        out["members"] = [
            {
                "d": m.d,
                "seed": m.seed,
                "lr": m.model.lr,
                "steps": m.model.steps,
                "train_mae": m.model.train_mae,
                **{k: v.tolist() for k, v in m.model.blocks().items()},
            }
            for m in self.members_
        ]
        return out

    # -- interpretation ------------------------------------------------------------------------

    def interpretation(self, method: str = "oblimin") -> Interpretation:
        """Whitened, oblique-rotated skills of the member with the lowest training MAE.

        The members of an ensemble are not aligned with each other (skills are identified only
        up to rotation), so one member is interpreted; ``method`` is ``oblimin`` or ``geomin``.
        """
        if not self.is_fitted():
            raise FitterError("sloth: call fit(data) before interpretation()")
        best = min(self.members_, key=lambda m: m.model.train_mae)
        blocks = best.model.blocks()
        design = self.design_
        onehot = np.eye(len(design.families))[design.fam]
        # Skills do not depend on the basis; slopes are reported on the log10 covariates.
        slopes = slopes_in_log10(blocks["B"], design.basis)
        x = covariates_in_log10(design.x, design.basis)
        return interpret(slopes, blocks["alpha"], blocks["lam"], blocks["c"], x, onehot, method)

    def skill_tables(self, fit_id: str = "", method: str = "oblimin") -> dict[str, pl.DataFrame]:
        """Skill values, loadings, slopes and family intercepts as frames (the tables of its migration 001)."""
        return skill_tables(
            fit_id, self.design_.model_ids, list(self.targets_), self.design_.families, self.interpretation(method)
        )

    def store_extras(self, conn: Any, fit_id: str) -> None:
        """Write this fit's skills to ``skill_values``, ``skill_loadings``, ``skill_slopes`` and
        ``skill_family_intercepts`` (called by ``fit_and_store`` after the ``fits`` row)."""
        write_skills(conn, self.skill_tables(fit_id))
