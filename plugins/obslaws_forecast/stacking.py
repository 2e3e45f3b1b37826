"""Other registered fitters stacked on the forecaster, with weights chosen on its inner folds.

A member is any fitter in the plugin registry (``obslaws.fitting.lookup.get_fitters()``), so a
plugin's own fitter can be stacked by naming it (``ForecastFitter(stack=(names))``). Each member
is fitted once per inner fold, on that fold's training data alone (its training models, without
the fold's hidden cells, restricted to the models that have what the member needs), and
predicts the fold's hidden cells; all of those fits and the final one go to the member's
``fit_many`` in one call (batched where the member batches). The weights per kind of query model
(and per target) are chosen on those predictions (``stacker.py``). A cell a member cannot
predict (a model without what it needs, a fold it could not be fitted on or predict) keeps the
forecaster's prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from obslaws.backtest.folds import batch_invariant, fold_key
from obslaws.data import FitData
from obslaws.errors import ObslawsError
from obslaws.fitting.selection import with_covariates

from .inner import kind_folds
from .stacker import Stacker, blend

__all__ = ["MemberWork", "Stacker", "blend", "build_stacker", "fit_deferred", "predict_scores"]


def fold_data(data: FitData, ids: np.ndarray, train: np.ndarray, hidden: pl.DataFrame) -> FitData:
    """``data``'s models ``ids[train]``, without the ``hidden`` (model_id, benchmark) scores."""
    out = data.select_models(ids[train].tolist())
    return replace(out, scores=out.scores.join(hidden, on=["model_id", "benchmark"], how="anti"))


def hidden_pairs(ids: np.ndarray, hide: np.ndarray, benchmarks: Sequence[str]) -> pl.DataFrame:
    rows, cols = np.nonzero(hide)
    return pl.DataFrame(
        {"model_id": ids[rows].tolist(), "benchmark": [benchmarks[c] for c in cols]},
        schema={"model_id": pl.String, "benchmark": pl.String},
    )


