"""A configuration per target benchmark, kept only where the inner folds say so.

One configuration for every benchmark is a compromise: GSM8K's scores moved with release date
(math-heavy training data) while MMLU's followed size and tokens, so drift on or off, pooling
and the use of other scores may suit one benchmark and not another. Each target may take, among
the configurations the stages already scored (no new fits on the inner folds), the one with the
lowest mean MAE on its own cells. That choice is noisier than the joint one (a sixth of the
cells), so a kind keeps it only if leaving each of its fold groups out in turn says the
per-benchmark choice, made without that group, predicts it better than the joint choice does.
"""

from __future__ import annotations

import numpy as np

from .calibration import fold_group, rest_of, within
from .engine import Config
from .margin import held_out_simplest

MIN_CELLS = 20  # hidden cells a target needs on every fold to choose its own configuration


def fold_column_errors(board, config: Config, n_targets: int) -> np.ndarray:
    """(folds, targets): the mean absolute error (points) of each target's cells on each fold
    (NaN where the fold hides none); memoised on the board, since every choice reads it often."""
    memo = board.column_errors
    if config not in memo:
        rows = []
        for r in board.results[config]:
            sums = np.bincount(r.columns, weights=r.errors, minlength=n_targets)
            counts = np.bincount(r.columns, minlength=n_targets)
            rows.append(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan))
        memo[config] = np.vstack(rows)
    return memo[config]


def column_errors(board, config: Config, folds: list[str], n_targets: int) -> np.ndarray:
    """Per target: the mean MAE (points) of its cells over ``folds``, each kind of fold weighing
    the same (as ``Scoreboard.score``); NaN where no fold hides that target."""
    return _candidate_errors(board, [config], folds, n_targets)[0]


def _candidate_errors(board, candidates: list[Config], folds: list[str], n_targets: int) -> np.ndarray:
    """``column_errors`` of every candidate at once: (candidates, targets)."""
    names = list(board.caches)
    table = np.stack([fold_column_errors(board, c, n_targets)[[names.index(f) for f in folds]] for c in candidates])
    kinds = [board.kinds[f] for f in folds]
    per_kind = [_nanmean(table[:, [i for i, k in enumerate(kinds) if k == kind]], 1) for kind in dict.fromkeys(kinds)]
    return _nanmean(np.stack(per_kind, axis=1), 1)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Means along ``axis`` ignoring NaN; NaN where there is none (without numpy's empty-slice warning)."""
    known = ~np.isnan(values)
    total = np.nansum(values, axis=axis) / np.maximum(known.sum(axis=axis), 1)
    return np.where(known.any(axis=axis), total, np.nan)


def best_per_column(board, candidates: list[Config], folds: list[str], n_targets: int) -> tuple[Config, ...]:
    """Per target, the candidate with the lowest ``column_errors`` (the first of equals); the
    joint choice for a target with fewer than MIN_CELLS hidden cells on any of ``folds`` (as the
    conformal widths need per benchmark: on a few cells a choice among many is noise)."""
    joint = board.best(candidates, folds)
    names = list(board.caches)
    counts = [np.bincount(board.results[joint][names.index(f)].columns, minlength=n_targets) for f in folds]
    enough = np.min(counts, axis=0) >= MIN_CELLS
    errors = _candidate_errors(board, candidates, folds, n_targets)
    errors = np.where(np.isnan(errors), np.inf, errors)
    return tuple(candidates[int(i)] if ok else joint for i, ok in zip(np.argmin(errors, axis=0), enough, strict=True))


def composite(board, configs: tuple[Config, ...], fold: str):
    """The fold's result with each target's cells predicted by its own configuration."""
    from .select import FoldResult

    index = list(board.caches).index(fold)
    if len(set(configs)) == 1:  # the joint choice: its own result, so that a tie with it is exact
        return board.results[configs[0]][index]
    parts = [board.results[c][index] for c in configs]
    pick = [p.columns == j for j, p in enumerate(parts)]
    errors = np.concatenate([p.errors[m] for p, m in zip(parts, pick, strict=True)])
    return FoldResult(
        float(errors.mean()) if errors.size else np.nan,
        np.concatenate([p.residuals[m] for p, m in zip(parts, pick, strict=True)]),
        np.concatenate([p.logits[m] for p, m in zip(parts, pick, strict=True)]),
        np.concatenate([p.columns[m] for p, m in zip(parts, pick, strict=True)]),
        np.concatenate([p.categories[m] for p, m in zip(parts, pick, strict=True)]),
        errors,
        _optional([p.rows for p in parts], pick),
        _optional([p.truth for p in parts], pick),
    )


def _optional(values: list[np.ndarray], pick: list[np.ndarray]) -> np.ndarray:
    """The picked cells of a per-cell field that results may leave empty (rows, truth)."""
    if any(v.size != m.size for v, m in zip(values, pick, strict=True)):
        return values[0][:0]
    return np.concatenate([v[m] for v, m in zip(values, pick, strict=True)])


def held_out_errors(
    board, candidates: list[Config], pool: list[str], own: list[str], n_targets: int
) -> dict[str, dict[str, float]]:
    """Per fold group of ``own``: the MAE there of the joint choice and of the per-benchmark
    choice, both made on ``pool`` without that group."""
    errors: dict[str, dict[str, float]] = {"joint": {}, "per benchmark": {}}
    for group in dict.fromkeys(fold_group(f) for f in own):
        held = within(own, group)
        rest = rest_of(pool, held, group)
        if not rest:
            continue
        errors["joint"][group] = board.score(board.best(candidates, rest), held)
        columns = best_per_column(board, candidates, rest, n_targets)
        errors["per benchmark"][group] = float(np.mean([composite(board, columns, f).mae for f in held]))
    return errors


def choose_per_benchmark(
    board, candidates: list[Config], pool: list[str], own: list[str], n_targets: int, margin: float = 0.0
) -> tuple[tuple[Config, ...] | None, dict[str, dict[str, float]]]:
    """The per-benchmark configurations chosen on ``pool`` if leaving each group of ``own`` out
    says they beat the joint choice (by ``margin``: ``held_out_wins``; else None), and the held-out
    errors, for the record."""
    errors = held_out_errors(board, candidates, pool, own, n_targets)
    if not held_out_wins(errors, "per benchmark", "joint", margin):
        return None, errors
    return best_per_column(board, candidates, pool, n_targets), errors


def held_out_wins(errors: dict[str, dict[str, float]], rule: str, base: str, margin: float = 0.0) -> bool:
    """Whether ``rule``'s mean held-out MAE over the fold groups is strictly below ``base``'s (ties
    keep the base; a rule that held no group out counts as infinitely bad); with ``margin``, below
    it by more than ``margin`` standard errors of the per-group differences (``margin.py``)."""
    if margin > 0:
        return held_out_simplest(errors, (base, rule), margin) == rule

    def mean(held: dict[str, float]) -> float:
        return float(np.mean(list(held.values()))) if held else np.inf

    return mean(errors[rule]) < mean(errors[base])
