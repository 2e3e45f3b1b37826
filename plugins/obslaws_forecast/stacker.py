"""Choosing the stacked members' weights on the forecaster's inner folds, per kind of query model.

The candidates are convex weights of the members against the forecaster on a grid (``STEP``),
on the score scale. Three rules compete per kind: the forecaster alone, one weight for every
target (the grid point with the lowest mean MAE over the kind's folds) and a weight per target
(each target's own grid point, for a target with ``MIN_CELLS`` hidden cells over the kind's folds;
else the joint one): a member fitted on compute alone may track ARC's climb and miss GSM8K's. The
rule kept is the one whose choice, made without each fold group in turn, predicts that group best
on average (the forecaster alone on ties), as for the forecaster's other choices (``select.py``);
with ``guard``, only among those that predict no group worse than the forecaster alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .calibration import fold_group
from .scale import from_logit, to_logit

STEP = 0.25  # the weight grid's step: members' weights are multiples of it, summing to at most 1
MIN_CELLS = 20  # hidden cells a target needs over the folds to take its own weights
RULES = ("forecast alone", "one weight", "per target")


def weight_grid(n_members: int) -> list[tuple[float, ...]]:
    """Every members' weight vector on the grid (multiples of STEP, summing to at most 1)."""
    steps = round(1 / STEP)
    return [
        tuple(s * STEP for s in combo)
        for combo in itertools.product(range(steps + 1), repeat=n_members)
        if sum(combo) <= steps
    ]


