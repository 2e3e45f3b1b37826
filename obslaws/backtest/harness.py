"""The one backtest harness every fitter is measured with."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split
from obslaws.backtest.cell_holdout import CellHoldout
from obslaws.backtest.compute_cutoff import ComputeCutoff, ComputeSweep
from obslaws.backtest.family_holdout import FamilyHoldout
from obslaws.backtest.metrics import cell_stderr, summarise
from obslaws.backtest.rolling import RollingForecast
from obslaws.backtest.time_split import TimeSplit
from obslaws.backtest.writer import CELL_COLUMNS, write_backtest
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws.errors import FitterError, ObslawsError
from obslaws.fitting.contract import Fitter
from obslaws.fitting.store import fit_id_for, fit_row, require_finite, stable_id
from obslaws.threads import apply_threads

PROTOCOLS: dict[str, type[Protocol]] = {
    FamilyHoldout.name: FamilyHoldout,
    ComputeCutoff.name: ComputeCutoff,
    TimeSplit.name: TimeSplit,
    RollingForecast.name: RollingForecast,
    ComputeSweep.name: ComputeSweep,
    CellHoldout.name: CellHoldout,
}


def make_protocol(protocol: str | Protocol, **options: Any) -> Protocol:
    """A protocol instance from its name and options (``None`` options take the defaults)."""
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(protocol, Protocol):
        if options:
            raise ProtocolError("give protocol options either to the Protocol instance or to run_backtest, not both")
        return protocol
    cls = PROTOCOLS.get(protocol)
    if cls is None:
        raise ProtocolError(f"unknown protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ProtocolError(f"{protocol}: {exc}") from exc


@dataclass
class BacktestResult:
    """Everything one backtest run measured. ``cells`` has one row per (split, model, benchmark)."""

    backtest_id: str
    fitter: str
    fitter_version: str
    plugin: str | None
    hyperparameters: dict[str, Any]
    protocol: str
    options: dict[str, Any]
    benchmarks: tuple[str, ...]
    averaging: str
    data_hash: str
    splits: list[Split]
    cells: pl.DataFrame
    fit_rows: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    n_models: int = 0
    written: bool = False
    # With run_backtest(keep_models=True): each split's fitted model and its query (scores hidden).
    fitted: list[Fitter] = field(default_factory=list, repr=False)
    queries: list[FitData] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """The JSON summary: per benchmark and average MAE (points), MSE, Spearman, coverage, noise floor."""
        metrics = summarise(self.cells, self.averaging)
        return {
            "fitter": self.fitter,
            "fitter_version": self.fitter_version,
            "plugin": self.plugin,
            "hyperparameters": self.hyperparameters,
            "protocol": self.protocol,
            "options": self.options,
            "backtest_id": self.backtest_id,
            "benchmarks": metrics["benchmarks"],
            "average": metrics["average"],
            "pooled": metrics["pooled"],
            "splits": metrics["splits"],
            "n_groups": len(self.splits),
            "n_models": self.n_models,
            "n_test_models": self.cells["model_id"].n_unique() if self.cells.height else 0,
            "n_cells": metrics["n_cells"],
            "noise_floor_pt": metrics["noise_floor_pt"],
            "coverage": metrics["coverage"],
            "duration_s": self.duration_s,
            "data_hash": self.data_hash,
        }

    def table(self) -> pl.DataFrame:
        """One row per benchmark plus an ``average`` row: mae_pt, mse, spearman, coverage, noise floor, n."""
        summary = self.summary()
        rows = [{"benchmark": name, **metrics} for name, metrics in summary["benchmarks"].items()]
        rows.append({"benchmark": "average", **summary["average"], "n": summary["n_cells"]})
        columns = ["benchmark", "mae_pt", "mse", "spearman", "coverage", "noise_floor_pt", "n"]
        return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema_overrides={"spearman": pl.Float64})


def _short(names: Sequence[str], limit: int = 6) -> str:
    """A benchmark list for a one-line message: the first few and how many more."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{len(names)} benchmarks ({shown}, ...)" if len(names) > limit else f"[{shown}]"


def _load(conn: duckdb.DuckDBPyConnection, targets: Sequence[str] | None, source: str | None) -> FitData:
    from obslaws.store.read import load_fit_data

    return load_fit_data(conn, targets, source=source)


def _plugin_of(fitter: Fitter) -> str | None:
    try:
        from obslaws.fitting.lookup import get_fitters

        info = get_fitters().get(fitter.name)
    except ObslawsError:
        return None
    return info.plugin if info is not None and info.cls is type(fitter) else None


@contextmanager
def _naming_failures(fitter: str, where: str) -> Iterator[None]:
    """Re-raise a fitter's failure with the fitter and the split it failed on in the message."""
    try:
        yield
    except ObslawsError as exc:
        raise type(exc)(f"{fitter} on {where}: {exc}") from exc
    except Exception as exc:
        raise FitterError(f"{fitter} failed on {where}: {type(exc).__name__}: {exc}") from exc


