"""One configuration of the forecaster, fitted and applied.

The covariate model gives every cell a logit; a model's own scores on other benchmarks (if it
has any) correct it through two residual components, blended: low-rank completion and a ridge
on the most correlated benchmarks.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from .completion import ResidualCompletion, hard_impute
from .correlated import CorrelatedRidge, pairwise_correlation
from .covariate import CovariateModel, NormalEquations, recency, unseen_families
from .design import LEVELS, Design, ModelTable, kept_levels
from .member_domain import member_shift
from .plain import PLAIN_RANK, PlainCompletion, stack
from .scale import weight

COVERAGE = "coverage"
BASE_TERMS = ("log_n", "log_d", "log_n*log_d", "instruct")
EQUATIONS_KEPT = 1  # normal equations a fold keeps (``FoldCache._equations``)
INNER_ITERATIONS = 30  # hard-impute sweeps on inner folds, which only compare configurations


@dataclass(frozen=True)
class Config:
    """The choices the inner folds compare."""

    pooling: float = 1.0
    drift: bool = True  # release date among the covariates
    org: bool = True  # organisations among the pooled levels (an unseen family borrows its organisation's effect)
    domain: bool = False  # the training domain (code models) among the pooled levels
    rank: int = 2
    alpha: float = 1.0
    blend: float = 0.0  # weight of the correlated-benchmark ridge against low rank, where it applies
    svd: float = 0.0  # weight of the logit-svd baseline's prediction (stacked), for models with scores
    inputs: str = COVERAGE  # which input benchmarks the residual components read (matrix.INPUT_RULES)
    svd_rank: int = PLAIN_RANK  # the stacked completion's rank (the baseline's 2, or 1 on sparse matrices)
    weighted: bool = False  # the correlated ridge weighs training models by p (1 - p) of their target score
    # the correlated ridge regresses the target's logits on the inputs' logits (with an intercept), not
    # the covariate model's residuals on theirs: a model far above the training range follows the
    # inputs' line rather than the covariate model's view of it (gsm8k on gsm8k with CoT, MMLU on MMLU-Pro)
    on_logits: bool = False
    # the ridge on logits also reads each target's closest benchmarks beyond the input rule's (matrix.proxy_inputs)
    proxies: bool = False
    # the ridge on logits reads only benchmarks that correlate positively with the target (CorrelatedRidge.positive)
    positive: bool = False
    # the ridge on logits weighs each training model by 0.5 ** (its age in years before the latest
    # training release / recency) (0: every model the same): how the targets follow their closest
    # benchmarks moves with time (chat models, extraction rules), and a later release follows the latest
    recency: float = 0.0
    # (pooling, drift, org, domain) of the covariate model that gives a query model whose family has no
    # training model, and which has no other score, its prediction (None: this configuration's own).
    # With strong family effects the slopes in size and tokens are within-family slopes and a new
    # family gets the average family's level; weaker ones let the slopes carry what separates
    # families (``new_families.py``)
    unseen: tuple[float, bool, bool, bool] | None = None

    @property
    def terms(self) -> tuple[str, ...]:
        return (*BASE_TERMS, "years") if self.drift else BASE_TERMS

    @property
    def levels(self) -> tuple[str, ...]:
        off = {name for name, on in (("org", self.org), ("domain", self.domain)) if not on}
        return tuple(level for level in LEVELS if level not in off)

    def label(self) -> str:
        return (
            f"pooling={self.pooling:g} drift={'on' if self.drift else 'off'} org={'on' if self.org else 'off'}"
            + (" domain=on" if self.domain else "")
            + f" rank={self.rank} alpha={self.alpha:g} blend={self.blend:g}"
            + (f" svd={self.svd:g}" if self.svd else "")
            + (f" svd_rank={self.svd_rank}" if self.svd and self.svd_rank != PLAIN_RANK else "")
            + (f" inputs={self.inputs}" if self.inputs != COVERAGE else "")
            + (" weighted" if self.weighted and self.blend else "")
            + (" on logits" if self.on_logits and self.blend else "")
            + (" with proxies" if self.proxies and self.on_logits and self.blend else "")
            + (" positive only" if self.positive and self.on_logits and self.blend else "")
            + (f" recency={self.recency:g}y" if self.recency and self.on_logits and self.blend else "")
            + (f" new families: {self.unseen_config.label().split(' rank=')[0]}" if self.unseen else "")
        )

    @property
    def unseen_config(self) -> Config:
        """The covariate model's configuration for query models of families without training models."""
        if self.unseen is None:
            return self
        pooling, drift, org, domain = self.unseen
        return replace(self, pooling=pooling, drift=drift, org=org, domain=domain, unseen=None)


