"""The held-out rules each kind of query model applies after the stages (``select.choose``):
whether it chooses on its own folds or on every fold, whether each target takes its own
configuration (``per_benchmark.py``) and, for the kinds that ask, its own blend
(``target_blends.py``); each by leaving its fold groups out in turn, with a margin where
``margin_checks.py`` keeps one."""

from __future__ import annotations

from .calibration import fold_group, rest_of, within
from .engine import Config
from .margin_checks import blends_margin, own_or_every_margin, per_benchmark_margin
from .per_benchmark import choose_per_benchmark, held_out_wins
from .target_blends import choose_target_blends


def held_out_rule_errors(
    board, own: list[str], every: list[str], svd_ranks: tuple[int, ...]
) -> dict[str, dict[str, float]]:
    """Whether a kind should choose on its own folds or on every fold, judged by leaving each of its
    own folds (a time cut with its n = 0 and n = 1 variants together) out: the MAE there of the
    configuration each rule picks (among those scored with a stacked rank in ``svd_ranks``) without it."""
    candidates = scored_candidates(board, svd_ranks)
    groups = dict.fromkeys(fold_group(f) for f in own)
    errors: dict[str, dict[str, float]] = {"own folds": {}, "every fold": {}}
    for group in groups:
        held = within(own, group)
        for rule, pool in (("own folds", own), ("every fold", every)):
            rest = rest_of(pool, held, group)
            if rest:
                errors[rule][group] = board.score(board.best(candidates, rest), held)
    return errors


def scored_candidates(board, svd_ranks: tuple[int, ...]) -> list[Config]:
    """Every configuration scored so far with a stacked rank in ``svd_ranks`` (or none stacked)."""
    return [c for c in board.results if c.svd <= 0 or c.svd_rank in svd_ranks]


def own_or_every(
    board, configs, own, every, choosing, ranks3, table, margin: float, checked: bool, every_kind: str = "all"
) -> dict[str, str]:
    """Per kind choosing: its own folds' configuration or every fold's (``held_out_rule_errors``;
    by ``margin``, where ``checked`` says so), ``configs`` updated."""
    rules = {}
    for kind in choosing:
        errors = held_out_rule_errors(board, own[kind], every, ranks3[kind])
        cands = scored_candidates(board, ranks3[kind])

        def rule_errors(o: list[str], e: list[str], kind: str = kind) -> dict:
            return held_out_rule_errors(board, o, e, ranks3[kind])

        m = own_or_every_margin(board, rule_errors, own[kind], every, cands, margin, table, kind) if checked else margin
        rules[kind] = "own folds" if held_out_wins(errors, "own folds", "every fold", m) else "every fold"
        if rules[kind] == "every fold":
            configs[kind] = configs[every_kind]
        table.update({f"{kind}: choose on {rule} (held-out fold)": e for rule, e in errors.items()})
    return rules


def per_target_configs(board, own, every, rules, ranks3, table, margin: float, checked: bool) -> dict:
    """Per kind with folds: a configuration per target (chosen on the folds its rule chose on,
    among every configuration scored) if leaving each of its fold groups out says so."""
    n_targets = next(iter(board.caches.values())).n_targets
    columns = {}
    for kind in rules:
        pool = own[kind] if rules[kind] == "own folds" else every
        candidates = scored_candidates(board, ranks3[kind])
        m = (
            per_benchmark_margin(board, candidates, pool, own[kind], n_targets, margin, table, kind)
            if checked
            else margin
        )
        chosen, errors = choose_per_benchmark(board, candidates, pool, own[kind], n_targets, m)
        table.update({f"{kind}: {rule} (held-out fold)": e for rule, e in errors.items()})
        if chosen is not None:
            columns[kind] = chosen
    return columns


def target_blends(
    board, configs, columns, own: dict[str, list[str]], table, recencies, margin: float, checked: bool
) -> dict[str, tuple[Config, ...]]:
    """Per kind in ``own`` (kind -> its folds): a blend (and ``recencies``' half-life of the ridge on
    logits) per target (``target_blends.py``) where leaving each of its fold groups out says so; its
    records go to ``table``."""
    n_targets = next(iter(board.caches.values())).n_targets
    chosen = {}
    for kind, folds in own.items():
        per_target = columns.get(kind, (configs[kind],) * n_targets)
        m = blends_margin(board, per_target, folds, n_targets, recencies, margin, table, kind) if checked else margin
        blends, errors = choose_target_blends(board, per_target, folds, n_targets, recencies=recencies, margin=m)
        table.update({f"{kind}: {rule} (held-out fold)": e for rule, e in errors.items()})
        if blends is not None:
            chosen[kind] = blends
    return chosen
