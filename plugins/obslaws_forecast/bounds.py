"""Intervals mapped back from the logit scale, and near the floor and the ceiling on the score scale
where a kind's inner folds say so.

A width is a conformal quantile of |logit residual| x spread(prediction) ** power (``scale.spread``,
``calibration.py``), and the interval is the prediction plus and minus width / spread on the logit
scale. Where the prediction is within about 3% of a bound the spread is floored
(``scale.SPREAD_FLOOR``), and the logit step a width learnt in the middle of the scale becomes
there maps back to nearly the whole scale (a model predicted at 1% of GSM8K bounded by 0-97%),
while a score at the floor itself (0 on a benchmark without a chance level) lies below every such
interval, whose lower end never reaches it. The other mapping (``NEAR``) takes, for those
predictions only, the prediction plus and minus width x SPREAD_FLOOR ** (1 - power) on the score
scale (what the width stands for there to first order), clipped to the scale. A kind takes it only
if, leaving each of its fold groups out in turn (widths from the other groups, as its own are
computed), the held-out groups' mean interval score is lower (``obslaws.backtest.metrics``' score:
the width plus 2 / (1 - level) times each miss's distance, in points).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from obslaws.backtest.metrics import interval_score  # the backtests' score, so the folds choose by what they report

from .calibration import held_out_groups
from .scale import SPREAD_FLOOR, near_bound, sigmoid, spread

LOGIT = "logit"
NEAR = "score near bounds"
# the record of ``choose_mapping`` in the fit's ``compared``, after "<kind>: "
MAPPING_RECORD = "held-out interval score (points), logit / score near bounds"


def bounds(
    z: np.ndarray, width: np.ndarray, power: np.ndarray, chance: np.ndarray, near_scores: np.ndarray | bool
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper scores of the intervals around logit predictions ``z`` of half-widths ``width``
    (each cell's spread ``power``); where ``near_scores`` and the prediction is near a bound, on the
    score scale."""
    half = width / spread(z, power)
    low, high = sigmoid(z - half), sigmoid(z + half)
    near = near_bound(z) & near_scores
    if np.any(near):
        p, step = sigmoid(z), width * SPREAD_FLOOR ** (1.0 - power)
        low = np.where(near, np.clip(p - step, 0.0, 1.0), low)
        high = np.where(near, np.clip(p + step, 0.0, 1.0), high)
    return chance + (1.0 - chance) * low, chance + (1.0 - chance) * high


def choose_mapping(
    results: dict[str, object],
    level: float,
    power: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
    chance: np.ndarray,
    every: dict[str, object] | None = None,
) -> tuple[str, dict[str, dict[str, float]]]:
    """``NEAR`` if, leaving each fold group of ``results`` out in turn, its cells' mean interval score
    is lower on average over the groups with it than with the logit mapping (widths from the other
    groups; with ``every``: the wider, cell by cell, of those and ``every``'s folds outside the group,
    as the kind's widths are), else ``LOGIT``; also each mapping's score per held-out group."""
    record: dict[str, dict[str, float]] = {LOGIT: {}, NEAR: {}}
    for group, held, width in held_out_groups(results, power, widths_of, width_for, every):
        if any(r.truth.size != r.logits.size for r in held):
            continue
        z = np.concatenate([r.logits for r in held])
        cols = np.concatenate([r.columns for r in held])
        truth = np.concatenate([r.truth for r in held])
        for mapping in (LOGIT, NEAR):
            lower, upper = bounds(z, width, np.full(z.size, power), chance[cols], mapping == NEAR)
            record[mapping][group] = float(100 * interval_score(lower, upper, truth, level).mean())
    if not record[LOGIT]:
        return LOGIT, record
    means = {m: float(np.mean(list(scores.values()))) for m, scores in record.items()}
    return (NEAR if means[NEAR] < means[LOGIT] else LOGIT), record
