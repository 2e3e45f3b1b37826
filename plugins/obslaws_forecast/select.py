"""Choosing the forecaster's configuration and its interval widths on inner folds, per kind of
query model (``inner.KINDS``: a training model's missing cells, a later release, a larger model,
a new family among known ones).

Every configuration is scored once on every inner fold; each kind takes the configuration with
the lowest mean MAE over its own folds if leaving each of them out says that beats choosing on
every fold (``all``, also the fall-back for a kind without folds), and its folds' residuals under
that choice give its split-conformal widths.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from .averaging import averaged, final_averages, stage_averages
from .bounds import LOGIT, MAPPING_RECORD, NEAR, bounds, choose_mapping
from .calibration import LEVEL_RECORD, WIDTHS_FROM, choose_every_fold, choose_power, transferred_level
from .engine import Config, FoldCache
from .held_out_rules import own_or_every, per_target_configs, scored_candidates, target_blends
from .inner import KINDS, REFINES, kind_folds, own_only
from .margin import simplest_config
from .margin_checks import stage_margin
from .member_domain import with_shifts
from .new_families import choose_unseen, with_unseen
from .per_benchmark import composite
from .scoreboard import CATEGORIES, FoldResult, Scoreboard, category, evaluate  # noqa: F401 - re-exported
from .stacker import Stacker
from .stacker_set import StackerSet

# cells a conformal width needs (per category, per benchmark within it): at 90% three of 30 cells
# lie at or beyond the quantile; with 20 it is the second largest, one cell's luck either way
MIN_CELLS = 30
ALL = "all"
SPARSE_KINDS = ("cells",)  # kinds whose stage 3 compares every rank of the stacked baseline


@dataclass
class Selection:
    # kind -> chosen configuration ("all": chosen on every fold, for kinds without folds)
    configs: dict[str, Config]
    # configuration label -> {fold name: MAE in points}: every comparison made, for the record
    table: dict[str, dict[str, float]] = field(default_factory=dict)
    # (kind, category, benchmark index) -> half-width of the scaled residual (scale.spread); -1: pooled
    widths: dict[tuple[str, str, int], float] = field(default_factory=dict)
    # kind -> "own folds" or "every fold": which folds chose its configuration
    rules: dict[str, str] = field(default_factory=dict)
    # kind -> the power of the spread its widths scale by (calibration.choose_power)
    powers: dict[str, float] = field(default_factory=dict)
    # kind -> a configuration per target, where the inner folds preferred that (per_benchmark.py)
    columns: dict[str, tuple[Config, ...]] = field(default_factory=dict)
    # kind -> "own folds" or "own and every fold": which folds' residuals its widths are the wider of
    widths_from: dict[str, str] = field(default_factory=dict)
    # kind -> the configurations whose mean logits it predicts, where the inner folds preferred that (averaging.py)
    averages: dict[str, tuple[Config, ...]] = field(default_factory=dict)
    # kind -> how its intervals near a bound map back: bounds.LOGIT or bounds.NEAR (its held-out folds' choice)
    mappings: dict[str, str] = field(default_factory=dict)
    # kind -> the level of its own widths' conformal quantile, where not the nominal (calibration.transferred_level)
    levels: dict[str, float] = field(default_factory=dict)


class KindWidths(NamedTuple):
    widths: dict[tuple[str, str, int], float]  # the kind's conformal half-widths
    records: dict  # how they were chosen, for ``compared``
    power: float  # the spread power they scale by
    source: str | None  # "own folds" or "own and every fold" (None: no every-fold widths offered)
    mapping: str  # bounds.LOGIT or bounds.NEAR
    level: float  # the level of the conformal quantile of its own folds' widths


def _staged(
    board: Scoreboard,
    stage1: list[Config],
    grid2: list[dict],
    grid3: list[tuple],
    folds: list[str],
    margin: float = 0.0,
) -> Config:
    """The stage-1 winner on ``folds``, then the best of its stage-2 variants (which input
    benchmarks, rank, alpha, blend), then of its blends with the logit-svd baseline (stage 3:
    weight x the baseline's rank); with ``margin``, each stage's simplest within it (``margin.simplest_config``)."""
    first = simplest_config(board, stage1, folds, margin)
    variants = (replace(first, **choice) for choice in grid2)
    second = simplest_config(board, [first, *variants], folds, margin)
    return simplest_config(board, [second, *(replace(second, svd=w, svd_rank=r) for w, r in grid3)], folds, margin)


def stage2_grid(input_rules, ranks, alphas, blends, weights, logits, proxies, positive=(False,)) -> list[dict]:
    """Stage 2's variants of the stage-1 choice: input rule x rank (0: none) x alpha x blend, and
    where the ridge on correlated benchmarks takes part (blend above 0) its weighting, whether it
    reads logits rather than residuals and, on logits, whether it reads the proxies too and whether
    only positively correlated benchmarks."""
    names = ("inputs", "rank", "alpha", "blend", "weighted", "on_logits", "proxies", "positive")
    grid = itertools.product(input_rules, (0, *ranks), alphas, blends, weights, logits, proxies, positive)
    return [
        dict(zip(names, (i, r, a, b, w, v, p, s), strict=True))
        for i, r, a, b, w, v, p, s in grid
        if (r, b) != (0, 0)
        and not (r == 0 and a != alphas[0])
        and not ((w or v) and b == 0)
        and not ((p or s) and not v)
    ]


def choose(
    poolings,
    drifts,
    orgs,
    ranks,
    alphas,
    blends,
    svds,
    svd_ranks,
    input_rules,
    caches: dict[str, FoldCache],
    kinds: dict[str, str],
    chance,
    y,
    level: float,
    per_benchmark: bool = True,
    ridge_weights: tuple[bool, ...] = (False,),
    stacker: Stacker | StackerSet | None = None,
    ridge_logits: tuple[bool, ...] = (False,),
    ridge_proxies: tuple[bool, ...] = (False,),
    blend_kinds: tuple[str, ...] = (),
    ridge_positive: tuple[bool, ...] = (False,),
    blend_recencies: tuple[float, ...] = (0.0,),
    borrow: bool = True,
    unseen_kinds: tuple[str, ...] = (),
    margins: dict[str, float] | None = None,
    checked: bool = True,
    average_sizes: tuple[int, ...] = (),
    domains: tuple[bool, ...] = (False,),
    transfer_level: bool = True,
) -> Selection:
    """Stage 1: the covariate model (pooling x drift x organisation level x domain level) alone; stage 2: input
    rule x rank x alpha x blend of the residual components at the stage-1 choice (rank 0 and blend
    0 among them: no use of the model's other scores); stage 3: the weight of the logit-svd baseline stacked on
    the stage-2 choice (0 among them), and for the cells kind its rank; on every fold (``all``,
    each kind weighing the same) and on each kind's own folds. A kind keeps its own choice only if
    leaving each of its folds out says choosing on its own folds beats choosing on every fold
    (``held_out_rules.held_out_rule_errors``), and a configuration per target benchmark only if
    leaving each of them out says so (``per_benchmark``). Then, per kind, the ``stacker``'s members'
    weights (``stacking.py``) and the conformal widths of the stacked predictions. ``margins``
    (``"stages"``, ``"rules"`` -> margin.py's margin, 0 where absent): the stages' and held-out rules'
    margins, each kept per kind only where its fold groups say so (``margin_checks.py``) if ``checked``.
    ``average_sizes``: per kind, the mean of its stages' top configurations if its folds say so (averaging.py).
    ``transfer_level``: ``calibration.transferred_level`` for a kind asked on finer folds (False: version 26)."""
    margins = margins or {}
    board = Scoreboard(caches, kinds, chance, y)
    covariates = itertools.product(poolings, drifts, orgs, domains)
    stage1 = [Config(pooling=p, drift=d, org=o, domain=m, rank=0) for p, d, o, m in covariates]
    board.evaluate_covariates_together(stage1)
    grid2 = stage2_grid(input_rules, ranks, alphas, blends, ridge_weights, ridge_logits, ridge_proxies, ridge_positive)
    # the stacked baseline's rank: its first (the baseline's 2) for every kind; the cells kind also
    # compares the others (rank 1 on sparse matrices such as Epoch's hub, 3 scores per model)
    ranks3 = {kind: tuple(svd_ranks) if kind in SPARSE_KINDS else tuple(svd_ranks[:1]) for kind in (ALL, *KINDS)}
    grid3 = {kind: [(w, r) for r in ranks3[kind] for w in svds] for kind in ranks3}
    every = [f for f in caches if not own_only(f)]  # another fold's variant or a finer question: its kind's
    own = kind_folds({f: kinds[f] for f in caches}, borrow)
    choosing = [kind for kind in KINDS if own[kind] and kind not in REFINES]
    table, configs = {}, {}
    for kind, folds in ((ALL, every), *((k, own[k]) for k in choosing)):
        configs[kind] = _staged(board, stage1, grid2, grid3[kind], folds)
        m = margins.get("stages", 0.0)
        m = stage_margin(board, scored_candidates(board, ranks3[kind]), folds, m, table, kind) if checked else m
        if m > 0:
            configs[kind] = _staged(board, stage1, grid2, grid3[kind], folds, m)
    folds_of, staged = {ALL: every, **{k: own[k] for k in choosing}}, dict(configs)
    averages = stage_averages(board, folds_of, lambda k: scored_candidates(board, ranks3[k]), average_sizes, table)
    rule_margin = margins.get("rules", 0.0)
    rules = own_or_every(board, configs, own, every, choosing, ranks3, table, rule_margin, checked)
    columns = per_target_configs(board, own, every, rules, ranks3, table, rule_margin, checked) if per_benchmark else {}
    blending = {k: own[k] for k in blend_kinds if own.get(k)}
    columns |= target_blends(board, configs, columns, blending, table, blend_recencies, rule_margin, checked)
    _new_families(board, configs, columns, {k: own[k] for k in unseen_kinds if own.get(k)}, stage1, table)
    for kind, parent in REFINES.items():  # its configuration is the kind's it refines, its weights and widths its own
        if own[kind]:
            configs[kind], rules[kind] = configs.get(parent, configs[ALL]), f"as {parent}"
            columns.update({kind: columns[parent]} if parent in columns else {})
    averages = final_averages(averages, staged, configs, columns, REFINES)
    widths = _all_widths(board, configs, columns, averages, own, every, stacker, level, table, chance, transfer_level)
    return Selection(configs, {**board.table(), **table}, rules=rules, columns=columns, averages=averages, **widths)


def coarser_folds(kind: str, own: list[str], every: list[str], kinds: dict[str, str]) -> list[str]:
    """The folds of ``every`` that ask ``kind``'s question more coarsely than its ``own`` (the cell
    halves, where the kind reads the finer folds alone: ``inner.FINER``)."""
    return [f for f in every if kinds[f] == kind and f not in own]


def _all_widths(board, configs, columns, averages, own, every, stacker, level, table, chance, transfer) -> dict:
    """Every kind's conformal widths, spread power, widths' source, near-bound mapping and level (the
    ``Selection`` fields of those names), from its chosen predictions on its folds (stacked where the
    ``stacker`` stacks it; with ``transfer``, at the level its ``coarser_folds`` say); their records go
    to ``table``."""
    widths, powers, sources, mappings, levels = {}, {}, {}, {}, {}
    for kind, folds in ((ALL, every), *own.items()):
        if folds:
            results = _kind_results(board, configs, columns, averages, kind, folds)
            everywhere = _kind_results(board, configs, columns, averages, kind, every) if kind != ALL else None
            if stacker is not None and stacker.shifts(kind):  # the members told new families' domains
                per_target = _kind_configs(board, configs, columns, averages, kind)
                results = with_shifts(board, per_target, results)
                everywhere = None if everywhere is None else with_shifts(board, per_target, everywhere)
            if stacker is not None:
                results = stacker.stack(kind, results, ALL, everywhere)
            coarser = coarser_folds(kind, folds, every, board.kinds) if transfer and kind != ALL else []
            chosen = kind_widths(kind, results, everywhere, level, chance, stacker, coarser)
            table.update(chosen.records)
            sources.update({kind: chosen.source} if chosen.source else {})
            levels.update({kind: chosen.level} if chosen.level != level else {})
            powers[kind], mappings[kind] = chosen.power, chosen.mapping
            widths.update(chosen.widths)
    return {"widths": widths, "powers": powers, "widths_from": sources, "mappings": mappings, "levels": levels}


def kind_widths(
    kind: str,
    results: dict[str, FoldResult],
    everywhere: dict | None,
    level: float,
    chance: np.ndarray,
    stacker: Stacker | StackerSet | None = None,
    coarser: Sequence[str] = (),
) -> KindWidths:
    """``kind``'s conformal widths from its folds' ``results``, the records of how they were chosen,
    its spread power (``choose_power``), given ``everywhere`` (its configuration on every inner fold,
    the ``stacker``'s weights for it applied here) whether they are the wider of its own and every
    fold's (``choose_every_fold``), the level of its own widths' quantile (with ``coarser``, folds
    of ``everywhere`` asking its question more coarsely: ``transferred_level``), and from the
    targets' ``chance`` levels how its intervals map back near a bound (``bounds.choose_mapping``)."""
    power, record = choose_power(results, level, *_width_rules(level))
    records = {f"{kind}: held-out coverage of the widths": record}
    if everywhere is not None and stacker is not None:
        everywhere = stacker.apply(kind, everywhere, ALL)
    own_level = level
    if everywhere is not None and coarser:
        coarse = [everywhere[f] for f in coarser]
        own_level, records[f"{kind}: {LEVEL_RECORD}"] = transferred_level(
            list(results.values()), coarse, level, power, _widths_at, _width_rules(level)[1]
        )
    widths_kind, wider, source = conformal_widths(kind, list(results.values()), own_level, power), False, None
    if everywhere is not None:
        wider, records[f"{kind}: {WIDTHS_FROM}"] = choose_every_fold(
            results, everywhere, level, power, *_width_rules(level)
        )
        if wider:
            others = conformal_widths(kind, list(everywhere.values()), level, power)
            widths_kind = wider_widths(kind, widths_kind, others)
        source = "own and every fold" if wider else "own folds"
    mapping, records[f"{kind}: {MAPPING_RECORD}"] = choose_mapping(
        results, level, power, *_width_rules(level), chance, everywhere if wider else None
    )
    return KindWidths(widths_kind, records, power, source, mapping, own_level)


def query_bounds(
    selection: Selection, kinds: np.ndarray, cats: np.ndarray, centre: np.ndarray, chance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The intervals of query cells (rows: ``kinds`` and ``cats``; predicted logits ``centre``), each
    from the widths, spread power and near-bound mapping of the kind whose widths it reads."""
    width, power, near = np.zeros(centre.shape), np.ones(centre.shape), np.zeros(centre.shape, dtype=bool)
    for i, (kind, cat) in enumerate(zip(kinds, cats, strict=True)):
        for j in range(centre.shape[1]):
            width[i, j], source = half_width(selection.widths, kind, cat, j)
            power[i, j] = selection.powers.get(source, 1.0)
            near[i, j] = selection.mappings.get(source, LOGIT) == NEAR
    return bounds(centre, width, power, chance, near)


def _kind_results(board: Scoreboard, configs, columns, averages, kind: str, folds: list[str]) -> dict[str, FoldResult]:
    """``kind``'s chosen configuration (its per-target ones, or its average) on ``folds``: fold -> result."""
    if kind in averages:
        return {f: averaged(board, averages[kind], f) for f in folds}
    if kind in columns:
        return {f: composite(board, columns[kind], f) for f in folds}
    return dict(zip(folds, board.fold_results(configs[kind], folds), strict=True))


def _kind_configs(board: Scoreboard, configs, columns, averages, kind: str) -> list[tuple[Config, ...]]:
    """Per target, the configurations whose mean logits predict ``kind``'s cells (as ``_kind_results``)."""
    n_targets = next(iter(board.caches.values())).n_targets
    if kind in averages:
        return [averages[kind]] * n_targets
    if kind in columns:
        return [(c,) for c in columns[kind]]
    return [(configs[kind],)] * n_targets


def _width_rules(level: float) -> tuple:
    """How the calibration computes widths on some folds' results and reads a cell's width."""
    return (lambda rs, p: _widths_at(rs, level, p), lambda ws, cat, j: width_for(ws, "*", cat, j))


def _widths_at(results: list, level: float, power: float) -> dict:
    """The calibration's widths on some folds' results at a given level (``transferred_level``)."""
    return conformal_widths("*", results, level, power)


def wider_widths(kind: str, own: dict, other: dict) -> dict[tuple[str, str, int], float]:
    """Cell by cell the wider of two sets of ``kind``'s widths: every key of either, at the wider of
    the two widths ``width_for`` reads for it (a key missing in one reads that one's fall-back, so a
    cell's width is the wider of what each set alone would give it)."""
    return {key: max(width_for(own, kind, *key[1:]), width_for(other, kind, *key[1:])) for key in {**own, **other}}


def _new_families(board, configs, columns, own: dict[str, list[str]], stage1, table) -> None:
    """Per kind in ``own`` (kind -> its folds): a covariate model of their own for new families' models
    without other scores (``new_families.py``) where leaving each of its fold groups out says so, set
    in ``configs`` and ``columns``; its records go to ``table``."""
    for kind, folds in own.items():
        option, errors = choose_unseen(board, configs[kind], folds, stage1)
        table.update({f"{kind}: new families without scores, {rule} (held-out fold)": e for rule, e in errors.items()})
        if option is None:
            continue
        configs[kind] = with_unseen((configs[kind],), option)[0]
        if kind in columns:
            columns[kind] = with_unseen(columns[kind], option)
        for config in dict.fromkeys((configs[kind], *columns.get(kind, ()))):
            board.score(config, folds)  # the widths read their results (the board scores lazily)


def conformal_widths(
    kind: str, results: list[FoldResult], level: float, power: float = 1.0
) -> dict[tuple[str, str, int], float]:
    """Split-conformal half-widths: the ceil((m + 1) level) / m quantile of the scaled residuals
    (``FoldResult.scaled``) per category and benchmark (per category pooled, and overall, where a
    group has fewer than MIN_CELLS)."""
    res = np.concatenate([r.scaled(power) for r in results])
    cols = np.concatenate([r.columns for r in results])
    cats = np.concatenate([r.categories for r in results])

    def quantile(values: np.ndarray) -> float:
        m = values.size
        return float(np.quantile(values, min(1.0, np.ceil((m + 1) * level) / m), method="higher"))

    widths: dict[tuple[str, str, int], float] = {(kind, "*", -1): quantile(res) if res.size else 2.0}
    for cat in CATEGORIES:
        inside = cats == cat
        if inside.sum() >= MIN_CELLS:
            widths[(kind, cat, -1)] = quantile(res[inside])
        for j in np.unique(cols[inside]):
            cell = inside & (cols == j)
            if cell.sum() >= MIN_CELLS:
                widths[(kind, cat, int(j))] = quantile(res[cell])
    return widths


def width_for(widths: dict[tuple[str, str, int], float], kind: str, cat: str, j: int) -> float:
    """The half-width for a cell: its kind's, else every fold's (``all``); within those, its
    category's, else the (wider) one without scores, else the kind's overall one."""
    return half_width(widths, kind, cat, j)[0]


def half_width(widths: dict[tuple[str, str, int], float], kind: str, cat: str, j: int) -> tuple[float, str]:
    """``width_for``'s half-width and the kind whose widths gave it (its spread power applies)."""
    fallback = cat.replace(", scores", ", no scores")
    for k in dict.fromkeys((kind, ALL)):
        for key in ((k, cat, j), (k, cat, -1), (k, fallback, j), (k, fallback, -1), (k, "*", -1)):
            if key in widths:
                return widths[key], k
    return 2.0, ALL
