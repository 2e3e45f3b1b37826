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

    def fit(self, residuals: np.ndarray, observed: np.ndarray) -> CorrelatedRidge:
        self.residuals_, self.observed_ = residuals, observed
        self.corr_, self.common_ = pairwise_correlation(residuals, observed)
        self.memo_ = {}
        return self

    def _one(self, target: int, visible: np.ndarray, values: np.ndarray) -> float:
        candidates = np.flatnonzero(visible & (self.common_[target] >= self.min_common))
        candidates = candidates[candidates != target]
        if not candidates.size:
            return np.nan
        chosen = tuple(int(c) for c in candidates[np.argsort(-np.abs(self.corr_[target, candidates]))][: self.k])
        used, beta = self._coefficients(target, chosen)
        return float(values[list(used)] @ beta) if used else np.nan

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
                    beta = np.linalg.solve(
                        x.T @ x + self.ridge * np.eye(len(used)), x.T @ self.residuals_[rows, target]
                    )
                    break
                used.pop()
            self.memo_[key] = (tuple(used), beta)
        return self.memo_[key]

    def predict(self, residuals: np.ndarray, observed: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Residuals (n, len(targets)) for the ``targets`` columns; NaN where nothing correlates."""
        out = np.full((residuals.shape[0], targets.size), np.nan)
        for i in range(residuals.shape[0]):
            if observed[i].any():
                for c, t in enumerate(targets):
                    out[i, c] = self._one(int(t), observed[i], residuals[i])
        return out
