"""A covariate model of their own for new families' query models without other scores, per kind,
kept where the inner folds say so.

Stage 1 chooses the covariate model (pooling, drift, organisation level) on every hidden cell of a
kind's folds, most of them of families with training models, and stage 2 adds the model's other
scores, which most query models have. With strong family effects (pooling 0.5) the slopes in size
and tokens are within-family slopes, and a family without training models gets the average
family's level plus its organisation's effect; weaker family effects let the slopes carry what
separates families (tokens, release date), which is what such a family's level needs. Where such a
model has no other score, the covariate model is all its prediction is made of. So, after a kind's
configuration is chosen, the kind may give those models (new family, no other score) the covariate
model of another stage-1 configuration (``Config.unseen``), chosen by what stage 1 scored on the
cells of new families' models on the kind's folds (the covariate model alone, their other scores
unread, so every new family's cell counts, each fold weighing the same). The kind keeps it only if,
leaving each of its fold groups out in turn, the covariate model chosen without that group predicts
that group's new families' cells better than the kind's own.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .calibration import leave_group_out
from .engine import Config
from .per_benchmark import held_out_wins

UNSEEN_KINDS = ("later", "larger")  # kinds whose folds hold new families' models (time cuts at n = 0, the gap fold)
NEW_FAMILY = "unseen family"  # how select.CATEGORIES begin for a model whose family has no training model


def _covariate(config: Config) -> tuple[float, bool, bool, bool]:
    return config.pooling, config.drift, config.org, config.domain


def new_family_errors(board, stage1: list[Config], folds: list[str]) -> dict[tuple, dict[str, float]]:
    """Per stage-1 covariate model, per fold of ``folds`` with new families' cells: their MAE."""
    errors: dict[tuple, dict[str, float]] = {}
    for config in stage1:
        board.score(config, folds)
        for fold in folds:
            result = board.result(config, fold)
            new = np.char.startswith(result.categories.astype(str), NEW_FAMILY)
            if new.any():
                errors.setdefault(_covariate(config), {})[fold] = float(result.errors[new].mean())
    return errors


def _mean(errors: dict[str, float], folds: list[str]) -> float:
    return float(np.mean([errors[f] for f in folds]))


def _best(errors: dict[tuple, dict[str, float]], folds: list[str]) -> tuple:
    options = list(errors)
    return options[int(np.argmin([_mean(errors[o], folds) for o in options]))]  # the first of equals


def choose_unseen(
    board, own_config: Config, own: list[str], stage1: list[Config]
) -> tuple[tuple[float, bool, bool, bool] | None, dict[str, dict[str, float]]]:
    """New families' covariate model (pooling, drift, org, domain) chosen on ``own`` (the kind's folds) if
    leaving each of its fold groups out says it beats ``own_config``'s, else None; and the held-out
    MAE of both rules per group (new families' cells, the covariate model alone), for the record."""
    errors = new_family_errors(board, stage1, own)
    folds = [f for f in own if all(f in e for e in errors.values())] if errors else []
    record: dict[str, dict[str, float]] = {"kind's covariate model": {}, "new families' own": {}}
    kind = _covariate(own_config)
    if kind not in errors or not folds:
        return None, record
    for group, held, rest in leave_group_out(folds):
        if rest:
            record["kind's covariate model"][group] = _mean(errors[kind], held)
            record["new families' own"][group] = _mean(errors[_best(errors, rest)], held)
    if not held_out_wins(record, "new families' own", "kind's covariate model"):
        return None, record
    best = _best(errors, folds)
    return (None if best == kind else best), record


def with_unseen(configs: tuple[Config, ...], option: tuple[float, bool, bool, bool]) -> tuple[Config, ...]:
    """Every target's configuration with ``option`` as new families' covariate model (a target whose
    own covariate model it is keeps its configuration as it is)."""
    return tuple(c if _covariate(c) == option else replace(c, unseen=option) for c in configs)
