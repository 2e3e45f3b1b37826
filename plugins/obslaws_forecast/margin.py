"""Choices with a margin: a less simple choice replaces a simpler one only where the inner folds'
paired differences say it is better by more than their noise (``ForecastFitter(choice_margin=)``).

The inner folds rank hundreds of configurations, members' weights and rules on a few fold
groups, and the winner often leads by 0.01-0.03 points, far less than the differences between
folds. This is the one-standard-error rule (Breiman et al. 1984; Hastie, Tibshirani and
Friedman, section 7.10): every candidate is compared with the best one unit (fold group) at a
time; among those whose mean difference to the best is within ``margin`` standard errors of
those differences, the simplest is taken. For a choice between a default and one alternative it
is a paired test: the alternative replaces the default only where its mean held-out difference
is below zero by more than ``margin`` standard errors (with two groups and a margin of one:
only where it wins on both). ``margin`` 0 is plain argmin, to the bit.

"Simpler" is structural, written down per decision in docs/forecasting.md ("Choices with a
margin"): the candidates are passed simplest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .calibration import fold_group
from .engine import COVERAGE, PLAIN_RANK, Config

# the choices a margin may apply to: the configuration search's stages 1-3 (``select._staged``), the
# held-out rules (own folds or every fold, per-target configurations, per-target blends, the stacked
# members' rule) and the stacked members' weight grid
MARGIN_CHOICES = ("stages", "rules", "weights")


def weighted_se(diffs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row of ``diffs`` (candidates, units): the standard error of its ``weights``-weighted
    mean (weights summing to 1), the units taken as independent draws of one spread (0 with a
    single unit: no spread to measure)."""
    w = np.asarray(weights, dtype=float)
    if w.size < 2:
        return np.zeros(diffs.shape[0])
    mean = diffs @ w
    variance = ((diffs - mean[:, None]) ** 2) @ w / (1.0 - float(np.sum(w**2)))
    return np.sqrt(variance * float(np.sum(w**2)))


def simplest_within(scores: np.ndarray, weights: Sequence[float], margin: float) -> int:
    """The first row of ``scores`` (candidates simplest first, units) whose weighted mean
    difference to the best row is within ``margin`` standard errors of those differences."""
    scores = np.asarray(scores, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    best = int(np.argmin(scores @ w))
    diffs = scores - scores[best]
    within = diffs @ w <= margin * weighted_se(diffs, w) + 1e-12
    return int(np.flatnonzero(within)[0])


def held_out_simplest(errors: Mapping[str, Mapping[str, float]], rules: Sequence[str], margin: float) -> str:
    """Among ``rules`` (simplest first), each with its held-out MAE per fold group in ``errors``:
    the simplest within ``margin`` standard errors of the best over the groups every rule held
    out (a rule that held none out cannot be taken; the first where none did)."""
    scored = [r for r in rules if errors.get(r)]
    groups = [g for g in errors[scored[0]] if all(g in errors[r] for r in scored)] if scored else []
    if not groups:
        return rules[0]
    table = np.array([[errors[r][g] for g in groups] for r in scored])
    return scored[simplest_within(table, np.ones(len(groups)), margin)]


def complexity(config: Config) -> tuple:
    """How much a configuration (``engine.Config``) adds to the plain covariate model, for sorting
    candidates simplest first: its parts and switches (release date, organisation level, low rank,
    the ridge on other benchmarks and each of its options, the stacked baseline), then the lower
    rank, the stronger ridge penalty, the stronger pooling, the lower baseline weight, the
    baseline's own rank and the lower blend."""
    parts = (
        config.drift,
        config.org,
        config.domain,
        config.rank > 0 and config.blend < 1,  # low rank takes part
        config.blend > 0,  # the ridge on correlated benchmarks takes part
        config.svd > 0,
    )
    ridge = config.blend > 0
    switches = (
        ridge and config.weighted,
        ridge and config.on_logits,
        ridge and config.on_logits and config.proxies,
        ridge and config.on_logits and config.positive,
        ridge and config.on_logits and config.recency > 0,
        config.inputs != COVERAGE,
    )
    baseline_rank = config.svd > 0 and config.svd_rank != PLAIN_RANK
    return (
        sum(parts) + sum(switches),
        config.rank,
        -config.alpha,
        -config.pooling,
        config.svd,
        baseline_rank,
        config.blend,
    )


def simplest_config(board, candidates: list[Config], folds: list[str], margin: float) -> Config:
    """``board.best`` (a ``select.Scoreboard``); with ``margin`` above 0, the simplest candidate
    (``complexity``) whose mean MAE over ``folds`` (each kind weighing the same) is within
    ``margin`` standard errors of the best's, the fold groups its units."""
    if margin <= 0:
        return board.best(candidates, folds)
    for config in candidates:
        board.score(config, folds)  # scores every fold of each candidate
    ordered = sorted(candidates, key=complexity)
    kinds = [board.kinds[f] for f in folds]
    share = [1 / (len(set(kinds)) * kinds.count(k)) for k in kinds]  # each kind weighing the same
    groups = list(dict.fromkeys(fold_group(f) for f in folds))
    unit = np.array([[w * (fold_group(f) == g) for g in groups] for f, w in zip(folds, share, strict=True)])
    maes = np.array([[board.result(c, f).mae for f in folds] for c in ordered])
    weights = unit.sum(axis=0)
    return ordered[simplest_within(maes @ unit / weights, weights, margin)]
