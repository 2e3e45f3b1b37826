"""Inner folds on a fit's own training data: where every choice of the forecaster is made.

Each inner fold mimics one outer question with the training data alone, and says which kind of
query model it stands for (``KINDS``):

- ``cells`` (a training model's missing benchmarks): two folds, each hiding one half of every
  model's target scores (the two halves complementary), which every fold's choices (``all``) read;
  since version 26 the kind itself reads finer folds (``finer_cells``, 4 by default: each hiding a
  quarter; ``FINER``), so that the rest of the matrix is nearly as complete as a query's;
- ``later`` (a model released after every training model): rolling-origin time cuts 6, 9 and 12
  months before the latest training release, each trained on what came before the cut and tested
  on the 6 months after it (as the rolling forecast and the time split are), once with families
  first seen after the cut unseen (n = 0) and once with their smallest model trained on (n = 1);
- ``larger`` (more training compute than any training model): the next bigger models, trained on
  the models up to the median FLOPs and tested on the next quarter, trained up to the third
  quartile and tested on the largest quarter, and (since version 9) trained up to the median and
  tested on the largest quarter, past a gap (3 to 6 times the training FLOPs and more, where the
  others extrapolate at most 2 to 3 times) and without its test models' families (their smaller
  models would carry a family effect across the gap; the fold before keeps them);
- ``inside`` (none of these): three folds of family groups held out with their smallest model
  kept (n = 1);
- ``anchored`` (since version 13: an inside query whose family's training models all came after
  the established families', as a rolling forecast's at n = 1): no folds of its own; it borrows
  the later kind's n = 1 cuts (``BORROWED``) for its stacked weights and widths and takes the
  inside kind's configuration (``REFINES``).

The family groups and the cell halves are drawn at random (``seed``); with ``draws`` above 1 they are
drawn that many times (since version 25), each draw's folds marked `` draw 2``, `` draw 3``, ...
Every choice then reads the mean over the draws (repeated cross-validation: one draw's luck in
which families share a fold no longer decides it), and a rule that leaves a fold group out leaves
it out against its own draw's other groups alone (``calibration.other_draw``), since another
draw's folds test the same cells.

A time, compute or family-group fold asks a target only where its training models hold at least
``min_train`` of that target's scores (since version 23): a benchmark first run on recent models
poses no question before them. The cell halves train on half of every target's scores by design,
and ask every target.

Choices (pooling, covariates, rank, blend) minimise the mean MAE over the folds of each kind,
and the residuals of those folds calibrate that kind's intervals (split-conformal), so that a
query model is predicted and bounded by what was learnt on folds shaped like its own question.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from obslaws.fitting.horizon import MONTH_DAYS  # one month's length, as the refresh's horizon columns count it

KINDS = ("cells", "later", "larger", "inside", "anchored")
TIME_CUTS_MONTHS = (6, 9, 12)  # cuts before the latest training release
HORIZON_MONTHS = 6
# in a fold's name: the fold tests another fold's cells from less training data (one fold group with
# it); it serves its own kind's choices and widths only, not every fold's (``all``)
OWN_ONLY = " from "
# a kind without folds of its own reads another kind's folds of a given name end (kind -> (kind,
# end)): an anchored new family is shaped like the later kind's n = 1 cuts (``anchored_families``)
BORROWED = {"anchored": ("later", " n=1")}
# a kind that refines another takes that kind's configuration (a few time cuts rank the grid's
# hundreds of configurations noisily) and chooses its stacked members' weights and widths, which the
# shift it stands for moves, on its own folds
REFINES = {"anchored": "inside"}
# in a fold's name: a later draw of a random fold set (``DRAWN_SETS``, named by their first word)
DRAW = " draw "
DRAWN_SETS = ("groups", "cells")
# in a fold's name: the cells kind's question asked more finely than by the halves (each fold hides
# a smaller part of every model's target cells, so the rest of the matrix is nearly as complete as
# a query's); the cells kind reads these alone, every fold's choices the halves (``kind_folds``)
FINER = " finer"


@dataclass(frozen=True)
class InnerFold:
    name: str
    train: np.ndarray  # (n,) bool: training models of the fold
    hide: np.ndarray  # (n, J) bool: cells hidden from the fold's fit and scored
    kind: str = "inside"  # the kind of query model the fold stands for (KINDS)


def release_days(models: pl.DataFrame) -> np.ndarray:
    """Days since 2000-01-01 per model (NaN where the release date is unknown)."""
    days = models.select((pl.col("release_date") - pl.date(2000, 1, 1)).dt.total_days()).to_series()
    return days.cast(pl.Float64).fill_null(np.nan).to_numpy()


def horizons(models: pl.DataFrame) -> tuple[float, float, float]:
    """The latest release day, the largest training compute and the fewest parameters among
    ``models`` (-inf, -inf and inf: none known)."""
    days, flops = release_days(models), models["flops"].cast(pl.Float64).to_numpy()
    params = models["params"].cast(pl.Float64).to_numpy()
    return (
        float(np.nanmax(days, initial=-np.inf)),
        float(np.nanmax(flops, initial=-np.inf)),
        float(np.nanmin(params, initial=np.inf)),
    )


def question_horizon(latest_day: float, largest_flops: float, smallest_params: float = np.inf) -> dict[str, Any]:
    """What places a query's question, for ``learned``: the targets' latest release (a query after it
    is ``later``), their largest compute (past it ``larger``), how far ahead the time folds test (a
    query dated further on extrapolates the date trend past anything the folds checked), and their
    fewest parameters (a smaller query carries the size trend below any model with a target score;
    no inner fold poses that question: ``obslaws.fitting.horizon`` flags such forecasts)."""
    latest = dt.date(2000, 1, 1) + dt.timedelta(days=latest_day) if np.isfinite(latest_day) else None
    return {
        "latest_target_release": latest.isoformat() if latest else None,
        "largest_target_flops": largest_flops if np.isfinite(largest_flops) else None,
        "time_folds_test_months_ahead": HORIZON_MONTHS,
        "smallest_target_params": smallest_params if np.isfinite(smallest_params) else None,
    }


def query_kinds(
    trained: np.ndarray,
    days: np.ndarray,
    flops: np.ndarray,
    latest_day: float,
    largest_flops: float,
    anchored: np.ndarray | None = None,
) -> np.ndarray:
    """Per query model: ``cells`` if it is a training model (``trained``), else ``later`` if it was
    released after every training model, else ``larger`` if it used more compute than any, else
    ``anchored`` if its family is an anchored new family (``anchored``, per query model), else
    ``inside``."""
    later = np.isfinite(days) & (days > latest_day)
    larger = np.isfinite(flops) & (flops > largest_flops)
    inside = "inside" if anchored is None else np.where(anchored, "anchored", "inside")
    return np.where(trained, "cells", np.where(later, "later", np.where(larger, "larger", inside)))


def anchored_families(models: pl.DataFrame) -> set[str]:
    """The training families first seen after the established ones: every one of their training
    models released after the latest release of a family with two or more training models
    (``models``: those with a target score, whose dates the questions are asked against). A
    rolling forecast at n = 1 trains on each new family's smallest model, released after the cut:
    its larger models are not later than every training model, but their question is a later one
    (a family newer than the data that fixed the trends), which the later kind's n = 1 cuts ask."""
    families = models["family"].fill_null("").to_numpy()
    days = release_days(models)
    names, counts = np.unique(families, return_counts=True)
    several = np.isin(families, names[counts > 1]) & (families != "")
    if not np.isfinite(days[several]).any():
        return set()
    horizon = np.nanmax(days[several])
    return {
        f
        for f in np.unique(families[~several]).tolist()
        if f and np.all(days[families == f] > horizon)  # NaN (undated) is never after it
    }


