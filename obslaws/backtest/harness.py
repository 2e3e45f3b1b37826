"""The one backtest harness every fitter is measured with."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from obslaws.backtest.base import Protocol, ProtocolError
from obslaws.backtest.cell_holdout import CellHoldout
from obslaws.backtest.compute_cutoff import ComputeCutoff, ComputeSweep
from obslaws.backtest.family_holdout import FamilyHoldout
from obslaws.backtest.folds import batch_invariant
from obslaws.backtest.planned import Planned, backtest_id, fit_planned, plan_backtest, score_planned, short_list
from obslaws.backtest.result import BacktestResult
from obslaws.backtest.rolling import RollingForecast
from obslaws.backtest.time_split import TimeSplit
from obslaws.backtest.writer import write_backtest
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws.errors import ObslawsError
from obslaws.fitting.contract import Fitter
from obslaws.fitting.store import canonical_json
from obslaws.option_types import word_for_number

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
    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ProtocolError(f"{protocol}: unknown option(s) {unknown}; valid: {sorted(defaults)}")
    for key, value in options.items():  # a word for a number would fail in int() or float(), naming nothing
        default = defaults[key]
        if isinstance(default, bool) and not isinstance(value, bool):  # 'maybe' would read as true
            raise ProtocolError(f"{protocol}: option {key!r} takes true or false, got {value!r}")
        if word_for_number(value, default):
            raise ProtocolError(f"{protocol}: option {key!r} takes a number (default {default!r}), got {value!r}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{protocol}: {exc} (options {options})") from exc


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


def backtest_id_for(
    fitter: Fitter,
    data: FitData,
    protocol: str | Protocol = "family-holdout",
    *,
    benchmarks: str | Sequence[str] | None = None,
    hashes: dict[tuple, str] | None = None,
    **options: Any,
) -> str:
    """The id :func:`run_backtest` gives this backtest, without running it (to find a stored run).

    ``hashes``, kept across calls on the same ``data`` object, holds the hash of each protocol's
    eligible data (most of the work): fitters that need the same covariates share it.
    """
    proto = make_protocol(protocol, **options)
    targets = tuple(resolve_benchmarks(benchmarks) if benchmarks is not None else data.targets)
    needs = tuple(sorted(fitter.requires.needs))
    key = (id(data), proto.name, canonical_json(proto.options()), targets, needs)
    hashes = hashes if hashes is not None else {}
    if key not in hashes:
        hashes[key] = proto.eligible(data.with_targets(targets), targets, needs).content_hash()
    return backtest_id(fitter, proto, targets, hashes[key])


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
    plan = plan_backtest(fitter, proto, data, targets)
    plugin = plugin if plugin is not None else _plugin_of(fitter)
    fit_planned(fitter, [plan])
    result = score_planned(fitter, plan, plugin, keep_models, progress)
    result.duration_s = time.perf_counter() - started
    if write:
        write_backtest(conn, result)
        result.written = True
    return result


@dataclass
class BacktestPlan:
    """One backtest of :func:`run_backtests`: the data, protocol, targets and protocol options
    that :func:`run_backtest` takes."""

    data: FitData
    protocol: str | Protocol = "family-holdout"
    benchmarks: str | Sequence[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def run_backtests(
    fitter: Fitter,
    plans: Sequence[BacktestPlan],
    *,
    plugin: str | None = None,
    keep_models: bool = False,
) -> list[BacktestResult | Exception]:
    """Several backtests of ``fitter`` at once (nothing is written), each as :func:`run_backtest`
    gives it, to the bit. Where the fitter is batch-invariant (:func:`~obslaws.backtest.folds.batch_invariant`:
    every fitter with the default ``fit_many``), a fold that sees the same data as another is
    fitted once and the folds of all of them go through one ``fit_many`` call per target set.

    Returns one entry per plan, in order: its :class:`BacktestResult`, or the exception that
    stopped it (a failed fold fails only the backtests it belongs to).
    """
    plugin = plugin if plugin is not None else _plugin_of(fitter)
    planned: list[Planned | Exception] = []
    for plan in plans:
        try:
            proto = make_protocol(plan.protocol, **plan.options)
            data, targets, _, _ = _resolve_data(plan.data, plan.benchmarks, None, None, False)
            planned.append(plan_backtest(fitter, proto, data, targets))
        except Exception as exc:  # reported in its place; the others go on
            planned.append(exc)
    ready = [p for p in planned if isinstance(p, Planned)]
    if len(ready) > 1 and batch_invariant(type(fitter)) and _fitted_together(fitter, ready):
        return [_scored(fitter, p, plugin, keep_models) for p in planned]
    return [_alone(fitter, p, plugin, keep_models) for p in planned]


def _fitted_together(fitter: Fitter, ready: list[Planned]) -> bool:
    """Fit the shared folds of ``ready`` once; False where a fold failed, so that each backtest is
    then fitted alone and a failure stays with its own backtest."""
    try:
        fit_planned(fitter, ready)
    except Exception:  # noqa: BLE001 - reported by the backtest it belongs to, when fitted alone
        return False
    return True


def _alone(fitter: Fitter, plan: Planned | Exception, plugin: str | None, keep_models: bool) -> Any:
    if isinstance(plan, Exception):
        return plan
    try:
        fit_planned(fitter, [plan])
    except Exception as exc:
        return exc
    return _scored(fitter, plan, plugin, keep_models)


def _scored(fitter: Fitter, plan: Planned | Exception, plugin: str | None, keep_models: bool) -> Any:
    if isinstance(plan, Exception):
        return plan
    try:
        return score_planned(fitter, plan, plugin, keep_models)
    except Exception as exc:
        return exc


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
        raise ProtocolError(f"no scores for benchmark(s) {short_list(missing)} in the data")
    write = (conn is not None) if write is None else write
    if write and conn is None:
        raise ObslawsError("write=True needs a database connection (conn=)")
    return data.with_targets(targets), tuple(targets), conn, write
