"""Stacked members told a new family's training domain (``ForecastFitter(member_domains=)``).

The stacked members (Sloth; the compute law for larger models) know no training domain: a model of
a new code family is predicted as a general model of its size and compute. The covariate model
pools the domain (``design.LEVELS``, ``Config.domain``), and its fitted effect of a domain on a
target (the pooled level's coefficient, shrunk as in the fit) is how far a new family of that
domain starts from a general one. So a member's prediction of a model whose family has no training
model and has a domain label is moved by that effect on the forecaster's logit scale. A family with
training models (the member fits it), a model without a domain and a configuration whose covariate
model does not pool the domain get no shift (0). On the inner folds the shift comes from each
fold's own covariate fit, so the stacking weights and widths are chosen on members shifted as
they are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .covariate import CovariateModel, unseen_families
from .design import ModelTable
from .scale import from_logit, to_logit

OPTIONS = (False, True)  # member_domains: off, on (both: chosen per stacked kind on its inner folds)


def domain_effects(model: CovariateModel, table: ModelTable) -> np.ndarray:
    """(models, benchmarks): the fitted effect of each model's domain per benchmark (0 for a model
    without a domain, a domain the fit saw no training model of, or a design without the level)."""
    out = np.zeros((table.n, model.coef.shape[1]))
    start = model.design.n_fixed  # the pooled levels' columns follow the fixed ones, level by level
    for level, known in model.design.levels:
        if level == "domain":
            index = {label: start + i for i, label in enumerate(known)}
            for row, label in enumerate(table.domain.tolist()):
                if label in index:
                    out[row] = model.coef[index[label]]
        start += len(known)
    return out


def member_shift(
    model: CovariateModel, unseen: CovariateModel | None, table: ModelTable, has_scores: np.ndarray
) -> np.ndarray:
    """(models, benchmarks): the logit shift of the members' predictions of ``table``'s models: the
    domain effect of the covariate model that gives a new family's model its level (``unseen``, the
    new families' own, for one without other scores where set: ``Config.unseen``), 0 for a model
    whose family has training models."""
    new = unseen_families(model.design, table)
    shift = domain_effects(model, table)
    if unseen is not None:
        shift = np.where((new & ~has_scores)[:, None], domain_effects(unseen, table), shift)
    return np.where(new[:, None], shift, 0.0)


def shifted(members: np.ndarray, shift: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Members' predicted scores moved by ``shift`` logits (broadcast); a cell without a shift (or
    a member's NaN) keeps its value to the bit."""
    moved = from_logit(to_logit(members, chance) + shift, chance)
    return np.where(shift != 0, moved, members)


def fold_shift(cache, config) -> np.ndarray:
    """(the fold's query rows, targets): ``member_shift`` of an inner fold (``engine.FoldCache``) under
    ``config``, from the fold's own covariate fit, once per covariate model."""
    key = ("member shift", config.pooling, config.drift, config.org, config.domain, config.unseen)

    def compute() -> np.ndarray:
        unseen = None if config.unseen is None else cache.covariate(config.unseen_config)
        has_scores = cache.fit_obs[cache.rows].any(axis=1)
        return member_shift(cache.covariate(config), unseen, cache.table.take(cache.rows), has_scores)

    return cache.memo(key, compute)


def with_shifts(board, per_target: Sequence[tuple], results: dict) -> dict:
    """``results`` (fold -> ``scoreboard.FoldResult``) with each hidden cell's member shift
    (``FoldResult.shift``); ``per_target``: per target, the configurations whose mean logits predict
    it (one, or an average's: ``averaging.py``), whose shifts are averaged likewise."""
    out = {}
    for fold, result in results.items():
        cache = board.caches[fold]
        table = np.column_stack(
            [np.mean([fold_shift(cache, c)[:, j] for c in configs], axis=0) for j, configs in enumerate(per_target)]
        )
        out[fold] = replace(result, shift=table[result.rows, result.columns])
    return out


def without_shifts(results: dict) -> dict:
    """``results`` whose members are not shifted (the option off)."""
    return {f: replace(r, shift=r.shift[:0]) if r.shift.size else r for f, r in results.items()}


def check_options(options: Sequence[bool]) -> tuple[bool, ...]:
    """``member_domains`` as a tuple of distinct booleans, off first (the simpler wins ties)."""
    chosen = tuple(o for o in OPTIONS if o in {bool(x) for x in options})
    return chosen or (False,)