def _backtest_id(fitter: Fitter, proto: Protocol, targets: Sequence[str], data_hash: str) -> str:
    parts = (fitter.name, str(fitter.version), fitter.get_params(), proto.name, proto.options(), list(targets))
    return stable_id("bt", *parts, data_hash)


def backtest_id_for(
    fitter: Fitter,
    data: FitData,
    protocol: str | Protocol = "family-holdout",
    *,
    benchmarks: str | Sequence[str] | None = None,
    **options: Any,
) -> str:
    """The id :func:`run_backtest` gives this backtest, without running it (to find a stored run)."""
    proto = make_protocol(protocol, **options)
    targets = resolve_benchmarks(benchmarks) if benchmarks is not None else tuple(data.targets)
    eligible = proto.eligible(data.with_targets(targets), targets, sorted(fitter.requires.needs))
    return _backtest_id(fitter, proto, targets, eligible.content_hash())


def run_backtest(
    fitter: Fitter,
    data: FitData | duckdb.DuckDBPyConnection,
    protocol: str | Protocol = "family-holdout",
    *,
    benchmarks: str | Sequence[str] | None = None,
    source: str | None = None,
    conn: duckdb.DuckDBPyConnection | None = None,
    write: bool | None = None,
    plugin: str | None = None,
    progress: Callable[[str], None] | None = None,
    keep_models: bool = False,
    **options: Any,
) -> BacktestResult:
    """Backtest ``fitter`` under ``protocol``, scoring every test cell, and write the result.

    Parameters
    ----------
    fitter:
        An (unfitted) fitter; each split fits a clone of it.
    data:
        A :class:`FitData`, or an open database connection to read it from (``source``
        restricts the scores to one source, e.g. ``sloth-data-v2``).
    protocol:
        ``family-holdout`` (option ``n_train``, default 1), ``compute-cutoff`` (``cutoff`` in
        FLOPs, default 8.4e22), ``compute-sweep`` (``cutoffs``), ``time-split`` (``date``),
        ``rolling-forecast`` (``start``, ``n_train``, ...), ``cell-holdout`` (``folds``, ``seed``),
        or a :class:`Protocol` instance.
    benchmarks:
        The targets: a set name (``oll-v1``, ``oll-v2``, ``oll-all``, ...), a comma list or a
        list; default the data's targets.
    conn, write:
        Where to write the cells, the run and the fold fits (one transaction). ``write``
        defaults to True when a connection is known (``conn``, or ``data`` is one).
    plugin:
        The plugin that registered the fitter, recorded with the run (looked up if omitted).
    progress:
        Called with a line of text after each split.
    keep_models:
        Keep each split's fitted model and query in the result (``fitted``, ``queries``), to look
        inside the fits (for example per ensemble member) without refitting.

    Returns
    -------
    BacktestResult
        ``summary()``: MAE in points, MSE, Spearman, coverage, noise floor, with the protocol's averaging.
    """
    started = time.perf_counter()
    proto = make_protocol(protocol, **options)
    data, targets, conn, write = _resolve_data(data, benchmarks, source, conn, write)
    eligible, splits = _eligible_splits(fitter, proto, data, targets)
    data_hash = eligible.content_hash()
    backtest_id = _backtest_id(fitter, proto, targets, data_hash)
    plugin = plugin if plugin is not None else _plugin_of(fitter)
    scored = _score_splits(fitter, proto, eligible, splits, targets, plugin, keep_models, progress)
    result = BacktestResult(
        backtest_id=backtest_id,
        fitter=fitter.name,
        fitter_version=str(fitter.version),
        plugin=plugin,
        hyperparameters=fitter.get_params(),
        protocol=proto.name,
        options={**proto.options(), "benchmarks": list(targets)},
        benchmarks=tuple(targets),
        averaging=proto.averaging,
        data_hash=data_hash,
        splits=splits,
        cells=_assemble_cells(scored.frames, eligible, backtest_id, proto.name, fitter.name, targets),
        fit_rows=scored.fit_rows,
        n_models=eligible.models.height,
        fitted=scored.models,
        queries=scored.queries,
    )
    result.duration_s = time.perf_counter() - started
    if write:
        write_backtest(conn, result)
        result.written = True
    return result


def _resolve_data(
    data: FitData | duckdb.DuckDBPyConnection,
    benchmarks: str | Sequence[str] | None,
    source: str | None,
    conn: duckdb.DuckDBPyConnection | None,
    write: bool | None,
) -> tuple[FitData, tuple[str, ...], duckdb.DuckDBPyConnection | None, bool]:
    """The data restricted to the targets, the targets, the connection and whether to write to it."""
    targets = resolve_benchmarks(benchmarks) if benchmarks is not None else None
    if isinstance(data, duckdb.DuckDBPyConnection):
        conn = conn if conn is not None else data
        data = _load(data, targets, source)
    elif source is not None:
        raise ObslawsError("source= only applies when data is a database connection")
    if targets is None:
        targets = tuple(data.targets)
    if not targets:
        raise ProtocolError("no target benchmarks: pass benchmarks= or give data with targets")
    missing = sorted(set(targets) - set(data.scores["benchmark"].unique().to_list()))
    if missing:
        raise ProtocolError(f"no scores for benchmark(s) {_short(missing)} in the data")
    write = (conn is not None) if write is None else write
    if write and conn is None:
        raise ObslawsError("write=True needs a database connection (conn=)")
    return data.with_targets(targets), tuple(targets), conn, write


