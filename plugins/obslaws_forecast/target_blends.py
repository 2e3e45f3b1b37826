"""A blend per target for the kinds that ask for it (``later`` by default), kept where the inner
folds say so.

One blend of the covariate model and the ridge on correlated benchmarks for every target is a
compromise: on the time cuts GSM8K and MMLU follow their closest other benchmarks (GSM8K with
chain of thought, MMLU-Pro) further than ARC or WinoGrande follow theirs. ``per_benchmark.py``
lets a target take any scored configuration, but only with 20 hidden cells on every fold of
the pool, which the small time windows rarely have (18 on the 6-month cut at n = 1), and among
hundreds of configurations. Here only the blend moves (the kind's configuration otherwise
kept), each target's cells counted over the kind's folds together (each fold weighing the same),
and the kind keeps the blends only if leaving each of its fold groups out in turn says the
blends chosen without that group predict it better than the kind's configuration does.

Since the blend may also come with recency weights in the ridge on logits (``RECENCIES``: the
ridge's training models weighted by 0.5 ** (their age in years before the latest training release
/ half-life), ``Config.recency``): how a target follows its closest benchmarks moves with time
(chat models, answer extraction), and a later release asks what the latest models show. Forced on
every configuration it helped the forward tests but hurt the inner 6-month cut at n = 0, so it is
a choice per target here, under the same held-out rule.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .calibration import fold_group, rest_of, within
from .engine import Config
from .per_benchmark import MIN_CELLS, column_errors, composite, held_out_wins

BLENDS = (0.25, 0.5, 0.75, 1.0)  # the blends each target may take (its kind's among them)
RECENCIES = (0.0, 1.0)  # half-lives (years) of the ridge on logits' weights each blend may take (0: none)


def blend_candidates(
    configs: tuple[Config, ...], blends: tuple[float, ...], recencies: tuple[float, ...] = (0.0,)
) -> list[tuple[Config, ...]]:
    """The kind's configuration per target (``configs``), then per blend and recency every target's
    configuration at that blend and (where its ridge reads logits) recency; none where a target's
    configuration has no ridge (blend 0: nothing to blend)."""
    if any(c.blend <= 0 for c in configs):
        return []
    return [
        configs,
        *(
            tuple(replace(c, blend=b, recency=h if c.on_logits else c.recency) for c in configs)
            for h in recencies
            for b in blends
        ),
    ]


def best_blends(board, candidates: list[tuple[Config, ...]], folds: list[str], n_targets: int) -> tuple[Config, ...]:
    """Per target, the candidate whose configuration for it has the lowest mean MAE on its cells
    over ``folds`` (the first of equals: the kind's own); the kind's own where a target has fewer
    than MIN_CELLS hidden cells over them."""
    own = candidates[0]
    counts = sum(np.bincount(r.columns, minlength=n_targets) for r in board.fold_results(own[0], folds))
    errors = np.stack(
        [np.diag(np.stack([column_errors(board, c, folds, n_targets) for c in cands])) for cands in candidates]
    )
    pick = np.argmin(np.where(np.isnan(errors), np.inf, errors), axis=0)
    return tuple(candidates[int(p) if counts[j] >= MIN_CELLS else 0][j] for j, p in enumerate(pick))


def _score_all(board, candidates: list[tuple[Config, ...]], folds: list[str]) -> None:
    """Make sure every candidate configuration is scored (the board scores lazily)."""
    for config in dict.fromkeys(c for cands in candidates for c in cands):
        board.score(config, folds)


def composite_mae(board, configs: tuple[Config, ...], folds: list[str]) -> float:
    """The mean over ``folds`` of the MAE with each target predicted by its own configuration."""
    return float(np.mean([composite(board, configs, f).mae for f in folds]))


def choose_target_blends(
    board,
    configs: tuple[Config, ...],
    own: list[str],
    n_targets: int,
    blends: tuple[float, ...] = BLENDS,
    recencies: tuple[float, ...] = (0.0,),
    margin: float = 0.0,
) -> tuple[tuple[Config, ...] | None, dict[str, dict[str, float]]]:
    """The blend (and recency) per target chosen on ``own`` (the kind's folds) if leaving each of its
    fold groups out says it beats ``configs`` (the kind's configuration per target; by ``margin``:
    ``held_out_wins``), else None; and the held-out MAE of both rules per group, for the record."""
    candidates = blend_candidates(configs, blends, recencies)
    errors: dict[str, dict[str, float]] = {"kind's blend": {}, "blend per target": {}}
    if len(candidates) < 2:
        return None, errors
    _score_all(board, candidates, own)
    for group in dict.fromkeys(fold_group(f) for f in own):
        held = within(own, group)
        rest = rest_of(own, held, group)
        if not rest:
            continue
        errors["kind's blend"][group] = composite_mae(board, configs, held)
        errors["blend per target"][group] = composite_mae(board, best_blends(board, candidates, rest, n_targets), held)
    if not held_out_wins(errors, "blend per target", "kind's blend", margin):
        return None, errors
    return best_blends(board, candidates, own, n_targets), errors