def ridge_weights(config: Config, z: np.ndarray) -> np.ndarray | None:
    """The correlated ridge's cell weights under ``config`` (None: unweighted)."""
    return weight(z) if config.weighted else None


def logit_ridge(
    config: Config, z: np.ndarray, observed: np.ndarray, table: ModelTable, n_targets: int, correlation=None
) -> CorrelatedRidge:
    """The correlated ridge on logits (``Config.on_logits``), with an intercept, its training models
    (``table``) weighted by recency where ``config`` says so, counted from the latest with a score of
    the first ``n_targets`` columns (``correlation``: ``CorrelatedRidge.fit``'s)."""
    weights = ridge_weights(config, z)
    if config.recency > 0:
        age = recency(table, config.recency, observed[:, :n_targets].any(axis=1))[:, None]
        weights = (np.ones(z.shape) if weights is None else weights) * age
    return CorrelatedRidge(intercept=True, positive=config.positive).fit(z, observed, weights, correlation)


def logit_columns(config: Config, columns: np.ndarray, width: int) -> np.ndarray:
    """The matrix columns the ridge on logits reads: the input rule's, or (``proxies``) every column."""
    return np.arange(width) if config.proxies else columns


def combine(base: np.ndarray, low_rank: np.ndarray, ridge: np.ndarray, blend: float) -> np.ndarray:
    """Target logits: base + the blended residual (low rank alone where the ridge has nothing)."""
    # where the ridge is NaN the blend is computed and discarded (low rank alone is taken)
    mixed = np.where(np.isnan(ridge), low_rank, blend * ridge + (1 - blend) * low_rank)
    return base + mixed


