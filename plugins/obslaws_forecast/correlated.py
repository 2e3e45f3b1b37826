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
    # fit an intercept (on logits rather than residuals: the columns are not centred on the rows used)
    intercept: bool = False
    # read only benchmarks whose correlation with the target is positive: on logits, a negative one
    # is inverse scaling among small models (TruthfulQA against XWinograd), which reverses past them
    positive: bool = False

    def fit(
        self,
        residuals: np.ndarray,
        observed: np.ndarray,
        weights: np.ndarray | None = None,
        correlation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> CorrelatedRidge:
        """``weights`` (optional, per cell): how much each training model's target cell counts in
        the regression (p (1 - p): a score at the floor says little about how far below it is).
        ``correlation``: ``pairwise_correlation(residuals, observed)`` where already computed (it
        does not depend on the weights)."""
        self.residuals_, self.observed_, self.weights_ = residuals, observed, weights
        self.corr_, self.common_ = pairwise_correlation(residuals, observed) if correlation is None else correlation
        self.memo_ = {}
        return self

    def _eligible(self, target: int) -> np.ndarray:
        """The benchmarks ``target`` may be regressed on: enough common models (and, with
        ``positive``, a positive correlation), not itself."""
        eligible = self.common_[target] >= self.min_common
        if self.positive:
            eligible &= self.corr_[target] > 0
        eligible[target] = False
        return eligible

    def _choice(self, target: int, visible: np.ndarray) -> tuple[int, ...]:
        """The ``k`` benchmarks among ``visible`` (and usable) that correlate most with ``target``, most first."""
        candidates = np.flatnonzero(visible & self._eligible(target))
        return tuple(int(c) for c in candidates[np.argsort(-np.abs(self.corr_[target, candidates]))][: self.k])

    def _solve(self, pairs: list[tuple[int, tuple[int, ...]]]) -> None:
        """Memoise, per (target, chosen benchmarks) of ``pairs``, the benchmarks its ridge uses
        (dropping the least correlated while too few training models have them all) and the
        ridge's coefficients; those not memoised yet all at once, as stacked arrays solved in one
        batch (most query models share their benchmarks, so few are new)."""
        todo = [p for p in dict.fromkeys(pairs) if p not in self.memo_]
        if not todo:
            return
        targets = np.array([t for t, _ in todo])
        lengths = np.array([len(c) for _, c in todo])
        width = max(1, lengths.max())
        # padded with each choice's target (any column: the padding is never used)
        index = np.array([(*c, *(t,) * (width - len(c))) for t, c in todo])
        # rows[:, i, l]: the training rows with pair i's target and the first l + 1 of its benchmarks
        rows = np.logical_and.accumulate(self.observed_[:, index], axis=2) & self.observed_[:, targets, None]
        enough = (rows.sum(axis=0) >= self.min_common) & (np.arange(width) < lengths[:, None])
        kept = enough.sum(axis=1)  # rows only shrink as benchmarks are added: the longest prefix with enough
        w = np.ones((rows.shape[0], targets.size)) if self.weights_ is None else self.weights_[:, targets]
        for size in np.unique(kept).tolist():
            members = np.flatnonzero(kept == size)
            if size == 0:
                self.memo_.update({todo[i]: ((), np.zeros(0), 0.0) for i in members})
                continue
            mask = rows[:, members, size - 1].T  # (m, n)
            ww = np.where(mask, w[:, members].T, 0.0)
            ww = ww / (ww.sum(axis=1) / mask.sum(axis=1))[:, None]  # the ridge penalty keeps its scale
            x = self.residuals_[:, index[members, :size]].transpose(1, 0, 2)  # (m, n, size)
            y = self.residuals_[:, targets[members]].T  # (m, n)
            if self.intercept:  # centred on each regression's own (weighted) rows; the intercept unpenalised
                total = ww.sum(axis=1)
                x_mean = np.einsum("mn,mnk->mk", ww, x) / total[:, None]
                y_mean = (ww * y).sum(axis=1) / total
                x, y = x - x_mean[:, None, :], y - y_mean[:, None]
            wx = ww[:, :, None] * x
            gram = np.matmul(x.transpose(0, 2, 1), wx) + self.ridge * np.eye(size)
            rhs = np.matmul(wx.transpose(0, 2, 1), y[:, :, None])
            beta = np.linalg.solve(gram, rhs)[:, :, 0]
            offset = y_mean - np.einsum("mk,mk->m", x_mean, beta) if self.intercept else np.zeros(members.size)
            self.memo_.update(
                {todo[i]: (todo[i][1][:size], b, float(b0)) for i, b, b0 in zip(members, beta, offset, strict=True)}
            )

    def choices(self, observed: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, list]:
        """The query rows with any score, and per target their benchmarks (``_chosen_by_row``): what
        ``predict`` reads of the query's observed cells, the same for any weights of the same fit."""
        rows = np.flatnonzero(observed.any(axis=1))
        return rows, [self._chosen_by_row(int(t), observed[rows]) for t in targets]

    def predict(
        self, residuals: np.ndarray, observed: np.ndarray, targets: np.ndarray, choices: tuple | None = None
    ) -> np.ndarray:
        """Residuals (n, len(targets)) for the ``targets`` columns; NaN where nothing correlates.
        ``choices``: ``self.choices(observed, targets)`` where already made (by a fit that differs
        from this one in its weights only)."""
        out = np.full((residuals.shape[0], targets.size), np.nan)
        rows, choices = self.choices(observed, targets) if choices is None else choices
        self._solve([(int(t), c) for t, (chosen, _) in zip(targets, choices, strict=True) for c in chosen])
        for c, (t, (chosen, which)) in enumerate(zip(targets, choices, strict=True)):
            fitted = [self.memo_[(int(t), ch)] for ch in chosen]
            width = max((len(used) for used, _, _ in fitted), default=0)
            if width == 0:
                continue
            # each group's benchmarks and coefficients, padded with zero coefficients, row by row
            index, beta = np.zeros((len(fitted), width), dtype=int), np.zeros((len(fitted), width))
            for g, (used, b, _) in enumerate(fitted):
                index[g, : len(used)], beta[g, : len(used)] = used, b
            has = np.array([len(used) > 0 for used, _, _ in fitted])[which]
            x = residuals[rows[has, None], index[which[has]]]
            out[rows[has], c] = _row_dots(x, beta[which[has]])
            if self.intercept:
                out[rows[has], c] += np.array([b0 for _, _, b0 in fitted])[which[has]]
        return out

    def _chosen_by_row(self, target: int, visible: np.ndarray) -> tuple[list[tuple[int, ...]], np.ndarray]:
        """Per row of ``visible``: the ``k`` benchmarks it has that correlate most with ``target``
        (``_choice``'s), as the distinct choices and each row's index among them. Where no two
        candidates correlate equally, one ranking of every benchmark serves every row."""
        eligible = self._eligible(target)
        strength = np.abs(self.corr_[target])
        if np.unique(strength[eligible]).size < eligible.sum():  # ties: each row ranks its own
            groups: dict[tuple[int, ...], int] = {}
            which = [groups.setdefault(self._choice(target, row), len(groups)) for row in visible]
            return list(groups), np.array(which, dtype=int)
        order = np.argsort(-strength, kind="stable")
        ranked = (visible & eligible)[:, order]
        first = ranked & (np.cumsum(ranked, axis=1) <= self.k)
        representatives, which = _same_rows(first, self.k)
        return [tuple(order[first[i]].tolist()) for i in representatives], which


def _row_dots(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Each row of ``x`` (n, k) times its row of ``beta`` (n, k), summed in the same order whatever
    the other rows (a model predicted alone gets the same value as in a batch; zero padding adds
    nothing)."""
    total = x[:, 0] * beta[:, 0]
    for column in range(1, beta.shape[1]):
        total = total + x[:, column] * beta[:, column]
    return total


def _same_rows(picked: np.ndarray, most: int) -> tuple[list[int], np.ndarray]:
    """The distinct rows of the boolean ``picked`` (n, J), each with at most ``most`` True: the
    first row of each pattern, and each row's pattern index. A row's pattern is one integer (its
    True columns as digits base J + 1), so this is one sort of n integers rather than of n rows."""
    n, size = picked.shape
    if n == 0:
        return [], np.zeros(0, dtype=int)
    if (size + 1) ** (most + 1) >= 2**62:  # too many digits for an int64
        _, first_at, which = np.unique(picked, axis=0, return_index=True, return_inverse=True)
    else:
        rows, columns = np.nonzero(picked)  # row-major: each row's columns together
        digit = np.arange(rows.size) - np.searchsorted(rows, rows)
        key = np.zeros(n, dtype=np.int64)
        np.add.at(key, rows, (columns + 1) * (size + 1) ** digit)
        _, first_at, which = np.unique(key, return_index=True, return_inverse=True)
    return first_at.tolist(), which.reshape(-1)
