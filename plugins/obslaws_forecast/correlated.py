"""Ridge regression on a model's most correlated benchmarks (BenchPress's second component).

Low rank captures what all benchmarks share; some pairs are far closer than that (two metrics
of the same task, MMLU and MMLU-Pro). For each missing cell (model i, benchmark t), take the
``k`` benchmarks that model has whose training residuals correlate most with t's (over at least
``min_common`` models that have both), regress t on them over the training models that have
all of them (ridge), and predict. Cells with no usable benchmark get NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def pairwise_correlation(r: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlations (J, J) over the rows where both columns are observed, and those row counts."""
    o = observed.astype(float)
    x = np.where(observed, r, 0.0)
    n = o.T @ o
    s = x.T @ o  # s[a, b]: sum of column a over rows where b is observed too
    ss = (x**2).T @ o
    sab = x.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = n * sab - s * s.T
        var = (n * ss - s**2) * (n * ss.T - s.T**2)
        corr = np.where(var > 0, cov / np.sqrt(np.maximum(var, 1e-300)), 0.0)
    return np.nan_to_num(corr), n


@dataclass
class CorrelatedRidge:
    k: int = 3
    ridge: float = 1.0
    min_common: int = 10
    residuals_: np.ndarray | None = field(default=None, repr=False)
    observed_: np.ndarray | None = field(default=None, repr=False)
    corr_: np.ndarray | None = field(default=None, repr=False)
    common_: np.ndarray | None = field(default=None, repr=False)
    memo_: dict = field(default_factory=dict, repr=False)
    # (n, J) weights of the training cells (None: every model weighs the same)
    weights_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, residuals: np.ndarray, observed: np.ndarray, weights: np.ndarray | None = None) -> CorrelatedRidge:
        """``weights`` (optional, per cell): how much each training model's target cell counts in
        the regression (p (1 - p): a score at the floor says little about how far below it is)."""
        self.residuals_, self.observed_, self.weights_ = residuals, observed, weights
        self.corr_, self.common_ = pairwise_correlation(residuals, observed)
        self.memo_ = {}
        return self

    def _choice(self, target: int, visible: np.ndarray) -> tuple[int, ...]:
        """The ``k`` benchmarks among ``visible`` (and usable) that correlate most with ``target``, most first."""
        candidates = np.flatnonzero(visible & (self.common_[target] >= self.min_common))
        candidates = candidates[candidates != target]
        return tuple(int(c) for c in candidates[np.argsort(-np.abs(self.corr_[target, candidates]))][: self.k])

    def _coefficients(self, target: int, chosen: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray]:
        """The ridge on ``chosen`` (dropping the least correlated while too few models have them
        all); memoised, since most query models share their benchmarks."""
        key = (target, chosen)
        if key not in self.memo_:
            used, beta = list(chosen), np.zeros(0)
            while used:
                rows = self.observed_[:, target] & self.observed_[:, used].all(axis=1)
                if rows.sum() >= self.min_common:
                    x = self.residuals_[np.ix_(rows, used)]
                    w = np.ones(x.shape[0]) if self.weights_ is None else self.weights_[rows, target]
                    w = w / w.mean()  # the ridge penalty keeps its scale
                    beta = np.linalg.solve(
                        x.T @ (w[:, None] * x) + self.ridge * np.eye(len(used)),
                        x.T @ (w * self.residuals_[rows, target]),
                    )
                    break
                used.pop()
            self.memo_[key] = (tuple(used), beta)
        return self.memo_[key]

    def predict(self, residuals: np.ndarray, observed: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Residuals (n, len(targets)) for the ``targets`` columns; NaN where nothing correlates."""
        out = np.full((residuals.shape[0], targets.size), np.nan)
        rows = np.flatnonzero(observed.any(axis=1))
        for c, t in enumerate(targets):
            for chosen, members in self._chosen_by_row(int(t), observed[rows]).items():
                used, beta = self._coefficients(int(t), chosen) if chosen else ((), None)
                if used:
                    index = list(used)
                    for i in rows[members]:  # one dot per model, as a model alone would get it
                        out[i, c] = float(residuals[i][index] @ beta)
        return out

    def _chosen_by_row(self, target: int, visible: np.ndarray) -> dict[tuple[int, ...], list[int]]:
        """Per row of ``visible``: the ``k`` benchmarks it has that correlate most with ``target``
        (``_choice``'s), grouped: chosen benchmarks -> rows. Where no two candidates correlate
        equally, one ranking of every benchmark serves every row."""
        eligible = self.common_[target] >= self.min_common
        eligible[target] = False
        strength = np.abs(self.corr_[target])
        groups: dict[tuple[int, ...], list[int]] = {}
        if np.unique(strength[eligible]).size < eligible.sum():  # ties: each row ranks its own
            for i, row in enumerate(visible):
                groups.setdefault(self._choice(target, row), []).append(i)
            return groups
        order = np.argsort(-strength, kind="stable")
        ranked = (visible & eligible)[:, order]
        first = ranked & (np.cumsum(ranked, axis=1) <= self.k)
        for i, picked in enumerate(first):
            groups.setdefault(tuple(order[picked].tolist()), []).append(i)
        return groups