def blend(own: np.ndarray, members: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``own`` scores (...) with each member's (m, ...) at its weight (m, ...: broadcast); a
    member's NaN cell gives its weight back to ``own``."""
    out = own.copy()
    for w, m in zip(np.asarray(weights, dtype=float), members, strict=True):
        out = np.where(np.isnan(m) | (w == 0), out, out + w * (m - own))
    return out


@dataclass
class Stacker:
    """The members' predictions on every inner fold, the weights chosen per kind, the record."""

    names: tuple[str, ...]
    # fold name -> (members, len(cache.rows), targets) predicted scores (NaN: cannot predict)
    predictions: dict[str, np.ndarray]
    chance: np.ndarray  # the targets' chance levels
    # kind -> (targets, members) weights
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    # per kind: the grid's inner MAE per fold, each rule's held-out MAE per fold group, the rule kept
    record: dict[str, dict] = field(default_factory=dict)
    # the kinds of query model the members are stacked for (empty: every kind, ``all`` included)
    kinds: tuple[str, ...] = ()
    # refuse a stacking rule that predicts any held-out fold group worse than the forecaster alone
    # (else the lowest mean over the groups wins, the forecaster alone on ties)
    guard: bool = True
    # the members' fitting, deferred until a query of a stacked kind (stacking.MemberWork); None once done
    work: object | None = None
    # kind -> (its fold results, the kind whose weights it falls back to, its results on every
    # fold or None) given while ``work`` waits
    pending: dict[str, tuple[dict, str, dict | None]] = field(default_factory=dict)
    # members fitted on the inner folds only: no kind gave them a weight, so their fit on the
    # training data was never needed (stacking.fit_deferred)
    unfitted: tuple[str, ...] = ()

    @property
    def n_targets(self) -> int:
        return self.chance.size

    def stack(self, kind: str, results: dict, every_kind: str = "all", everywhere: dict | None = None) -> dict:
        """``results`` (fold -> select.FoldResult) of ``kind`` with its chosen weights applied
        (chosen here, on them; a kind with one fold group takes ``every_kind``'s). While the members
        wait to be fitted, the results and ``everywhere`` (the kind's results on every fold, for
        its widths) are kept and returned as they are."""
        if not self.names or not results or (self.kinds and kind not in self.kinds):
            return results
        if self.work is not None:  # the members are not fitted yet: choose when they are
            self.pending[kind] = (results, every_kind, everywhere)
            return results
        grid = [np.tile(w, (self.n_targets, 1)) for w in weight_grid(len(self.names))]
        errors = {i: {f: self._stacked(r, f, w).errors for f, r in results.items()} for i, w in enumerate(grid)}
        choose = {
            RULES[0]: lambda folds: grid[0],
            RULES[1]: lambda folds: grid[self._best(errors, results, folds, None)],
            RULES[2]: lambda folds: self._per_target(grid, errors, results, folds),
        }
        groups = list(dict.fromkeys(fold_group(f) for f in results))
        held: dict[str, dict[str, float]] = {rule: {} for rule in RULES}
        for group in groups:
            rest = [f for f in results if fold_group(f) != group]
            test = [f for f in results if fold_group(f) == group]
            for rule, pick in choose.items():
                if rest:
                    held[rule][group] = self._mae(results, test, pick(rest))
        if len(groups) < 2:
            rule = "every fold's"
            weights = self.weights.get(every_kind, grid[0])
        else:
            alone = held[RULES[0]]
            # with ``guard``, a stacking rule must not lose to the forecaster alone on any held-out group
            means = [
                np.mean(list(held[r].values()))
                if not self.guard or all(held[r][g] <= alone[g] for g in alone)
                else np.inf
                for r in RULES
            ]
            rule = RULES[int(np.argmin(means))]
            weights = choose[rule](list(results))
        self.weights[kind] = weights
        self.record[kind] = {
            "inner MAE": {
                self.label(w[0]): {f: float(e.mean()) for f, e in errors[i].items()} for i, w in enumerate(grid)
            },
            "held-out fold": held,
            "rule": rule,
        }
        return {f: self._stacked(r, f, weights) for f, r in results.items()}

    def _best(self, errors: dict, results: dict, folds: list[str], target: int | None) -> int:
        """The grid point with the lowest mean over ``folds`` of the MAE (of ``target``'s cells)."""

        def mae(i: int) -> float:
            cells = [
                e if target is None else e[results[f].columns == target] for f, e in errors[i].items() if f in folds
            ]
            return float(np.mean([c.mean() for c in cells if c.size]))

        return min(errors, key=mae)  # the first of equals: the forecaster alone

    def _per_target(self, grid: list[np.ndarray], errors: dict, results: dict, folds: list[str]) -> np.ndarray:
        joint = grid[self._best(errors, results, folds, None)]
        out = joint.copy()
        for j in range(self.n_targets):
            if sum(int(np.sum(results[f].columns == j)) for f in folds) >= MIN_CELLS:
                out[j] = grid[self._best(errors, results, folds, j)][j]
        return out

    def _mae(self, results: dict, folds: list[str], weights: np.ndarray) -> float:
        return float(np.mean([self._stacked(results[f], f, weights).mae for f in folds]))

    def apply(self, kind: str, results: dict, every_kind: str = "all") -> dict:
        """``results`` with the weights ``stack`` chose for ``kind`` (else ``every_kind``'s), chosen
        on other folds: the same stacked predictor on more folds."""
        weights = self.weights.get(kind, self.weights.get(every_kind))
        if not self.names or weights is None:
            return results
        # a fold the members were not fitted on (not of a stacked kind) keeps the forecaster's
        return {f: self._stacked(r, f, weights) if f in self.predictions else r for f, r in results.items()}

    def label(self, weights: Sequence[float]) -> str:
        return " ".join(f"{n}={w:g}" for n, w in zip(self.names, weights, strict=True)) or "forecast alone"

    def labels(self, weights: np.ndarray, targets: Sequence[str]) -> dict[str, str]:
        return {t: self.label(w) for t, w in zip(targets, weights, strict=True)}

    def _stacked(self, result, fold: str, weights: np.ndarray):
        """``result`` with each hidden cell's prediction blended with the members' at its target's
        ``weights`` (targets, members)."""
        if not np.any(weights):
            return result
        chance = self.chance[result.columns]
        own = from_logit(result.logits, chance)
        members = self.predictions[fold][:, result.rows, result.columns]
        scores = blend(own, members, weights[result.columns].T)
        errors = 100 * np.abs(scores - result.truth)
        logits = to_logit(scores, chance)
        return replace(
            result,
            mae=float(errors.mean()) if errors.size else np.nan,
            residuals=result.residuals + result.logits - logits,
            logits=logits,
            errors=errors,
        )
