"""Choosing the forecaster's configuration and its interval widths on inner folds."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from .engine import Config, FoldCache
from .inner import seen_family
from .scale import from_logit

CATEGORIES = ("unseen family, no scores", "seen family, no scores", "unseen family, scores", "seen family, scores")
MIN_CELLS = 20


@dataclass
class Selection:
    config: Config
    # configuration label -> {fold name: MAE in points}: every comparison made, for the record
    table: dict[str, dict[str, float]] = field(default_factory=dict)
    # (category, benchmark index) -> half-width on the logit scale; (category, -1) pooled
    widths: dict[tuple[str, int], float] = field(default_factory=dict)


def category(seen: np.ndarray, has_scores: np.ndarray) -> np.ndarray:
    return np.array([CATEGORIES[int(s) + 2 * int(h)] for s, h in zip(seen, has_scores, strict=True)])


@dataclass
class FoldResult:
    mae: float
    residuals: np.ndarray  # logit residuals of the hidden target cells
    columns: np.ndarray  # their benchmark index
    categories: np.ndarray  # their model's category


def evaluate(config: Config, cache: FoldCache, chance: np.ndarray, y: np.ndarray) -> FoldResult:
    rows, k = cache.rows, cache.n_targets
    logits = cache.predict(config)
    hide = cache.hide[rows][:, :k]
    error = np.abs(from_logit(logits, chance[None, :k]) - y[rows][:, :k])[hide]
    cats = category(seen_family(cache.table.family, cache.train)[rows], cache.fit_obs[rows].any(axis=1))
    r, c = np.nonzero(hide)
    return FoldResult(float(100 * error.mean()), (cache.z[rows][:, :k] - logits)[hide], c, cats[r])


def select(candidates: list[Config], caches: dict[str, FoldCache], chance, y):
    table, best, best_score, best_results = {}, candidates[0], np.inf, []
    for config in candidates:
        results = [evaluate(config, cache, chance, y) for cache in caches.values()]
        table[config.label()] = {name: r.mae for name, r in zip(caches, results, strict=True)}
        score = float(np.mean([r.mae for r in results]))
        if score < best_score - 1e-9:
            best, best_score, best_results = config, score, results
    return best, table, best_results


def choose(
    poolings, drifts, ranks, alphas, blends, caches: dict[str, FoldCache], chance, y
) -> tuple[Selection, list[FoldResult]]:
    """Stage 1: covariate model (pooling x drift) alone; stage 2: rank x alpha x blend of the
    residual components (rank 0 and blend 0 among them: no use of the model's other scores)."""
    stage1 = [Config(pooling=p, drift=d, rank=0) for p, d in itertools.product(poolings, drifts)]
    best, table, results = select(stage1, caches, chance, y)
    stage2 = [
        replace(best, rank=r, alpha=a, blend=b)
        for r, a, b in itertools.product((0, *ranks), alphas, blends)
        if (r, b) != (0, 0) and not (r == 0 and a != alphas[0])
    ]
    if stage2:
        best2, table2, results2 = select([best, *stage2], caches, chance, y)
        table.update(table2)
        best, results = best2, results2
    return Selection(best, table), results


def conformal_widths(results: list[FoldResult], level: float) -> dict[tuple[str, int], float]:
    """Split-conformal half-widths: the ceil((m + 1) level) / m quantile of |residual| per category
    and benchmark (per category pooled, and overall, where a group has fewer than MIN_CELLS)."""
    res = np.abs(np.concatenate([r.residuals for r in results])) if results else np.zeros(0)
    cols = np.concatenate([r.columns for r in results]) if results else np.zeros(0, dtype=int)
    cats = np.concatenate([r.categories for r in results]) if results else np.zeros(0, dtype=str)

    def quantile(values: np.ndarray) -> float:
        m = values.size
        return float(np.quantile(values, min(1.0, np.ceil((m + 1) * level) / m), method="higher"))

    widths: dict[tuple[str, int], float] = {("*", -1): quantile(res) if res.size else 2.0}
    for cat in CATEGORIES:
        inside = cats == cat
        if inside.sum() >= MIN_CELLS:
            widths[(cat, -1)] = quantile(res[inside])
        for j in np.unique(cols[inside]):
            cell = inside & (cols == j)
            if cell.sum() >= MIN_CELLS:
                widths[(cat, int(j))] = quantile(res[cell])
    return widths


def width_for(widths: dict[tuple[str, int], float], cat: str, j: int) -> float:
    """The half-width for a cell; a category the inner folds never saw borrows the (wider) one
    without scores, then the overall one."""
    for key in (
        (cat, j),
        (cat, -1),
        (cat.replace(", scores", ", no scores"), j),
        (cat.replace(", scores", ", no scores"), -1),
    ):
        if key in widths:
            return widths[key]
    return widths[("*", -1)]
