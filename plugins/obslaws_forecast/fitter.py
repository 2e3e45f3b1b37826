"""``forecast``: the default forecaster for what has not been seen.

Per benchmark on the logit scale: a ridge regression on size, tokens and release date with
partially pooled family and group effects (covariate model), corrected from whatever other
scores a query model has (latent capability: low-rank completion of the residuals blended with a
ridge on the most correlated benchmarks). Pooling, the drift with release date, the rank, its
ridge and the blend are chosen on inner folds of the training data (``inner.py``: rolling time
cuts, a compute cut, family groups at n = 1, hidden cells) separately for each kind of query model
(released after the training data, larger than it, or inside it: each kind by the folds shaped
like its question; each target its own configuration where leaving each fold out prefers that),
and the 90% intervals are split-conformal on the same folds' residuals, per kind, category
(family seen or not, other scores or not) and benchmark. Other registered fitters can be stacked
on it (``stack``; ``stacking.py``), with weights chosen on the same folds; their predictions of a
new family's models may be moved by the covariate model's effect of its training domain
(``member_domains``: chosen per stacked kind on the same folds; ``member_domain.py``). A query
model trained further past its size than any training model may count its tokens only up to the
training models' largest ratio (``token_caps``: chosen on an inner fold shaped like that question;
``token_cap.py``); where it does, the inner folds cap their own queries too and the search runs
again on them. Nothing is chosen on the data it is tested on.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws import Fitter, Requirements
from obslaws.data import FitData, prediction_frame
from obslaws.errors import FitterError

from .averaging import AveragedEngine, average_sizes
from .design import ModelTable
from .engine import Engine, FoldCache
from .inner import anchored_families, horizons, inner_folds, query_kinds, release_days
from .learned import learned_record
from .margin import MARGIN_CHOICES
from .matrix import LogitMatrix, TargetCorrelations, input_columns, proxy_inputs
from .member_domain import check_options
from .new_families import UNSEEN_KINDS
from .scale import from_logit, to_logit
from .select import category, choose, coarser_folds, kind_widths, query_bounds
from .stacker_set import StackerSet, predictor
from .stacking import MemberWork, build_stacker
from .target_blends import RECENCIES
from .token_cap import capped, choose_cap, fold_tables, scored_ratio

PROXIES = 5  # benchmarks per target the ridge on logits may read besides the input rules'


class ForecastFitter(Fitter):
    """Covariates with pooled, drifting family effects, plus the model's other scores."""

    name: ClassVar[str] = "forecast"
    version: ClassVar[str] = "27"  # docs/forecasting.md: version 27, the cells kind's level from its halves
    requires: ClassVar[Requirements] = Requirements(needs=frozenset({"scores"}), min_models=3)
    check_hyperparameters: ClassVar[dict[str, Any]] = {
        "poolings": (1.0,),
        "orgs": (True,),
        "domains": (False,),
        "ranks": (1,),
        "alphas": (1.0,),
        "stack": (),
        "stack_larger": (),
        "stack_anchored": (),
    }

    def __init__(
        self,
        *,
        poolings: tuple[float, ...] = (0.5, 2.0, 8.0, 32.0),
        drifts: tuple[bool, ...] = (True, False),
        orgs: tuple[bool, ...] = (True, False),
        domains: tuple[bool, ...] = (False, True),
        ranks: tuple[int, ...] = (1, 2),
        alphas: tuple[float, ...] = (0.1, 1.0),
        blends: tuple[float, ...] = (0.0, 0.5, 1.0),
        ridge_weights: tuple[bool, ...] = (False, True),
        ridge_logits: tuple[bool, ...] = (False, True),
        ridge_proxies: tuple[bool, ...] = (False, True),
        blend_kinds: tuple[str, ...] = ("later",),
        ridge_positive: tuple[bool, ...] = (False, True),
        blend_recencies: tuple[float, ...] = RECENCIES,
        svds: tuple[float, ...] = (0.25, 0.5),
        svd_ranks: tuple[int, ...] = (2, 1),
        max_inputs: int = 30,
        min_input_models: int = 15,
        per_benchmark: bool = True,
        stack: tuple[str, ...] = ("flops-sigmoid-family", "sloth"),
        stack_kinds: tuple[str, ...] = ("inside",),
        stack_guard: bool = False,
        stack_larger: tuple[str, ...] = ("flops-sigmoid-family", "sloth"),
        stack_anchored: tuple[str, ...] = ("flops-sigmoid-family", "sloth"),
        anchored_kind: bool = True,
        gap_new_families: bool = True,
        unseen_kinds: tuple[str, ...] = UNSEEN_KINDS,
        choice_margin: float = 0.0,
        margin_choices: tuple[str, ...] = MARGIN_CHOICES,
        margin_checked: bool = True,
        average_sizes: tuple[int, ...] = (),
        member_domains: tuple[bool, ...] = (False, True),
        token_caps: tuple[bool, ...] = (False, True),
        interval: float = 0.9,
        random_state: int = 0,
        inner_draws: int = 1,
        finer_cells: int = 4,
        transfer_level: bool = True,
    ) -> None:
        self.poolings = poolings
        self.drifts = drifts
        self.orgs = orgs
        self.domains = domains
        self.ranks = ranks
        self.alphas = alphas
        self.blends = blends
        self.ridge_weights = ridge_weights
        self.ridge_logits = ridge_logits
        self.ridge_proxies = ridge_proxies
        self.blend_kinds = blend_kinds
        self.ridge_positive = ridge_positive
        self.blend_recencies = blend_recencies
        self.svds = svds
        self.svd_ranks = svd_ranks
        self.max_inputs = max_inputs
        self.min_input_models = min_input_models
        self.per_benchmark = per_benchmark
        self.stack = stack
        self.stack_kinds = stack_kinds
        self.stack_guard = stack_guard
        self.stack_larger = stack_larger
        self.stack_anchored = stack_anchored
        self.anchored_kind = anchored_kind
        self.gap_new_families = gap_new_families
        self.unseen_kinds = unseen_kinds
        self.choice_margin = choice_margin
        self.margin_choices = margin_choices
        self.margin_checked = margin_checked
        self.average_sizes = average_sizes
        self.member_domains = member_domains
        self.token_caps = token_caps
        self.interval = interval
        self.random_state = random_state
        self.inner_draws = inner_draws
        self.finer_cells = finer_cells
        self.transfer_level = transfer_level

    def _fit(self, data: FitData) -> None:
        if not 0 < float(self.interval) < 1:
            raise FitterError(f"{self.name}: interval must be in (0, 1), not {self.interval}")
        if int(self.inner_draws) != self.inner_draws or self.inner_draws < 1:
            raise FitterError(f"{self.name}: inner_draws must be a whole number >= 1, not {self.inner_draws}")
        if int(self.finer_cells) != self.finer_cells or self.finer_cells < 0:  # up to 2: the halves alone
            raise FitterError(f"{self.name}: finer_cells must be a whole number >= 0, not {self.finer_cells}")
        targets = list(self.targets_)
        known = TargetCorrelations(data, tuple(targets), int(self.min_input_models))  # read by both, computed once
        inputs, columns = input_columns(data, targets, known.min_models, int(self.max_inputs), known)
        # the ridge on logits also reads each target's closest benchmarks (after the rules' inputs)
        proxies = proxy_inputs(data, targets, known.min_models, PROXIES, known) if any(self.ridge_proxies) else ()
        proxies = tuple(b for b in proxies if b not in inputs)
        inputs = (*inputs, *proxies)
        matrix = LogitMatrix.build(data, [*targets, *inputs])
        keep = matrix.observed.any(axis=1)
        models, z, observed = matrix.models.filter(pl.Series(keep)), matrix.z[keep], matrix.observed[keep]
        if models.height < self.requires.min_models:
            raise FitterError(
                f"{self.name}: {models.height} training models with scores; need {self.requires.min_models}"
            )
        lacking = [t for t, n in zip(targets, observed[:, : len(targets)].sum(axis=0), strict=True) if n == 0]
        if lacking:
            raise FitterError(f"{self.name}: no training scores for {lacking}")
        wide = data.select_models(models["model_id"]).matrix(list(matrix.benchmarks))
        y = wide.select(list(matrix.benchmarks)).to_numpy().astype(float)
        table, k = ModelTable.of(models), len(targets)
        gap_new = bool(self.gap_new_families)
        seed, draws, finer = int(self.random_state), int(self.inner_draws), int(self.finer_cells)
        folds = inner_folds(models, observed, k, seed=seed, gap_new_families=gap_new, draws=draws, finer_cells=finer)
        caches = {f.name: FoldCache(table, z, observed, f.train, f.hide, k, columns) for f in folds}
        orgs = self.orgs if any(table.org.tolist()) else (False,)  # no organisations: nothing to choose
        domains = tuple(bool(d) for d in self.domains) if any(table.domain.tolist()) else (False,)  # likewise
        ids = models["model_id"].to_numpy().astype(object)
        scored = observed[:, :k].any(axis=1)  # the models with a target score: every question is asked of them
        search = (data, ids, matrix, y, columns, proxies, orgs, domains)
        self._search(caches, folds, *search)
        self._choose_token_cap(table, z, observed, k, columns, matrix.chance, y)
        if self.token_cap_["cap"]:  # the inner folds pose their questions as the capped predictor does
            tables = fold_tables(table, folds, scored)
            moved = [f for f in folds if tables[f.name] is not table]  # the others' work is the same: kept
            self.token_cap_["inner_folds_capped"] = len(moved)
            for f in moved:
                caches[f.name] = FoldCache(tables[f.name], z, observed, f.train, f.hide, k, columns)
            if moved:
                self._search(caches, folds, *search)
        self.benchmarks_ = matrix.benchmarks
        self.input_rules_ = {rule: [matrix.benchmarks[c] for c in cols[k:]] for rule, cols in columns.items()}
        self.chance_ = matrix.chance
        self.folds_ = {f.name: f.kind for f in folds}
        self.families_ = {f for f in table.family[scored].tolist() if f}  # known to the targets
        # the questions are asked of the targets, as the inner folds ask them: a query is later or
        # larger than the models with a target score, and a training model with inputs alone poses
        # the question its date and compute say (its targets are not a half hidden, as a cell's are)
        asked = models.filter(pl.Series(scored))
        self.trained_ = set(asked["model_id"].to_list())
        self.latest_day_, self.largest_flops_, self.smallest_params_ = horizons(asked)
        self.anchored_ = anchored_families(asked) if self.anchored_kind else set()
        self.engines_ = self._engines(table, z, observed, k, columns)

    def _search(self, caches: dict, folds: list, data, ids, matrix, y, columns, proxies, orgs, domains) -> None:
        """Every configuration, stacked member weight and interval width chosen on the inner folds'
        ``caches`` (``select.choose``)."""
        rows = {f.name: caches[f.name].rows for f in folds}
        stacker = self._stackers(data, ids, list(matrix.benchmarks), folds, rows, matrix.chance)
        self.members_, self.unstacked_ = {}, {}
        grid = (
            self.poolings,
            self.drifts,
            orgs,
            self.ranks,
            self.alphas,
            self.blends,
            self.svds,
            self.svd_ranks,
            tuple(columns),
        )
        self.selection_ = choose(
            *(tuple(g) for g in grid),
            caches,
            {f.name: f.kind for f in folds},
            matrix.chance,
            y,
            float(self.interval),
            bool(self.per_benchmark),
            tuple(bool(w) for w in self.ridge_weights),
            stacker,
            tuple(bool(v) for v in self.ridge_logits),
            tuple(bool(p) for p in self.ridge_proxies) if proxies else (False,),  # none beyond the rules': no choice
            tuple(self.blend_kinds),
            tuple(bool(s) for s in self.ridge_positive),
            tuple(float(h) for h in self.blend_recencies),
            bool(self.anchored_kind),
            tuple(self.unseen_kinds),
            self._margins(),
            bool(self.margin_checked),
            average_sizes(self.name, self.average_sizes),
            domains,
            bool(self.transfer_level),
        )
        self.stacker_ = stacker

    def _choose_token_cap(self, table: ModelTable, z, observed, k: int, columns, chance, y) -> None:
        """Whether a query's tokens count only up to the training models' largest tokens-per-parameter
        ratio (``token_cap.py``: where the ratio fold says so, with the ``all`` kind's configuration)."""
        self.token_cap_ = {"cap": False, "offered": True in tuple(self.token_caps)}
        if self.token_cap_["offered"]:
            everything = self.selection_.configs["all"]
            self.token_cap_ |= choose_cap(everything, table, z, observed, k, columns, chance, y)
        self.ratio_cap_ = scored_ratio(table, observed, k)

    def _engines(self, table, z, observed, k: int, columns) -> dict[str, tuple]:
        """Kind -> one engine per target: the kind's configuration, each target's own, or the mean of
        the configurations it averages (``averaging.py``), each configuration fitted once."""
        per_target = {kind: (c,) * k for kind, c in self.selection_.configs.items()} | self.selection_.columns
        averages = self.selection_.averages
        engines = {
            c: Engine.fit(c, table, z, observed, k, columns[c.inputs])
            for c in dict.fromkeys(c for cs in (*per_target.values(), *averages.values()) for c in cs)
        }
        chosen = {kind: tuple(engines[c] for c in cs) for kind, cs in per_target.items()}
        return chosen | {kind: (AveragedEngine(tuple(engines[c] for c in cs)),) * k for kind, cs in averages.items()}

    def _stackers(self, data: FitData, ids: np.ndarray, benchmarks: list[str], folds, rows, chance) -> StackerSet:
        """The members stacked for ``stack_kinds`` (``stack``), for the larger kind (``stack_larger``) and
        for the anchored kind (``stack_anchored``), their fits deferred until a query model of those
        kinds is predicted."""
        stacks = (
            (self.stack, self.stack_kinds),
            (self.stack_larger, ("larger",)),
            (self.stack_anchored, ("anchored",)),  # fitted apart: a fit without such queries never pays for them
        )
        return StackerSet(
            tuple(
                build_stacker(
                    tuple(names),
                    MemberWork(self.name, data, ids, benchmarks, list(folds), rows),
                    chance,
                    tuple(kinds),
                    bool(self.stack_guard),
                    bool(self.anchored_kind),
                    self._margins(),
                    bool(self.margin_checked),
                    check_options(self.member_domains),
                )
                for names, kinds in stacks
            )
        )

    def _margins(self) -> dict[str, float]:
        """``margin_choices`` -> ``choice_margin`` (``margin.py``: a choice other than the simplest must
        beat it by that many standard errors of the inner folds' per-group differences; with
        ``margin_checked``, per kind only where leaving each fold group out says so: ``margin_checks.py``)."""
        unknown = set(self.margin_choices) - set(MARGIN_CHOICES)
        if unknown or float(self.choice_margin) < 0:
            raise FitterError(
                f"{self.name}: choice_margin must be >= 0 and margin_choices among {MARGIN_CHOICES}, "
                f"not {self.choice_margin} and {sorted(unknown)}"
            )
        return {choice: float(self.choice_margin) for choice in self.margin_choices}

    def query_kinds_of(self, models: pl.DataFrame) -> np.ndarray:
        """Per query model, the question it poses against the training data (``inner.query_kinds``)."""
        return query_kinds(
            models["model_id"].is_in(list(self.trained_)).to_numpy(),
            release_days(models),
            models["flops"].cast(pl.Float64).to_numpy(),
            self.latest_day_,
            self.largest_flops_,
            models["family"].fill_null("").is_in(list(self.anchored_)).to_numpy(),
        )

    def _predict(self, query: FitData) -> pl.DataFrame:
        matrix = LogitMatrix.build(query, self.benchmarks_)
        table, k = ModelTable.of(query.models), len(self.targets_)
        if self.token_cap_["cap"]:  # training models are within it: only further-trained queries move
            table = capped(table, self.ratio_cap_)
        kinds = self.query_kinds_of(query.models)
        if self.stacker_.waiting(np.unique(kinds).tolist()):
            self._fit_members(np.unique(kinds).tolist())
        centre = np.zeros((table.n, k))
        # the stacked members' shifts for new families' domains (member_domain.py), where offered
        shift = np.zeros((table.n, k)) if any(check_options(self.member_domains)) else None
        for kind in np.unique(kinds):
            rows = np.flatnonzero(kinds == kind)
            engines = self.engines_.get(str(kind), self.engines_["all"])
            part, predicted, shifts = table.take(rows), {}, {}
            # only a kind whose stacker may shift its members reads the shifts (the others stay 0)
            shifting = shift is not None and self.stacker_.shifts(str(kind))
            for j, engine in enumerate(engines):  # kinds with a configuration per target share engines
                if id(engine) not in predicted:
                    predicted[id(engine)] = engine.predict(part, matrix.z[rows], matrix.observed[rows])
                    if shifting:
                        shifts[id(engine)] = engine.member_shift(part, matrix.observed[rows])
                centre[rows, j] = predicted[id(engine)][:, j]
                if shifting:
                    shift[rows, j] = shifts[id(engine)][:, j]
        chance = self.chance_[None, :k]
        ids = query.models["model_id"].to_list()
        scores = self.stacker_.blended(
            from_logit(centre, chance), kinds, self.members_, predictor(query, ids, self.targets_), shift
        )
        moved = scores != from_logit(centre, chance)
        centre = np.where(moved, to_logit(scores, chance), centre)
        seen = np.array([f in self.families_ for f in table.family.tolist()], dtype=bool)
        cats = category(seen, matrix.observed.any(axis=1))
        lower, upper = query_bounds(self.selection_, kinds, cats, centre, chance)
        n = centre.shape[0]
        return prediction_frame(
            np.repeat(query.models["model_id"].to_numpy(), k).tolist(),
            np.tile(np.array(self.targets_, dtype=object), n).tolist(),
            scores.ravel(),
            np.minimum(lower, scores).ravel(),
            np.maximum(upper, scores).ravel(),
        )

    def _fit_members(self, kinds: list[str]) -> None:
        """Fit the members stacked for ``kinds`` (deferred from the fit) and, on their inner-fold
        predictions, choose the stacked kinds' weights and their widths anew."""
        members, unstacked, stacked = self.stacker_.fit(kinds)
        self.members_, self.unstacked_ = self.members_ | members, self.unstacked_ | unstacked
        selection = self.selection_
        level = float(self.interval)
        for kind, (results, everywhere) in stacked.items():
            coarser = coarser_folds(kind, list(results), list(everywhere or ()), self.folds_)
            coarser = coarser if self.transfer_level else []
            chosen = kind_widths(kind, results, everywhere, level, self.chance_, self.stacker_, coarser)
            selection.widths = {key: w for key, w in selection.widths.items() if key[0] != kind} | chosen.widths
            selection.levels = {k: v for k, v in selection.levels.items() if k != kind}
            selection.levels.update({kind: chosen.level} if chosen.level != level else {})
            selection.powers[kind], selection.mappings[kind] = chosen.power, chosen.mapping
            selection.table.update(chosen.records)
            selection.widths_from.update({kind: chosen.source} if chosen.source else {})

    def learned_parameters(self) -> dict[str, Any]:
        return learned_record(self)
