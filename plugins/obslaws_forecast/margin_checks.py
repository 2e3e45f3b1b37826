"""Whether a choice takes its margin (``margin.py``), decided on the inner folds one level up.

A margin keeps the simpler choice where the inner folds do not clearly prefer another; whether
that predicts better than plain argmin is a question of the same kind, asked the same way: a
kind leaves each of its fold groups out in turn, makes the choice without it both ways (plain,
and with the margin: each its own held-out comparison on the remaining groups, where the choice
has one) and scores both on the group left out. The margin is kept for that choice and kind
only if its mean over the groups is strictly lower (ties, as where the remaining groups are too
few to measure a spread, keep plain argmin). ``learned["compared"]`` records both per group:
``"<kind>: <choice>: plain / with margin (held-out fold)"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .calibration import fold_group, within, without
from .engine import Config
from .margin import simplest_config
from .per_benchmark import choose_per_benchmark, composite, held_out_wins
from .target_blends import choose_target_blends, composite_mae

PLAIN, MARGIN = "plain", "with margin"


def checked_margin(
    own: list[str], decide: Callable[[str, float], float], margin: float, table: dict, label: str
) -> float:
    """``margin`` if, leaving each fold group of ``own`` out, ``decide(group, margin)`` (the MAE on
    the group of the choice made without it) beats ``decide(group, 0)`` on average; else 0."""
    groups = list(dict.fromkeys(fold_group(f) for f in own))
    if margin <= 0 or len(groups) < 3:  # two groups leave one to choose on: no spread, the margin changes nothing
        return 0.0
    errors: dict[str, dict[str, float]] = {PLAIN: {}, MARGIN: {}}
    for group in groups:
        errors[PLAIN][group] = decide(group, 0.0)
        errors[MARGIN][group] = decide(group, margin)
    table[f"{label}: {PLAIN} / {MARGIN} (held-out fold)"] = errors
    return margin if held_out_wins(errors, MARGIN, PLAIN) else 0.0


def stage_margin(board, candidates: list[Config], own: list[str], margin: float, table: dict, kind: str) -> float:
    """The stages' margin for a kind choosing on ``own``: checked with the configuration chosen
    among every scored candidate (as ``held_out_rules.held_out_rule_errors`` does: the stages' own path
    depends on the folds)."""

    def decide(group: str, m: float) -> float:
        return board.score(simplest_config(board, candidates, without(own, group), m), within(own, group))

    return checked_margin(own, decide, margin, table, f"{kind}: stages")


def own_or_every_margin(board, rule_errors: Callable, own, every, candidates, margin, table, kind) -> float:
    """The margin of a kind's choice between its own folds and every fold (``rule_errors``:
    ``held_out_rules.held_out_rule_errors`` on given folds)."""

    def decide(group: str, m: float) -> float:
        rest_own, rest_every = without(own, group), without(every, group)
        errors = rule_errors(rest_own, rest_every)
        pool = rest_own if held_out_wins(errors, "own folds", "every fold", m) else rest_every
        return board.score(board.best(candidates, pool), within(own, group))

    return checked_margin(own, decide, margin, table, f"{kind}: own folds or every fold")


def per_benchmark_margin(board, candidates, pool, own, n_targets, margin, table, kind) -> float:
    """The margin of a kind's choice between its joint and per-target configurations."""

    def decide(group: str, m: float) -> float:
        rest_pool, held = without(pool, group), within(own, group)
        chosen, _ = choose_per_benchmark(board, candidates, rest_pool, without(own, group), n_targets, m)
        if chosen is None:
            return board.score(board.best(candidates, rest_pool), held)
        return float(np.mean([composite(board, chosen, f).mae for f in held]))

    return checked_margin(own, decide, margin, table, f"{kind}: per benchmark")


def blends_margin(board, configs: tuple[Config, ...], own, n_targets, recencies, margin, table, kind) -> float:
    """The margin of a kind's choice between its blend and a blend per target."""

    def decide(group: str, m: float) -> float:
        rest = without(own, group)
        blends, _ = choose_target_blends(board, configs, rest, n_targets, recencies=recencies, margin=m)
        return composite_mae(board, configs if blends is None else blends, within(own, group))

    return checked_margin(own, decide, margin, table, f"{kind}: blend per target")