def _smallest_per_family(candidates: np.ndarray, families: np.ndarray, params: np.ndarray) -> np.ndarray:
    """The smallest model (by parameters) of each family among ``candidates`` (a bool mask)."""
    keep = np.zeros(candidates.size, dtype=bool)
    for family in np.unique(families[candidates]):
        members = np.flatnonzero(candidates & (families == family))
        keep[members[np.argmin(params[members])]] = True
    return keep


def time_folds(
    models: pl.DataFrame, min_train: int, scored: np.ndarray | None = None
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, train, test) of the rolling-origin cuts, n = 0 and n = 1, counted back from the latest
    release among the ``scored`` models (those with a target score; default every model)."""
    days = release_days(models)
    dated = np.isfinite(days)
    reference = dated if scored is None else dated & scored
    if dated.sum() < 2 * min_train or not reference.any():
        return []
    families = models.select(pl.coalesce("family", "model_id")).to_series().to_numpy()
    params = models["params"].cast(pl.Float64).fill_null(np.inf).to_numpy()
    latest, out = np.max(days[reference]), []
    for months in TIME_CUTS_MONTHS:
        cut = latest - months * MONTH_DAYS
        before = ~dated | (days < cut)
        window = dated & (days >= cut) & (days < cut + HORIZON_MONTHS * MONTH_DAYS)
        if before.sum() < min_train or not window.any():
            continue
        out.append((f"cut-{months}m n=0", before, window))
        new = window & ~np.isin(families, families[before])
        anchors = _smallest_per_family(new, families, params)
        if anchors.any() and (window & ~anchors).any():
            out.append((f"cut-{months}m n=1", before | anchors, window & ~anchors))
    return out


def inner_folds(
    models: pl.DataFrame,
    observed: np.ndarray,
    n_targets: int,
    seed: int = 0,
    min_train: int = 8,
    gap_new_families: bool = True,
    per_target: bool = True,
    draws: int = 1,
    finer_cells: int = 0,
) -> list[InnerFold]:
    """The inner folds for ``models`` with ``observed`` cells (targets are the first columns).
    ``gap_new_families``: the compute fold past a gap also leaves out of its training data every
    model of its test models' families (False: version 13's folds). ``per_target``: a fold other
    than the cell halves asks a target only where its training models hold at least ``min_train``
    of that target's scores (False: version 22's folds, which asked every target). ``draws``: how
    many times the family groups and the cell halves are drawn (the first draw is ``seed``'s).
    ``finer_cells``: above 2, the cells kind's own folds, each hiding one of that many parts of
    every model's target cells (``FINER``; otherwise the halves serve it too)."""
    n = models.height
    targets = np.zeros(observed.shape, dtype=bool)
    targets[:, :n_targets] = observed[:, :n_targets]
    folds: list[InnerFold] = []

    def add(name: str, test: np.ndarray, kind: str, train: np.ndarray | None = None) -> None:
        train = ~test if train is None else train
        hide = targets & test[:, None]
        if per_target:  # a target scored by a handful of training models poses no question the fit meets
            hide &= targets[train].sum(axis=0) >= min_train
        if train.sum() >= min_train and hide.any():
            folds.append(InnerFold(name, train, hide, kind))

    # the questions are asked of the targets: time cuts and compute quantiles are placed among the
    # models with a target score, not among later or larger ones that only have inputs
    scored = targets.any(axis=1)
    for name, train, test in time_folds(models, min_train, scored):
        add(name, test, "later", train)
    flops = models["flops"].cast(pl.Float64).to_numpy()
    known = np.isfinite(flops)
    if (known & scored).sum() >= 4 * min_train:
        q50, q75 = np.quantile(flops[known & scored], [0.5, 0.75])
        add("compute q50-q75", known & (flops > q50) & (flops <= q75), "larger", ~known | (flops <= q50))
        add("compute >q75", known & (flops > q75), "larger")
        # the outer question extrapolates further than either (a cut-off's test models have up to
        # hundreds of times its FLOPs): trained up to the median, tested on the largest quarter
        # (one fold group with the one before: the same test cells; the larger kind's alone)
        largest, below = known & (flops > q75), ~known | (flops <= q50)
        if gap_new_families:  # nor their families' smaller models: the gap is not bridged by a family effect
            families = models.select(pl.coalesce("family", "model_id")).to_series().to_numpy()
            below &= ~np.isin(families, families[largest])
        add(f"compute >q75{OWN_ONLY}q50", largest, "larger", below)
    for draw in range(1, draws + 1):
        mark = "" if draw == 1 else f"{DRAW}{draw}"
        # the first draw's generators as before draws were repeated: one draw is version 24's folds
        group_rng = np.random.default_rng(seed if draw == 1 else (seed, draw))
        for k, test in enumerate(_family_group_tests(models, group_rng)):
            add(f"groups {k + 1}/3{mark}", test, "inside")
        cell_rng = np.random.default_rng(seed + 1 if draw == 1 else (seed + 1, draw))
        # the finer parts drawn after the halves: the halves' draws stay as they were
        for parts, finer in ((2, ""), *(((finer_cells, FINER),) if finer_cells > 2 else ())):
            for k, hide in enumerate(_cell_parts(targets, cell_rng, parts)):
                name = f"cells {k + 1}/{parts}{finer}{mark}"
                if hide.any():
                    folds.append(InnerFold(name, np.ones(n, dtype=bool), hide, "cells"))
    return folds


def _family_group_tests(models: pl.DataFrame, rng: np.random.Generator) -> list[np.ndarray]:
    """Three folds' test models: the family groups dealt at random into three, each held out with
    the smallest model of each of its families with more than one kept in training (n = 1); none
    where there are fewer than three groups."""
    groups = models.select(pl.coalesce("family_group", "family", "model_id")).to_series().to_numpy()
    names = np.unique(groups)
    if names.size < 3:  # one group or more per fold
        return []
    order = rng.permutation(names)
    params = models["params"].cast(pl.Float64).fill_null(np.inf).to_numpy()
    families = models["family"].fill_null("").to_numpy()
    tests = []
    for k in range(3):
        held = np.isin(groups, order[k::3])
        sizes = {f: np.sum(held & (families == f)) for f in np.unique(families[held])}
        several = held & np.array([sizes.get(f, 0) > 1 for f in families])
        tests.append(held & ~_smallest_per_family(several, families, params))
    return tests


def _cell_parts(targets: np.ndarray, rng: np.random.Generator, parts: int) -> np.ndarray:
    """(parts, models, benchmarks): each model's target cells dealt at random into ``parts``
    complementary parts, part k taking the cells from k n / parts to (k + 1) n / parts of its
    shuffled n, rounded down (two parts: the halves, the second the larger; a model with one cell
    has none hidden, one with fewer than ``parts`` leaves some parts empty)."""
    out = np.zeros((parts, *targets.shape), dtype=bool)
    for i in range(targets.shape[0]):
        cells = rng.permutation(np.flatnonzero(targets[i]))
        if cells.size >= 2:
            for k in range(parts):
                out[k, i, cells[k * cells.size // parts : (k + 1) * cells.size // parts]] = True
    return out


def kind_folds(kinds: dict[str, str], borrow: bool = True) -> dict[str, list[str]]:
    """Per kind of query model, the inner folds it chooses and calibrates on: those that stand for
    it (``kinds``: fold -> kind) and, with ``borrow``, the folds ``BORROWED`` names for it."""
    own = {kind: [f for f, k in kinds.items() if k == kind] for kind in KINDS}
    for kind, folds in own.items():  # a kind asked its question more finely reads those folds alone
        own[kind] = [f for f in folds if FINER in f] or folds
    for kind, (other, mark) in BORROWED.items() if borrow else ():
        own[kind] += [f for f, k in kinds.items() if k == other and f.endswith(mark)]
    return own


def own_only(name: str) -> bool:
    """Whether fold ``name`` serves its own kind's choices and widths alone, not every fold's:
    a variant of another fold's test (``OWN_ONLY``) or a kind's finer question (``FINER``)."""
    return OWN_ONLY in name or FINER in name


def seen_family(family: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Per model: is its family among the ``train``ing models' families? (The forecaster passes the
    training models with a target score: a family known only by its inputs is new to the targets.)"""
    seen = {f for f in family[train].tolist() if f}
    return np.array([f in seen for f in family.tolist()])