@dataclass
class Engine:
    config: Config
    n_targets: int
    columns: np.ndarray  # the matrix columns the residual components read (targets first)
    covariate: CovariateModel
    completion: ResidualCompletion
    ridge: CorrelatedRidge | None
    plain: PlainCompletion | None
    logit_columns: np.ndarray | None = None  # the columns the ridge reads where it reads logits
    unseen: CovariateModel | None = None  # the covariate model of new families' query models (Config.unseen)

    @classmethod
    def fit(
        cls,
        config: Config,
        table: ModelTable,
        z: np.ndarray,
        observed: np.ndarray,
        n_targets: int,
        columns: np.ndarray | None = None,
    ) -> Engine:
        cols = np.arange(z.shape[1]) if columns is None else columns
        ridge, on_logits = None, None
        if config.on_logits and config.blend > 0:
            on_logits = logit_columns(config, cols, z.shape[1])
            ridge = logit_ridge(config, z[:, on_logits], observed[:, on_logits], table, n_targets)
        width = int(cols.max()) + 1  # the covariate model is needed on the columns the residuals read
        covariate = CovariateModel.fit(
            table, z[:, :width], observed[:, :width], config.terms, config.pooling, config.levels
        )
        z_all, obs_all, z, observed = z, observed, z[:, cols], observed[:, cols]
        residuals = np.where(observed, z - covariate.predict(table)[:, cols], 0.0)
        completion = ResidualCompletion(rank=config.rank, alpha=config.alpha).fit(residuals, observed)
        if config.blend > 0 and not config.on_logits:
            ridge = CorrelatedRidge().fit(residuals, observed, ridge_weights(config, z))
        plain = PlainCompletion.fit(z, observed, config.svd_rank) if config.svd > 0 else None
        unseen = None
        if config.unseen is not None:
            other = config.unseen_config
            unseen = CovariateModel.fit(
                table, z_all[:, :width], obs_all[:, :width], other.terms, other.pooling, other.levels
            )
        return cls(config, n_targets, cols, covariate, completion, ridge, plain, on_logits, unseen)

    def base(self, table: ModelTable, observed: np.ndarray) -> np.ndarray:
        """The covariate model's logits of ``table``'s models (from ``unseen`` for a new family's model
        without other scores, where set)."""
        base = self.covariate.predict(table)
        if self.unseen is None:
            return base
        new = unseen_families(self.covariate.design, table) & ~observed.any(axis=1)
        return np.where(new[:, None], self.unseen.predict(table), base) if new.any() else base

    def member_shift(self, table: ModelTable, observed: np.ndarray) -> np.ndarray:  # member_domain.py
        return member_shift(self.covariate, self.unseen, table, observed.any(axis=1))[:, : self.n_targets]

    def predict(self, table: ModelTable, z: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Target logits (n, n_targets) from covariates and the ``observed`` logits."""
        k, cols, on_logits = self.n_targets, self.columns, self.logit_columns
        logits = (
            None if on_logits is None else self.ridge.predict(z[:, on_logits], observed[:, on_logits], np.arange(k))
        )
        base = self.base(table, observed)[:, cols]  # "no other score" read on every column, as its category is
        z, observed = z[:, cols], observed[:, cols]
        residuals = np.where(observed, z - base, 0.0)
        low_rank = self.completion.predict(residuals, observed)[:, :k]
        if self.ridge is None:
            own = base[:, :k] + low_rank
        else:  # the ridge's residuals: read from them, or (on logits) its logits less the covariate model's
            ridge = self.ridge.predict(residuals, observed, np.arange(k)) if logits is None else logits - base[:, :k]
            own = combine(base[:, :k], low_rank, ridge, self.config.blend)
        if self.plain is None:
            return own
        return stack(own, self.plain.predict(z, observed)[:, :k], observed, self.config.svd)


@dataclass
class FoldCache:
    """One inner fold, with the pieces shared by configurations (covariate fits per pooling and
    drift; factors per rank; ridge predictions) computed once."""

    table: ModelTable
    z: np.ndarray
    observed: np.ndarray
    train: np.ndarray
    hide: np.ndarray
    n_targets: int
    # input rule -> the matrix columns its residual components read (None: every column)
    columns: dict[str, np.ndarray] | None = None
    _cache: dict = field(default_factory=dict)
    _equations_kept: OrderedDict = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.rows = np.flatnonzero(self.hide.any(axis=1))
        self.fit_obs = self.observed & ~self.hide
        self.train_rows = np.flatnonzero(self.train)
        # the residual components read the input rules' columns; later columns are the ridge on logits' alone
        self._width = None if self.columns is None else max(int(c.max()) for c in self.columns.values()) + 1

    def _memo(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _levels(self, config: Config) -> tuple[str, ...]:
        """The pooled levels the fold's covariate design keeps under ``config``: where the training
        models have no domain (or organisation) label, domain on and off give the same design."""
        levels = config.levels
        return self._memo(("levels", levels), lambda: kept_levels(self.table.take(self.train_rows), levels))

    def _covariates(self, config: Config) -> tuple:
        """What the fold's covariate predictions under ``config`` depend on (pooling, drift, the kept
        levels; new families' alike), so that configurations equal in these share their work."""
        unseen = None
        if config.unseen is not None:
            other = config.unseen_config
            unseen = (other.pooling, other.drift, self._levels(other))
        return config.pooling, config.drift, self._levels(config), unseen

    def _base(self, config: Config, targets_only: bool = False):
        """Covariate predictions of the query rows and residuals of the training rows, for every column
        or (``targets_only``, enough for a configuration without residual components) the targets only."""
        t, cols = self.train_rows, slice(0, self.n_targets if targets_only else self._width)

        def matrix(rows: np.ndarray, name: str, design: Design) -> np.ndarray:  # for every pooling (and width)
            key = ("matrix", name, config.drift, self._levels(config))
            return self._memo(key, lambda: design.matrix(self.table.take(rows)))

        def compute():
            model = self._solved(config, targets_only)
            query = matrix(self.rows, "query", model.design) @ model.coef  # model.predict's product
            if config.unseen is not None:  # new families' rows without scores from their own covariate model
                new = unseen_families(model.design, self.table.take(self.rows)) & ~self.fit_obs[self.rows].any(axis=1)
                query = np.where(new[:, None], self._base(config.unseen_config, targets_only)[0], query)
            if targets_only:
                return query, None
            train_base = matrix(t, "train", model.design) @ model.coef
            residuals = np.where(self.fit_obs[t][:, cols], self.z[t][:, cols] - train_base, 0.0)
            return query, residuals

        return self._memo(("base", *self._covariates(config), targets_only), compute)

    def _equations(self, config: Config, targets_only: bool) -> NormalEquations:
        """The fold's normal equations under ``config``'s drift and levels. Each holds a dense
        (benchmarks, columns, columns) Gram over every family, up to tens of MB, and kept for every
        design of every fold they took 4.6 GB in one fit on the current data: a fold keeps only the
        targets' latest ``EQUATIONS_KEPT`` (the covariate stage solves one at every pooling, its
        configurations scored design by design: ``Scoreboard.evaluate_covariates_together``) and
        none over every benchmark (the residual components', solved at their one pooling). One
        built again is the same arrays."""
        key = (config.drift, self._levels(config), targets_only)
        kept = self._equations_kept
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
        t, cols = self.train_rows, slice(0, self.n_targets if targets_only else self._width)
        equations = NormalEquations.build(
            self.table.take(t), self.z[t][:, cols], self.fit_obs[t][:, cols], config.terms, config.levels
        )
        if targets_only:
            kept[key] = equations
            while len(kept) > EQUATIONS_KEPT:
                kept.popitem(last=False)
        return equations

    def covariate(self, config: Config) -> CovariateModel:
        """The fold's covariate model of the targets under ``config`` (its pooling, drift and levels)."""
        return self._solved(config, True)

    def _solved(self, config: Config, targets_only: bool) -> CovariateModel:
        """The covariate model under ``config``'s pooling, drift and levels, solved once (configurations
        that differ only in what comes after it, or in new families' model, share it)."""
        key = ("solved", config.pooling, config.drift, self._levels(config), targets_only)
        return self._memo(key, lambda: self._equations(config, targets_only).solve(config.pooling))

    def predict(self, config: Config) -> np.ndarray:
        """Target logits (len(rows), n_targets) of the fold's query rows under ``config``."""
        own = self._own(config)
        if config.svd <= 0:
            return own
        rows, t, cols = self.rows, self.train_rows, self._columns(config)
        plain = self._memo(
            ("plain", config.inputs, config.svd_rank),
            lambda: PlainCompletion.fit(
                self.z[t][:, cols], self.fit_obs[t][:, cols], config.svd_rank, INNER_ITERATIONS
            ).predict(self.z[rows][:, cols], self.fit_obs[rows][:, cols]),
        )
        return stack(own, plain[:, : self.n_targets], self.fit_obs[rows][:, cols], config.svd)

    def _columns(self, config: Config) -> np.ndarray:
        if self.columns is None:
            return np.arange(self.z.shape[1])
        return self.columns[config.inputs]

    def _residuals(self, config: Config) -> tuple[np.ndarray, ...]:
        """The covariate model's target logits of the query rows, and on ``config``'s input columns
        the training rows' residuals and observed cells and the query rows' residuals and observed cells."""
        rows, cols = self.rows, self._columns(config)
        query_base, train_resid = self._base(config)
        query_obs = self.fit_obs[rows][:, cols]
        query_resid = np.where(query_obs, self.z[rows][:, cols] - query_base[:, cols], 0.0)
        obs_t = self.fit_obs[self.train_rows][:, cols]
        return query_base[:, : self.n_targets], train_resid[:, cols], obs_t, query_resid, query_obs

    def memo(self, key, compute):
        """``compute()``, once per ``key`` for this fold (what scoring reads, the same for every configuration)."""
        return self._memo(("outside", key), compute)

    def _own(self, config: Config) -> np.ndarray:
        if config.rank == 0 and config.blend <= 0:  # the covariate model alone (stage 1)
            return self._base(config, targets_only=True)[0]
        pooling, drift, levels, unseen = self._covariates(config)
        # what the training residuals depend on, and (with new families' covariate model) the query's too
        training = (pooling, drift, levels, config.inputs)
        key = (*training, unseen)
        # the stacked configurations of stage 3 share their residual components with stage 2's
        return self._memo(
            ("own", *key, config.rank, config.alpha, config.blend, config.weighted, config.on_logits, config.proxies)
            + (config.positive, config.recency),
            lambda: self._components(config, key, training),
        )

    def _components(self, config: Config, key: tuple, training: tuple) -> np.ndarray:
        k, rows = self.n_targets, self.rows
        query_base, train_resid, obs_t, query_resid, query_obs = self._memo(
            ("resid", *key), lambda: self._residuals(config)
        )
        low_rank = np.zeros((rows.size, k))
        if config.rank > 0:
            offsets, factors = self._memo(
                ("svd", *training, config.rank),
                lambda: hard_impute(train_resid, obs_t, config.rank, INNER_ITERATIONS),
            )
            completion = ResidualCompletion(config.rank, config.alpha, offsets_=offsets, factors_=factors)
            low_rank = self._memo(
                ("low", *key, config.rank, config.alpha), lambda: completion.predict(query_resid, query_obs)[:, :k]
            )
        if config.blend <= 0:
            return query_base + low_rank
        if config.on_logits:  # the covariate model does not enter: one fit per column set and weighting
            logits = self._memo(
                ("logits", config.weighted, config.proxies or config.inputs, config.positive, config.recency),
                lambda: self._logit_ridge(config),
            )
            return combine(query_base, low_rank, logits - query_base, config.blend)
        ridge = self._memo(
            ("ridge", *key, config.weighted),
            lambda: self._residual_ridge(config, training, train_resid, obs_t, query_resid, query_obs),
        )
        return combine(query_base, low_rank, ridge, config.blend)

    # The correlated ridges below share, between fits that differ in their weights only, the
    # training columns' correlations and each query row's benchmarks (neither reads the weights).

    def _logit_ridge(self, config: Config) -> np.ndarray:
        """The ridge on logits' target logits of the query rows."""
        k, rows, t = self.n_targets, self.rows, self.train_rows
        cols, columns = logit_columns(config, self._columns(config), self.z.shape[1]), config.proxies or config.inputs
        z_t, obs_t, obs_q = self.z[t][:, cols], self.fit_obs[t][:, cols], self.fit_obs[rows][:, cols]
        correlation = self._memo(("logit correlation", columns), lambda: pairwise_correlation(z_t, obs_t))
        ridge = logit_ridge(config, z_t, obs_t, self.table.take(t), k, correlation)
        choices = self._memo(("logit choices", columns, config.positive), lambda: ridge.choices(obs_q, np.arange(k)))
        return ridge.predict(self.z[rows][:, cols], obs_q, np.arange(k), choices)

    def _residual_ridge(self, config: Config, key: tuple, train_resid, obs_t, query_resid, query_obs) -> np.ndarray:
        """The ridge on residuals' predictions of the query rows' target residuals; ``key``: what the
        training residuals and the query's observed cells depend on."""
        k, weights = self.n_targets, ridge_weights(config, self.z[self.train_rows][:, self._columns(config)])
        correlation = self._memo(("correlation", *key), lambda: pairwise_correlation(train_resid, obs_t))
        ridge = CorrelatedRidge().fit(train_resid, obs_t, weights, correlation)
        choices = self._memo(("choices", *key), lambda: ridge.choices(query_obs, np.arange(k)))
        return ridge.predict(query_resid, query_obs, np.arange(k), choices)
