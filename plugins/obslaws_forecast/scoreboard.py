"""Every configuration the selection compares, scored on every inner fold once (``Scoreboard``):
each fold's hidden target cells predicted under it (``evaluate``), their errors, residuals and
categories kept for the kinds' choices and conformal widths (``select.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import Config, FoldCache
from .inner import seen_family
from .scale import from_logit, spread
from .sums import row_means

CATEGORIES = ("unseen family, no scores", "seen family, no scores", "unseen family, scores", "seen family, scores")


def category(seen: np.ndarray, has_scores: np.ndarray) -> np.ndarray:
    return np.array([CATEGORIES[int(s) + 2 * int(h)] for s, h in zip(seen, has_scores, strict=True)])


@dataclass
class FoldResult:
    mae: float
    residuals: np.ndarray  # logit residuals of the hidden target cells
    logits: np.ndarray  # their predicted logits
    columns: np.ndarray  # their benchmark index
    categories: np.ndarray  # their model's category
    errors: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their absolute errors in points
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # their row among the fold's query rows
    truth: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their scores
    # the stacked members' logit shift of each cell (member_domain.py; empty: none)
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def scaled(self, power: float = 1.0) -> np.ndarray:
        """|logit residual| x spread(prediction) ** power: what the conformal widths are quantiles of."""
        return np.abs(self.residuals) * spread(self.logits, power)


def evaluate(config: Config, cache: FoldCache, chance: np.ndarray, y: np.ndarray) -> FoldResult:
    k = cache.n_targets
    logits = cache.predict(config)
    hide, truth, z, columns, categories, rows, truth_hidden = hidden_cells(cache, y)
    error = np.abs(from_logit(logits, chance[None, :k]) - truth)[hide]
    hidden = logits[hide]  # the hidden cells' residuals: z - logits there, the same bits as on every cell
    return FoldResult(
        float(100 * error.mean()), z - hidden, hidden, columns, categories, 100 * error, rows, truth_hidden
    )


def hidden_cells(cache: FoldCache, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """What scoring any configuration on ``cache``'s fold reads (made once per fold): its hidden
    target cells (of the query rows), their scores ``y``, the hidden cells' logits, each one's
    benchmark index, category and row, and their scores."""
    return cache.memo("scoring", lambda: _scoring(cache, y))


def _scoring(cache: FoldCache, y: np.ndarray) -> tuple[np.ndarray, ...]:
    rows, k = cache.rows, cache.n_targets
    hide = cache.hide[rows][:, :k]
    trained = cache.train & cache.fit_obs[:, :k].any(axis=1)  # a family known by its inputs alone is new
    cats = category(seen_family(cache.table.family, trained)[rows], cache.fit_obs[rows].any(axis=1))
    r, c = np.nonzero(hide)
    truth = y[rows][:, :k]
    return hide, truth, cache.z[rows][:, :k][hide], c, cats[r], r, truth[hide]


def _mean(values: list[float]) -> float:
    """``np.mean(values)`` (the same sum, the same division), without its per-call overhead: the
    selection takes hundreds of thousands of these means of a few values."""
    return float(np.add.reduce(np.asarray(values, dtype=float)) / len(values))


@dataclass
class Scoreboard:
    """Every configuration scored on every inner fold, each once."""

    caches: dict[str, FoldCache]
    kinds: dict[str, str]  # fold name -> the kind of query model it stands for
    chance: np.ndarray
    y: np.ndarray
    results: dict[Config, list[FoldResult]] = field(default_factory=dict)
    # configuration -> (folds, targets) mean errors, memoised by per_benchmark.fold_column_errors
    column_errors: dict[Config, np.ndarray] = field(default_factory=dict)
    # (configuration, folds) -> score: the stages and the held-out rules ask for half of them twice
    scores: dict[tuple[Config, tuple[str, ...]], float] = field(default_factory=dict)

    def score(self, config: Config, folds: list[str]) -> float:
        """The mean MAE over ``folds``, each kind of fold weighing the same (six time folds do not
        outvote one compute fold)."""
        key = (config, tuple(folds))
        if key not in self.scores:
            self._evaluate(config)
            self.scores[key] = self.kind_mean([self.result(config, f).mae for f in folds], folds)
        return self.scores[key]

    def kind_mean(self, maes: list[float], folds: list[str]) -> float:
        """The mean of ``maes`` (one per fold of ``folds``), each kind of fold weighing the same."""
        by_kind: dict[str, list[float]] = {}
        for f, mae in zip(folds, maes, strict=True):
            by_kind.setdefault(self.kinds[f], []).append(mae)
        return _mean([_mean(v) for v in by_kind.values()])

    def result(self, config: Config, fold: str) -> FoldResult:
        """``config``'s result on ``fold`` (scored already)."""
        return self.results[config][self._position[fold]]

    def best(self, candidates: list[Config], folds: list[str]) -> Config:
        """The first candidate of the lowest ``score``, every candidate scored at once (to the bit: ``sums``)."""
        scores = self.scores_of(candidates, folds)
        if scores is None:  # no fold: every score NaN, the first candidate (as ``score`` makes it)
            return candidates[0]
        return candidates[int(np.argmin(scores))]  # the first of equals: the earlier, simpler one

    def scores_of(self, candidates: list[Config], folds: list[str]) -> np.ndarray | None:
        """Every candidate's ``score`` on ``folds`` at once (to the bit: ``sums``); None without folds."""
        maes = np.array([self._mae_row(c) for c in candidates])
        groups: dict[str, list[int]] = {}
        for f in folds:
            groups.setdefault(self.kinds[f], []).append(self._position[f])
        if not groups:
            return None
        return row_means(np.column_stack([row_means(maes[:, i]) for i in groups.values()]))

    def __post_init__(self) -> None:
        self._position = {name: i for i, name in enumerate(self.caches)}
        # configuration -> its results and their MAE on every fold (anew where its results were replaced)
        self._maes: dict[Config, tuple[list[FoldResult], np.ndarray]] = {}

    def evaluate_covariates_together(self, configs: list[Config]) -> None:
        """Score ``configs`` with those of the same drift and levels one after another (each fold
        keeps only its latest normal equations: ``FoldCache._equations``), recorded in the order
        given, as scoring them one by one would record them."""
        todo = [c for c in configs if c not in self.results]
        order = sorted(range(len(todo)), key=lambda i: (todo[i].drift, todo[i].levels))  # stable: poolings in turn
        scored = {todo[i]: self._on_every_fold(todo[i]) for i in order}
        self.results.update({c: scored[c] for c in todo})

    def _on_every_fold(self, config: Config) -> list[FoldResult]:
        return [evaluate(config, c, self.chance, self.y) for c in self.caches.values()]

    def _evaluate(self, config: Config) -> list[FoldResult]:
        results = self.results.get(config)
        if results is None:
            results = self.results[config] = self._on_every_fold(config)
        return results

    def _mae_row(self, config: Config) -> np.ndarray:
        """``config``'s MAE on every fold (scored here if not yet), two dictionary look-ups where it was."""
        results = self._evaluate(config)
        kept = self._maes.get(config)
        if kept is None or kept[0] is not results:
            kept = self._maes[config] = (results, np.array([r.mae for r in results]))
        return kept[1]

    def fold_results(self, config: Config, folds: list[str]) -> list[FoldResult]:
        return [self.result(config, f) for f in folds]

    def table(self) -> dict[str, dict[str, float]]:
        return {c.label(): {f: r.mae for f, r in zip(self.caches, rs, strict=True)} for c, rs in self.results.items()}
