"""One backtest from its protocol to its result, its folds fitted with those of others.

:func:`plan_backtest` makes a protocol's splits and their training sets; :func:`fit_planned`
fits the folds of one or more planned backtests of a fitter, each distinct training set once
(:mod:`obslaws.backtest.folds`); :func:`score_planned` predicts and scores each split of one
of them and assembles its :class:`BacktestResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl

from obslaws.backtest.base import UNTRAINED, Protocol, ProtocolError, Split
from obslaws.backtest.folds import Fold, batch_invariant, fit_folds, fold_key, score_split
from obslaws.backtest.metrics import cell_stderr
from obslaws.backtest.result import BacktestResult
from obslaws.backtest.uncertainty import cluster_labels
from obslaws.backtest.writer import CELL_COLUMNS
from obslaws.data import FitData
from obslaws.fitting.contract import Fitter
from obslaws.fitting.store import stable_id


def short_list(names: Sequence[str], limit: int = 6) -> str:
    """A benchmark list for a one-line message: the first few and how many more."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{len(names)} benchmarks ({shown}, ...)" if len(names) > limit else f"[{shown}]"


def backtest_id(fitter: Fitter, proto: Protocol, targets: Sequence[str], data_hash: str) -> str:
    parts = (fitter.name, str(fitter.version), fitter.get_params(), proto.name, proto.options(), list(targets))
    return stable_id("bt", *parts, data_hash)


def eligible_splits(
    fitter: Fitter, proto: Protocol, data: FitData, targets: Sequence[str]
) -> tuple[FitData, list[Split]]:
    """The protocol's eligible data and its splits, each with enough training models for ``fitter``."""
    eligible = proto.eligible(data, targets, sorted(fitter.requires.needs))
    splits = list(proto.splits(eligible, targets))
    if not splits:
        hint = " (it needs models with every target score: name fewer, e.g. --benchmarks oll-v1)"
        raise ProtocolError(
            f"{proto.name}: no split has test models on {short_list(targets)}"
            + (hint if proto.name == "family-holdout" else "")
        )
    for split in splits:
        if len(split.train) < fitter.requires.min_models:
            raise ProtocolError(
                f"{proto.name}: split {split.name!r} has {len(split.train)} training models; "
                f"{fitter.name} needs at least {fitter.requires.min_models}"
            )
    return eligible, splits


def assemble_cells(
    frames: list[pl.DataFrame],
    eligible: FitData,
    backtest_id: str,
    protocol: str,
    fitter: str,
    targets: Sequence[str],
) -> pl.DataFrame:
    """Every split's cells in one frame, in the stored column order, sorted by split, benchmark, model."""
    cells = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    cells = cells.with_columns(cell_stderr(cells, eligible.benchmarks).alias("stderr"))
    order = {b: i for i, b in enumerate(targets)}
    return (
        cells.with_columns(
            pl.lit(backtest_id).alias("backtest_id"),
            pl.lit(protocol).alias("protocol"),
            pl.lit(fitter).alias("fitter"),
            pl.col("benchmark").replace_strict(order, return_dtype=pl.Int64).alias("_order"),
        )
        .sort(["split", "_order", "model_id"])
        .select(*CELL_COLUMNS)  # the stored order (writer.CELL_COLUMNS)
    )


def trained_targets(split: Split, train: FitData) -> tuple[Split, FitData]:
    """``split`` and its training set ``train`` as far as some training model was scored: a target no
    model before a rolling forecast's cut has a score on (a benchmark that came later) is a question
    no fitter can answer from that training set, so every fitter leaves its cells of the split
    unscored and the split's info names it (``UNTRAINED``)."""
    scored = set(train.scores.filter(pl.col("benchmark").is_in(list(train.targets)))["benchmark"].to_list())
    lacking = [t for t in train.targets if t not in scored]
    if not lacking:
        return split, train
    if len(lacking) == len(train.targets):
        raise ProtocolError(f"split {split.name!r}: no training model has a score on {short_list(lacking)}")
    split = replace(split, info={**split.info, UNTRAINED: lacking})
    return split, train.with_targets([t for t in train.targets if t in scored])


