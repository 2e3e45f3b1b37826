"""Choosing the stacked members' weights on the forecaster's inner folds, per kind of query model.

The candidates are convex weights of the members against the forecaster on a grid (``STEP``),
on the score scale. Three rules compete per kind: the forecaster alone, one weight for every
target (the grid point with the lowest mean MAE over the kind's folds) and a weight per target
(each target's own grid point, for a target with ``MIN_CELLS`` hidden cells over the kind's folds;
else the joint one): a member fitted on compute alone may track ARC's climb and miss GSM8K's. The
rule kept is the one whose choice, made without each fold group in turn, predicts that group best
on average (the forecaster alone on ties), as for the forecaster's other choices (``select.py``);
with ``guard``, only among those that predict no group worse than the forecaster alone. With
``rule_margin`` / ``weight_margin`` (``margin.py``; opt-in) the simpler rule and the lower weight
stay unless the held-out groups prefer another by more than that many standard errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .calibration import fold_group, leave_group_out, within, without
from .margin import held_out_simplest, simplest_within
from .margin_checks import checked_margin
from .member_domain import shifted, without_shifts
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
class _Choice:
    """The weights' choice for one setting of the members' shift."""

    results: dict  # fold -> FoldResult (with or without the members' shifts)
    errors: dict  # grid point -> fold -> the stacked cells' errors
    choose: dict  # rule -> (folds -> weights)
    held: dict  # rule -> fold group -> held-out MAE
    rule_margin: float
    record: dict  # the margins' records


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
    # margin.py's margins: a rule other than the forecaster alone (``rule_margin``) and a grid point
    # other than the lowest weight (``weight_margin``) must beat the simpler by that many standard
    # errors of the per-fold-group differences (0: the lowest mean)
    rule_margin: float = 0.0
    weight_margin: float = 0.0
    # the margins apply only where leaving each fold group out says they help (``_margins``)
    checked: bool = True
    # shift the members' predictions of new families' models by their domain's effect (member_domain.py):
    # (False,) never, (True,) always, both: chosen per kind on its folds; kind -> the setting kept
    member_domains: tuple[bool, ...] = (False,)
    shifted: dict[str, bool] = field(default_factory=dict)

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
        # the members shifted by new families' domains (member_domain.py) or not: each a choice of its own
        options = self.member_domains if any(np.any(r.shift) for r in results.values()) else self.member_domains[:1]
        choices = {on: self._choice(grid, results if on else without_shifts(results)) for on in options}
        record: dict[str, object] = {}
        if len(dict.fromkeys(fold_group(f) for f in results)) < 2:
            rule, on = "every fold's", self.shifted.get(every_kind, options[0])
            on = on if on in choices else options[0]
            weights = self.weights.get(every_kind, grid[0])
        else:
            rules = {on: self._rule(c.held, c.rule_margin) for on, c in choices.items()}
            on = self._domain_choice(choices, rules, record)
            rule, weights = rules[on], choices[on].choose[rules[on]](list(choices[on].results))
        chosen = choices[on]
        self.weights[kind], self.shifted[kind] = weights, on
        self.record[kind] = {
            "inner MAE": {
                self.label(w[0]): {f: float(e.mean()) for f, e in chosen.errors[i].items()} for i, w in enumerate(grid)
            },
            "held-out fold": chosen.held,
            "rule": rule,
            **chosen.record,
            **record,
        }
        return {f: self._stacked(r, f, weights) for f, r in chosen.results.items()}

    def shifts(self, kind: str) -> bool:
        """Whether ``kind``'s members may be shifted by new families' domains (its results need the shifts)."""
        return bool(self.names) and any(self.member_domains) and (not self.kinds or kind in self.kinds)

    def _choice(self, grid: list[np.ndarray], results: dict) -> _Choice:
        """The weights' choice on ``results`` (members shifted as they carry): every grid point's errors,
        the margins, the rules' choosers and their held-out MAE per fold group."""
        errors = {i: {f: self._stacked(r, f, w).errors for f, r in results.items()} for i, w in enumerate(grid)}
        record: dict[str, dict] = {}
        rule_margin, weight_margin = self._margins(grid, errors, results, record)
        choose = self._choosers(grid, errors, results, weight_margin)
        return _Choice(results, errors, choose, self._held_out(choose, results, list(results)), rule_margin, record)

    def _domain_choice(self, choices: dict[bool, _Choice], rules: dict[bool, str], record: dict) -> bool:
        """Shifted members, if the rule each setting keeps predicts the held-out fold groups better on
        average with them (strictly: off on ties, and where only one setting is offered, that one)."""
        if len(choices) < 2:
            return next(iter(choices))
        held = {on: choices[on].held[rules[on]] for on in choices}
        record["member domain (held-out fold)"] = {f"{'on' if on else 'off'}: {rules[on]}": h for on, h in held.items()}
        on = float(np.mean(list(held[True].values()))) < float(np.mean(list(held[False].values())))
        record["member domain"] = "on" if on else "off"
        return on

    def _choosers(self, grid: list[np.ndarray], errors: dict, results: dict, margin: float) -> dict:
        """Per rule: folds -> the weights it chooses on them (grid points by ``_best`` at ``margin``)."""
        return {
            RULES[0]: lambda folds: grid[0],
            RULES[1]: lambda folds: grid[self._best(errors, results, folds, None, margin)],
            RULES[2]: lambda folds: self._per_target(grid, errors, results, folds, margin),
        }

    def _held_out(self, choose: dict, results: dict, folds: list[str]) -> dict[str, dict[str, float]]:
        """Per rule, per fold group of ``folds``: the MAE there of the weights the rule chooses on the others."""
        held: dict[str, dict[str, float]] = {rule: {} for rule in RULES}
        for group, test, rest in leave_group_out(folds):
            for rule, pick in choose.items():
                if rest:
                    held[rule][group] = self._mae(results, test, pick(rest))
        return held

    def _margins(self, grid: list[np.ndarray], errors: dict, results: dict, record: dict) -> tuple[float, float]:
        """The rule's and the weights' margins for this kind: both, if leaving each fold group out
        says that the weights chosen with them (rule and grid point, on the other groups) predict
        it better than those chosen without (``margin_checks.checked_margin``), else none; kept
        unchecked without ``checked``."""
        if not self.checked or max(self.rule_margin, self.weight_margin) <= 0:
            return self.rule_margin, self.weight_margin

        def decide(group: str, m: float) -> float:
            rest = without(list(results), group)
            margins = (self.rule_margin, self.weight_margin) if m > 0 else (0.0, 0.0)
            choose = self._choosers(grid, errors, results, margins[1])
            rule = self._rule(self._held_out(choose, results, rest), margins[0])
            return self._mae(results, within(list(results), group), choose[rule](rest))

        kept = checked_margin(list(results), decide, max(self.rule_margin, self.weight_margin), record, "weights")
        return (self.rule_margin, self.weight_margin) if kept > 0 else (0.0, 0.0)

    def _rule(self, held: dict[str, dict[str, float]], margin: float = 0.0) -> str:
        """The rule kept: the lowest mean held-out MAE over the fold groups (the forecaster alone on
        ties), or with ``margin`` the simplest within that many standard errors of it; with
        ``guard``, only among the rules that predict no group worse than the forecaster alone."""
        alone = held[RULES[0]]
        allowed = [r for r in RULES if not self.guard or all(held[r][g] <= alone[g] for g in alone)]
        if margin > 0:
            return held_out_simplest(held, allowed, margin)
        means = [np.mean(list(held[r].values())) if r in allowed else np.inf for r in RULES]
        return RULES[int(np.argmin(means))]

    def _best(self, errors: dict, results: dict, folds: list[str], target: int | None, margin: float = 0.0) -> int:
        """The grid point with the lowest mean over ``folds`` of the MAE (of ``target``'s cells); with
        ``margin``, the lowest total weight within that many standard errors of it, the fold groups
        its units (``margin.py``)."""

        def maes(i: int) -> dict[str, float]:
            cells = {
                f: e if target is None else e[results[f].columns == target] for f, e in errors[i].items() if f in folds
            }
            return {f: float(c.mean()) for f, c in cells.items() if c.size}

        def mae(i: int) -> float:
            return float(np.mean(list(maes(i).values())))

        if margin <= 0:
            return min(errors, key=mae)  # the first of equals: the forecaster alone
        totals = [sum(w) for w in weight_grid(len(self.names))]
        order = sorted(errors, key=lambda i: totals[i])
        per_fold = [maes(i) for i in order]
        groups = list(dict.fromkeys(fold_group(f) for f in per_fold[0]))
        table = [[np.mean([v for f, v in p.items() if fold_group(f) == g]) for g in groups] for p in per_fold]
        counts = [sum(fold_group(f) == g for f in per_fold[0]) for g in groups]
        return order[simplest_within(np.array(table), counts, margin)]

    def _per_target(
        self, grid: list[np.ndarray], errors: dict, results: dict, folds: list[str], margin: float = 0.0
    ) -> np.ndarray:
        joint = grid[self._best(errors, results, folds, None, margin)]
        out = joint.copy()
        for j in range(self.n_targets):
            if sum(int(np.sum(results[f].columns == j)) for f in folds) >= MIN_CELLS:
                out[j] = grid[self._best(errors, results, folds, j, margin)][j]
        return out

    def _mae(self, results: dict, folds: list[str], weights: np.ndarray) -> float:
        return float(np.mean([self._stacked(results[f], f, weights).mae for f in folds]))

    def apply(self, kind: str, results: dict, every_kind: str = "all") -> dict:
        """``results`` with the weights ``stack`` chose for ``kind`` (else ``every_kind``'s), chosen
        on other folds: the same stacked predictor on more folds."""
        weights = self.weights.get(kind, self.weights.get(every_kind))
        if not self.names or weights is None:
            return results
        if not (self.shifted.get(kind) if kind in self.weights else self.shifted.get(every_kind, False)):
            results = without_shifts(results)
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
        if result.shift.size:  # a new family's domain (member_domain.py)
            members = shifted(members, result.shift, chance)
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
