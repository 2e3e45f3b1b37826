"""Averaging the top configurations instead of taking one (``ForecastFitter(average_sizes=)``).

The stages pick one configuration per kind, and the winner often leads by 0.01-0.03 points, so the
pick flips on noise. The alternative: the mean, on the logit scale, of the ``m`` configurations
with the lowest mean MAE over the kind's folds (among every configuration scored, as the held-out
rules choose). On the logit scale because the engine, the stacked baseline's blend and the
conformal residuals all live there: a mean of logits is a prediction of the same form (inside
chance..1 after ``from_logit``) whose residuals give the widths as the single pick's do.

An average is kept for a kind only if leaving each of its fold groups out in turn, the average
chosen without that group predicts it better on average than the single pick chosen without it
(strictly: ``per_benchmark.held_out_wins``); among several sizes, the one of the lowest held-out
MAE is compared. The fold predictions of an average are the mean of its members' scored fold
predictions (``FoldResult.logits``), so the check fits nothing.
"""

from __future__ import annotations

import numpy as np

from obslaws.errors import FitterError

from .calibration import leave_group_out
from .engine import Config
from .per_benchmark import held_out_wins
from .scale import from_logit
from .scoreboard import FoldResult, hidden_cells

SINGLE = "single pick"


def ranked(board, candidates: list[Config], folds: list[str], m: int) -> tuple[Config, ...]:
    """The ``m`` candidates of the lowest mean MAE over ``folds`` (``Scoreboard.best``'s score,
    each kind weighing the same; the first of equals first, so ``m`` = 1 is ``best``), skipping any
    whose predictions on ``folds`` are those of one taken (a switch without effect there): an
    average of copies is the single pick, decided by rounding."""
    scores = board.scores_of(candidates, folds)
    if scores is None:  # no fold: the first candidate, as ``best`` takes it
        return tuple(candidates[:1])
    taken: list[Config] = []
    seen: list[np.ndarray] = []
    for i in np.argsort(scores, kind="stable"):
        logits = np.concatenate([board.result(candidates[int(i)], f).logits for f in folds])
        if not any(np.allclose(logits, other, rtol=0.0, atol=1e-9) for other in seen):
            taken.append(candidates[int(i)])
            seen.append(logits)
        if len(taken) == m:
            break
    return tuple(taken)


def averaged(board, members: tuple[Config, ...], fold: str) -> FoldResult:
    """The fold's result of the mean logits of ``members`` (the member's own result for one)."""
    parts = [board.result(c, fold) for c in members]
    if len(set(members)) == 1:
        return parts[0]
    _, _, z, columns, categories, rows, truth = hidden_cells(board.caches[fold], board.y)
    logits = np.mean([p.logits for p in parts], axis=0)
    errors = 100 * np.abs(from_logit(logits, board.chance[columns]) - truth)
    mae = float(errors.mean()) if errors.size else np.nan
    return FoldResult(mae, z - logits, logits, columns, categories, errors, rows, truth)


def average_score(board, members: tuple[Config, ...], folds: list[str]) -> float:
    """``Scoreboard.score`` of the average of ``members``: its mean MAE over ``folds``, each kind weighing the same."""
    return board.kind_mean([averaged(board, members, f).mae for f in folds], folds)


def held_out_average_errors(board, candidates: list[Config], folds: list[str], sizes) -> dict[str, dict[str, float]]:
    """Per fold group of ``folds``: the MAE there of the single pick and of each size's average,
    both chosen on the other groups."""
    errors: dict[str, dict[str, float]] = {SINGLE: {}, **{f"average of {m}": {} for m in sizes}}
    for group, held, rest in leave_group_out(folds):
        if not rest:
            continue
        top = ranked(board, candidates, rest, max(sizes))
        errors[SINGLE][group] = board.score(top[0], held)
        for m in sizes:
            errors[f"average of {m}"][group] = average_score(board, top[:m], held)
    return errors


def choose_average(
    board, candidates: list[Config], folds: list[str], sizes: tuple[int, ...]
) -> tuple[tuple[Config, ...] | None, dict[str, dict[str, float]]]:
    """The members of the average of ``folds``' top configurations, if the held-out check keeps it
    (else None), and the held-out errors, for the record."""
    sizes = tuple(m for m in sizes if m > 1)
    if not sizes or len(candidates) < 2:
        return None, {}
    errors = held_out_average_errors(board, candidates, folds, sizes)

    def mean(rule: str) -> float:
        return float(np.mean(list(errors[rule].values()))) if errors[rule] else np.inf

    best = min(sizes, key=lambda m: mean(f"average of {m}"))
    if not held_out_wins(errors, f"average of {best}", SINGLE):
        return None, errors
    return ranked(board, candidates, folds, best), errors


class AveragedEngine:
    """Several fitted engines predicting as one: the mean of their logits."""

    def __init__(self, engines: tuple) -> None:
        self.engines = engines

    def predict(self, table, z: np.ndarray, observed: np.ndarray) -> np.ndarray:
        return np.mean([e.predict(table, z, observed) for e in self.engines], axis=0)

    def member_shift(self, table, observed: np.ndarray) -> np.ndarray:
        """The mean of its engines' stacked members' shifts (``member_domain.py``), as of their logits."""
        return np.mean([e.member_shift(table, observed) for e in self.engines], axis=0)


def stage_averages(board, folds_of: dict[str, list[str]], candidates_of, sizes, table: dict) -> dict[str, tuple]:
    """Per kind (kind -> the folds its stages chose on): the members of its average where the
    held-out check keeps one (``choose_average`` among ``candidates_of(kind)``); records to ``table``."""
    chosen = {}
    for kind, folds in folds_of.items():
        members, errors = choose_average(board, candidates_of(kind), folds, sizes)
        table.update({f"{kind}: {rule} (held-out fold)": e for rule, e in errors.items()})
        if members is not None:
            chosen[kind] = members
    return chosen


def final_averages(averages: dict, staged: dict, configs: dict, columns: dict, refines: dict) -> dict:
    """Per kind whose final choice is still one configuration a kind's stages chose (its own, the
    kind's it refines, or every fold's): that kind's average, where it has one."""
    chosen = {}
    for kind, config in configs.items():
        sources = [s for s in (kind, refines.get(kind), "all") if s and staged.get(s) == config]
        if kind not in columns and sources and sources[0] in averages:
            chosen[kind] = averages[sources[0]]
    return chosen


def average_sizes(name: str, sizes) -> tuple[int, ...]:
    """The fitter's ``average_sizes``, checked: how many top configurations a kind may average (1: the
    single pick)."""
    sizes = tuple(sizes)
    if not all(isinstance(m, int | np.integer) and m >= 1 for m in sizes):
        raise FitterError(f"{name}: average_sizes must be whole numbers >= 1, not {sizes}")
    return tuple(int(m) for m in sizes)