@dataclass
class Planned:
    """A backtest ready to fit: its protocol, targets, eligible data and splits, and each split's fold."""

    proto: Protocol
    targets: tuple[str, ...]
    eligible: FitData
    splits: list[Split]
    trains: list[FitData]
    seconds: float  # spent planning it (the fits and the scoring are added as they run)
    folds: list[Fold] | None = None


def plan_backtest(fitter: Fitter, proto: Protocol, data: FitData, targets: Sequence[str]) -> Planned:
    """The splits of ``proto`` on ``data`` (already restricted to ``targets``) for ``fitter``."""
    tic = time.perf_counter()
    eligible, splits = eligible_splits(fitter, proto, data, targets)
    pairs = [trained_targets(split, split.train_data(eligible)) for split in splits]
    splits, trains = [split for split, _ in pairs], [train for _, train in pairs]
    return Planned(proto, tuple(targets), eligible, splits, trains, time.perf_counter() - tic)


def fit_planned(fitter: Fitter, planned: Sequence[Planned]) -> None:
    """Fit the folds of every planned backtest (setting each one's ``folds``). For a batch-invariant
    fitter each distinct training set is fitted once and every backtest's folds go through one
    ``fit_many`` per target set; otherwise each backtest's folds through its own, as alone."""
    shared = batch_invariant(type(fitter))
    folds: dict[str, Fold] = {}
    batches: dict[object, list[Fold]] = {}
    for number, plan in enumerate(planned):
        plan.folds = []
        for index, (split, train) in enumerate(zip(plan.splits, plan.trains, strict=True)):
            key = fold_key(fitter, train) if shared else f"{number}/{index}"
            fold = folds.get(key)
            if fold is None:
                fold = folds[key] = Fold(train, f"{plan.proto.name} split {split.name!r}")
                batches.setdefault(train.targets if shared else number, []).append(fold)
            fold.users += 1
            plan.folds.append(fold)
    names = ", ".join(dict.fromkeys(plan.proto.name for plan in planned))
    fit_folds(fitter, list(batches.values()), f"{names} (all splits at once)")


def score_planned(
    fitter: Fitter,
    plan: Planned,
    plugin: str | None,
    keep_models: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Predict and score every split of a fitted plan (:func:`fit_planned`): its result, its
    ``duration_s`` the planning, its share of the fits and its scoring."""
    tic = time.perf_counter()
    proto, targets, eligible = plan.proto, plan.targets, plan.eligible
    truth_all = eligible.scores.filter(pl.col("benchmark").is_in(list(targets))).select(
        "model_id", "benchmark", pl.col("value").alias("truth"), "stderr"
    )
    frames, fit_rows, models, queries = [], [], [], []
    for split, fold in zip(plan.splits, plan.folds or [], strict=True):
        trained = fold.train.targets  # the targets of its training set (trained_targets)
        query = split.query_data(eligible, trained)
        where = f"{proto.name} split {split.name!r}"
        truth = truth_all if len(trained) == len(targets) else truth_all.filter(pl.col("benchmark").is_in(trained))
        cells, row = score_split(fitter, fold, split, query, truth, where, plugin)
        frames.append(cells)
        fit_rows.append(row)
        if keep_models:
            models.append(fold.model)
            queries.append(query)
        if progress is not None:
            progress(f"{proto.name} {split.name}: {len(split.train)} train, {len(split.test)} test models")
    data_hash = eligible.content_hash()
    bt_id = backtest_id(fitter, proto, targets, data_hash)
    cells = assemble_cells(frames, eligible, bt_id, proto.name, fitter.name, targets)
    result = BacktestResult(
        backtest_id=bt_id,
        fitter=fitter.name,
        fitter_version=str(fitter.version),
        plugin=plugin,
        hyperparameters=fitter.get_params(),
        protocol=proto.name,
        options={**proto.options(), "benchmarks": list(targets)},
        benchmarks=tuple(targets),
        averaging=proto.averaging,
        data_hash=data_hash,
        splits=plan.splits,
        cells=cells,
        fit_rows=fit_rows,
        n_models=eligible.models.height,
        fitted=models,
        queries=queries,
        clusters=cluster_labels(cells, eligible.models),
    )
    fits = sum(fold.seconds / fold.users for fold in plan.folds or [])
    result.duration_s = plan.seconds + fits + time.perf_counter() - tic
    return result