def _eligible_splits(
    fitter: Fitter, proto: Protocol, data: FitData, targets: Sequence[str]
) -> tuple[FitData, list[Split]]:
    """The protocol's eligible data and its splits, each with enough training models for ``fitter``."""
    eligible = proto.eligible(data, targets, sorted(fitter.requires.needs))
    splits = list(proto.splits(eligible, targets))
    if not splits:
        hint = " (it needs models with every target score: name fewer, e.g. --benchmarks oll-v1)"
        raise ProtocolError(
            f"{proto.name}: no split has test models on {_short(targets)}"
            + (hint if proto.name == "family-holdout" else "")
        )
    for split in splits:
        if len(split.train) < fitter.requires.min_models:
            raise ProtocolError(
                f"{proto.name}: split {split.name!r} has {len(split.train)} training models; "
                f"{fitter.name} needs at least {fitter.requires.min_models}"
            )
    return eligible, splits


@dataclass
class _Scored:
    """What scoring the splits produced: per split its cells, fit row, and (kept) model and query."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    fit_rows: list[dict[str, Any]] = field(default_factory=list)
    models: list[Fitter] = field(default_factory=list)
    queries: list[FitData] = field(default_factory=list)


def _score_splits(
    fitter: Fitter,
    proto: Protocol,
    eligible: FitData,
    splits: Sequence[Split],
    targets: Sequence[str],
    plugin: str | None,
    keep_models: bool,
    progress: Callable[[str], None] | None,
) -> _Scored:
    """Fit every split (through ``fit_many``), predict its test cells and score them."""
    truth_all = eligible.scores.filter(pl.col("benchmark").is_in(list(targets))).select(
        "model_id", "benchmark", pl.col("value").alias("truth"), "stderr"
    )
    trains = [split.train_data(eligible) for split in splits]
    # Fitter.fit_many fits lazily, one fold at a time, unless the fitter batches every fold into
    # one program; the time of the call itself is that program's, shared among the folds.
    apply_threads()
    tic = time.perf_counter()
    with _naming_failures(fitter.name, f"{proto.name} (all splits at once)"):
        fitted = iter(fitter.fit_many(trains))
    batch_seconds = (time.perf_counter() - tic) / len(splits)
    out = _Scored()
    for index, (split, train) in enumerate(zip(splits, trains, strict=True)):
        query = split.query_data(eligible, targets)
        tic = time.perf_counter()
        with _naming_failures(fitter.name, f"{proto.name} split {split.name!r}"):
            model = next(fitted, None)
            if model is None:
                raise FitterError(f"fit_many returned {index} fits for {len(splits)} splits")
            predicted = model.predict(query)
        where = f"{proto.name} split {split.name!r}"
        require_finite(predicted.filter(pl.col("benchmark").is_in(list(targets))), f"{fitter.name} on {where}")
        train_hash = train.content_hash()
        fit_id = fit_id_for(model, train_hash)
        seconds = time.perf_counter() - tic + batch_seconds
        out.fit_rows.append(
            fit_row(model, train, fit_id=fit_id, data_hash=train_hash, duration_s=seconds, plugin=plugin)
        )
        cells = _split_cells(truth_all, split, predicted, f"{fitter.name} on {where}")
        out.frames.append(cells.with_columns(pl.lit(split.name).alias("split"), pl.lit(fit_id).alias("fit_id")))
        if keep_models:
            out.models.append(model)
            out.queries.append(query)
        if progress is not None:
            progress(f"{proto.name} {split.name}: {len(split.train)} train, {len(split.test)} test models")
    if next(fitted, None) is not None:
        raise FitterError(f"{fitter.name}.fit_many returned more fits than the {len(splits)} splits")
    return out


def _split_cells(truth_all: pl.DataFrame, split: Split, predicted: pl.DataFrame, where: str) -> pl.DataFrame:
    """The split's test cells (truth joined with the prediction); every cell must have one."""
    truth = truth_all.filter(pl.col("model_id").is_in(list(split.test)))
    if split.hidden:
        truth = truth.join(split.hidden_frame(), on=["model_id", "benchmark"], how="semi")
    cells = truth.join(predicted, on=["model_id", "benchmark"], how="left")
    lacking = cells.filter(pl.col("prediction").is_null())
    if lacking.height:
        row = lacking.row(0, named=True)
        raise FitterError(
            f"{where}: no prediction for {lacking.height} test cell(s), "
            f"e.g. model {row['model_id']!r} on {row['benchmark']!r}"
        )
    return cells


def _assemble_cells(
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