def predict_scores(fitter, query: FitData, ids: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """(``ids``, targets) scores predicted for ``query``'s models; NaN where the member cannot
    predict (models without the covariates it needs are not asked)."""
    out = np.full((len(ids), len(targets)), np.nan)
    usable = with_covariates(query, sorted(fitter.requires.needs))
    if usable.models.height == 0:
        return out
    try:
        frame = fitter.predict(usable)
    except ObslawsError:  # a member that refuses these models: the forecaster predicts them alone
        return out
    wide = frame.pivot(on="benchmark", index="model_id", values="prediction", aggregate_function="first")
    wide = pl.DataFrame({"model_id": list(ids)}, schema={"model_id": pl.String}).join(wide, on="model_id", how="left")
    for j, t in enumerate(targets):
        if t in wide.columns:
            out[:, j] = wide[t].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return out


def member_fitters(names: Sequence[str], own: str) -> tuple[list, dict[str, str]]:
    """The registered fitters ``names`` (new instances, default hyperparameters), and why any
    other was left out."""
    from obslaws.fitting.lookup import get_fitters

    catalog, fitters, skipped = get_fitters(), [], {}
    for name in names:
        if name == own:
            skipped[name] = "the forecaster itself"
        elif name not in catalog:
            skipped[name] = "not registered"
        else:
            fitters.append(catalog.create(name))
    return fitters, skipped


@dataclass
class MemberWork:
    """What fitting the members takes, kept from the forecaster's fit until a query model of a
    stacked kind is predicted (they cost as much as the forecaster's own fit, and only those
    queries read them)."""

    own: str
    data: FitData
    ids: np.ndarray  # the forecaster's training models
    benchmarks: list[str]  # its matrix columns (the folds' ``hide`` columns)
    folds: list  # the inner folds of the stacked kinds (inner.InnerFold)
    rows: dict[str, np.ndarray]  # fold -> its query rows among ``ids`` (engine.FoldCache.rows)


def build_stacker(
    names: Sequence[str],
    work: MemberWork,
    chance: np.ndarray,
    kinds: Sequence[str] = (),
    guard: bool = True,
    borrow: bool = True,
    margins: dict[str, float] | None = None,
    checked: bool = True,
    member_domains: tuple[bool, ...] = (False,),
) -> Stacker:
    """A Stacker for the members ``names``, to be fitted (``fit_deferred``) on the inner folds of
    ``kinds`` (empty: every fold, every kind; ``borrow``: with those they borrow,
    ``inner.kind_folds``) when a query model of those kinds is predicted; ``guard``: see ``Stacker``;
    ``margins`` (``"rules"``, ``"weights"``): its ``rule_margin`` and ``weight_margin``;
    ``checked``, ``member_domains``: see ``Stacker``."""
    chance = chance[: len(work.data.targets)]
    if not names:  # nothing to stack (the default before version 6): nothing to fit, ever
        return Stacker((), {}, chance)
    kinds = tuple(kinds)
    own = kind_folds({f.name: f.kind for f in work.folds}, borrow)
    folds = [f for f in work.folds if not kinds or any(f.name in own[k] for k in kinds)]
    work = replace(work, folds=folds, rows={f.name: work.rows[f.name] for f in folds})  # the caller's stays whole
    margins = margins or {}
    rule, weight = margins.get("rules", 0.0), margins.get("weights", 0.0)
    return Stacker(
        tuple(names),
        {},
        chance,
        kinds=kinds,
        guard=guard,
        work=work,
        rule_margin=rule,
        weight_margin=weight,
        checked=checked,
        member_domains=tuple(member_domains),
    )


def fit_deferred(stacker: Stacker) -> tuple[dict[str, object], dict[str, str], dict[str, dict]]:
    """Fit ``stacker``'s members on every inner fold of its kinds (each on the fold's training data
    alone) and on the whole training data; choose the weights of every kind whose results it was
    given meanwhile. The final fits by name, why any member was left out, and per kind its results
    with the chosen weights applied and its results on every fold (None for ``all``).

    A member whose ``fit_many`` fits a fold to the same bits beside any others (``batch_invariant``)
    is fitted on the training data after the weights are chosen, and only if a kind gives it a
    weight (the inner folds often keep the forecaster alone, and that fit is the largest); any other
    member's folds and final fit go to its ``fit_many`` in one call, as its batch decides its bits."""
    work = stacker.work
    fitters, skipped = member_fitters(stacker.names, work.own)
    hidden = {f.name: hidden_pairs(work.ids, f.hide, work.benchmarks) for f in work.folds}
    datas = [fold_data(work.data, work.ids, f.train, hidden[f.name]) for f in work.folds]
    waits = {f.name: batch_invariant(type(f)) for f in fitters}
    fits = [fit_invariant(f, datas) if waits[f.name] else fit_members([f], [*datas, work.data])[0] for f in fitters]
    finals = {f.name: fitted[-1] for f, fitted in zip(fitters, fits, strict=True) if not waits[f.name]}
    skipped |= {name: "could not be fitted on the training data" for name, final in finals.items() if final is None}
    folds = {
        f.name: _fold_predictions(f, fitted, hidden, work)
        for f, fitted in zip(fitters, fits, strict=True)
        if f.name not in skipped
    }
    shape = {f.name: (work.rows[f.name].size, len(work.data.targets)) for f in work.folds}
    pending, by_name = stacker.pending, {f.name: f for f in fitters}
    while True:
        stacked = _choose(stacker, folds, shape, pending)
        weighted = [n for n in stacker.names if waits[n] and _weighted(stacker, n)]
        for name in (n for n in weighted if n not in finals):
            finals[name] = fit_invariant(by_name[name], [work.data])[0]
        failed = [n for n in weighted if finals[n] is None]
        if not failed:  # else choose again without them, as if they had failed with the folds
            break
        skipped |= {n: "could not be fitted on the training data" for n in failed}
        folds = {n: p for n, p in folds.items() if n not in failed}
    stacker.unfitted = tuple(n for n in stacker.names if n not in finals)
    return {n: m for n, m in finals.items() if m is not None}, skipped, stacked


def _fold_predictions(fitter, fitted: list, hidden: dict[str, pl.DataFrame], work: MemberWork) -> dict[str, np.ndarray]:
    """Fold name -> the member's predicted (fold's query rows, targets) scores (NaN where its fold
    fit failed), from its fits on the folds (``fitted``, in ``work.folds``' order)."""
    targets, out = list(work.data.targets), {}
    for f, member in zip(work.folds, fitted, strict=False):
        rows = work.ids[work.rows[f.name]]
        out[f.name] = np.full((rows.size, len(targets)), np.nan)
        if member is not None:
            query = fold_data(work.data, work.ids, np.isin(work.ids, rows), hidden[f.name])
            out[f.name] = predict_scores(member, query, rows, targets)
    return out


def _choose(stacker: Stacker, folds: dict[str, dict[str, np.ndarray]], shape: dict[str, tuple], pending: dict) -> dict:
    """The members ``folds`` (name -> fold -> predictions) stacked: every ``pending`` kind's weights
    chosen on their predictions (``shape``: fold -> its (query rows, targets)); per kind its
    stacked results and its results on every fold."""
    stacker.names = tuple(folds)
    stacker.predictions = {
        f: np.stack([folds[n][f] for n in stacker.names]) if stacker.names else np.zeros((0, *size))
        for f, size in shape.items()
    }
    stacker.work, stacker.pending = None, {}
    for kind in pending:  # a choice made before a member failed on the training data is made again
        stacker.weights.pop(kind, None)
        stacker.record.pop(kind, None)
    return {kind: (stacker.stack(kind, results, every), rest) for kind, (results, every, rest) in pending.items()}


def _weighted(stacker: Stacker, name: str) -> bool:
    """Whether any kind's chosen weights give member ``name`` a share."""
    i = stacker.names.index(name)
    return any(np.any(w[:, i]) for w in stacker.weights.values())


def fit_members(fitters: Sequence, datas: Sequence[FitData]) -> list[list | None]:
    """Per member, its fits on ``datas`` (None where it could not be fitted): one ``fit_many``
    call, and fold by fold where that fails (a fold too small for the member)."""
    out = []
    for fitter in fitters:
        if not datas:  # no inner fold of the stacked kinds (a ``fit_many`` may not take none)
            out.append([])
            continue
        usable = [with_covariates(d, sorted(fitter.requires.needs)) for d in datas]
        try:
            out.append(list(fitter.fit_many(usable)))
        except ObslawsError:
            out.append([_fit_or_none(fitter, d) for d in usable])
    return out


# Fits of batch-invariant members made in this process, by ``fold_key`` (the member, its version and
# hyperparameters, and its training data to the byte): the same training set recurs within a fit (the
# inside and anchored kinds' stackers both fit Sloth on the training data where both weight it) and
# across the outer splits of a backtest run in one process (an inner fold of one rolling cut is an
# inner fold of the next). A batch-invariant member fits each data set to the same bits whatever
# else its ``fit_many`` call holds, so a fit reused is the fit that would be made.
_FITTED: dict[str, object | None] = {}
CACHED_FITS = 256  # fits kept (a Sloth fit is tens of kB); the oldest goes first


def forget_member_fits() -> None:
    """Empty the cache (timing scripts that run the same fits twice in one process)."""
    _FITTED.clear()


def fit_invariant(fitter, datas: Sequence[FitData]) -> list:
    """``fit_members([fitter], datas)[0]`` for a batch-invariant ``fitter``: each data set (as the
    member sees it) fitted once per process, those not fitted before in one ``fit_many`` call."""
    usable = [with_covariates(d, sorted(fitter.requires.needs)) for d in datas]
    keys = [fold_key(fitter, d) for d in usable]
    found = {k: _FITTED[k] for k in keys if k in _FITTED}
    new = {k: d for k, d in zip(keys, usable, strict=True) if k not in found}
    for key, fitted in zip(new, fit_members([fitter], list(new.values()))[0], strict=True):
        if len(_FITTED) >= CACHED_FITS:
            del _FITTED[next(iter(_FITTED))]
        _FITTED[key] = found[key] = fitted
    return [found[k] for k in keys]


def _fit_or_none(fitter, data: FitData):
    try:
        return fitter.clone().fit(data)
    except ObslawsError:
        return None
