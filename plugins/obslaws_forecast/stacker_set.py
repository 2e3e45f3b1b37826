"""Several stackers, each for its own kinds of query model (``ForecastFitter``'s ``stack`` for
``stack_kinds`` and ``stack_larger`` for the ``larger`` kind).

A kind is served by the stacker that names it, else by one stacked for every kind, else by none:
its members' weights are chosen on that stacker's folds and its queries blended with them alone.
Members are fitted (``stacking.fit_deferred``) per stacker, when a query model of a kind it serves
is first predicted, so a fit that never predicts a larger model never fits the larger kind's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .member_domain import shifted
from .stacker import Stacker, blend
from .stacking import fit_deferred, predict_scores


@dataclass
class StackerSet:
    parts: tuple[Stacker, ...]

    def part(self, kind: str) -> Stacker | None:
        """The stacker that serves ``kind`` (one naming it first, else one for every kind)."""
        named = [p for p in self.parts if p.names and kind in p.kinds]
        every = [p for p in self.parts if p.names and not p.kinds]
        return (named or every or [None])[0]

    def stack(self, kind: str, results: dict, every_kind: str = "all", everywhere: dict | None = None) -> dict:
        part = self.part(kind)
        return results if part is None else part.stack(kind, results, every_kind, everywhere)

    def apply(self, kind: str, results: dict, every_kind: str = "all") -> dict:
        part = self.part(kind)
        return results if part is None else part.apply(kind, results, every_kind)

    def shifts(self, kind: str) -> bool:
        """Whether ``kind``'s stacker may shift its members by new families' domains (``member_domain.py``)."""
        part = self.part(kind)
        return part is not None and part.shifts(kind)

    def waiting(self, kinds: Sequence[str]) -> list[Stacker]:
        """The stackers whose members must be fitted before query models of ``kinds`` are predicted."""
        return [p for p in self.parts if p.work is not None and any(self.part(k) is p for k in kinds)]

    def fit(self, kinds: Sequence[str]) -> tuple[dict[str, object], dict[str, str], dict[str, tuple]]:
        """Fit the members of every stacker ``waiting`` for ``kinds``: their final fits by name, why
        any was left out, and per stacked kind its results and its results on every fold."""
        members, skipped, stacked = {}, {}, {}
        for part in self.waiting(kinds):
            finals, left_out, kind_results = fit_deferred(part)
            members |= finals
            skipped |= left_out
            stacked |= kind_results
        return members, skipped, stacked

    def blended(
        self, scores: np.ndarray, kinds: np.ndarray, members: dict, predict: Callable, shift: np.ndarray | None = None
    ) -> np.ndarray:
        """``scores`` (queries x targets) blended, per kind, with its stacker's members' predictions
        (``predict(member)``: queries x targets) at the kind's weights (its own, else ``all``'s),
        shifted by ``shift`` (queries x targets logits: ``member_domain.py``) where the kind chose so."""
        out, cache = scores.copy(), {}
        for kind in np.unique(kinds).tolist():
            part = self.part(str(kind))
            weights = None if part is None else part.weights.get(str(kind), part.weights.get("all"))
            if weights is None or not np.any(weights):
                continue
            # a member without a fit on the training data has weight 0 for every kind (it is fitted
            # there only where a kind weights it): the others blend without it
            fitted = [i for i, m in enumerate(part.names) if m in members]
            if np.any(np.delete(weights, fitted, axis=1)):
                continue  # (never: a weighted member that could not be fitted is dropped from the names)
            for name in (part.names[i] for i in fitted):
                if name not in cache:
                    cache[name] = predict(members[name])
            rows = kinds == kind
            predicted = np.stack([cache[part.names[i]] for i in fitted])[:, rows]
            if shift is not None and part.shifted.get(str(kind) if str(kind) in part.weights else "all", False):
                predicted = shifted(predicted, shift[rows], part.chance)
            out[rows] = blend(scores[rows], predicted, weights[:, fitted].T[:, None, :])
        return out

    def learned(self, targets: Sequence[str], left_out: dict[str, str]) -> dict:
        """The record for ``learned_parameters``: members fitted and waiting, each member's kinds,
        the weights per kind and target, and what each stacker compared."""
        fitted = [n for p in self.parts if p.work is None for n in p.names if n not in p.unfitted]
        waiting = [n for p in self.parts if p.work is not None for n in p.names]
        # per stacked kind: its members shifted by new families' domains or not (member_domain.py), where offered
        shifting = [p for p in self.parts if any(p.member_domains)]
        domains = {"member_domain": {k: bool(on) for p in shifting for k, on in p.shifted.items()}} if shifting else {}
        return domains | {
            # members are fitted when a query model of a kind they are stacked for is first predicted
            "members": list(dict.fromkeys(fitted)),
            "waiting": list(dict.fromkeys(waiting)),
            # fitted on the inner folds only: weight 0 for every kind, so never on the training data
            "folds_only": list(dict.fromkeys(n for p in self.parts for n in p.unfitted)),
            "kinds": _kinds_served(self.parts),
            "left_out": left_out,
            "weights": {k: p.labels(w, targets) for p in self.parts for k, w in p.weights.items()},
            "compared": {k: r for p in self.parts for k, r in p.record.items()},
        }


def _kinds_served(parts: Sequence[Stacker]) -> dict[str, list[str]]:
    """Per member, the kinds of query model it is stacked for (over every stacker naming it)."""
    kinds: dict[str, list[str]] = {}
    for part in parts:
        for name in part.names:
            kinds[name] = list(dict.fromkeys([*kinds.get(name, []), *(part.kinds or ["every kind"])]))
    return kinds


def predictor(query, ids: list, targets: Sequence[str]) -> Callable:
    """``member -> its predicted scores`` for the query models ``ids`` (queries x targets)."""
    return lambda member: predict_scores(member, query, ids, targets)
