"""The leaderboard refresh: ingest what is new, refit every fitter, backtest, report.

Everything the refresh writes to the database happens in one transaction: an interrupted run
(Ctrl-C, a kill, a crash) leaves the file as it was. The report is written to a temporary folder
and moved into place only when complete.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pluggy
import polars as pl

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws.errors import FitterError, ObslawsError
from obslaws.fitting.selection import ReadFitData, select_for
from obslaws.refresh.config import RefreshConfig
from obslaws.refresh.outcome import BacktestOutcome, FitOutcome, Progress, RefreshOutcome, describe
from obslaws.refresh.predict import Predicted, new_model_check, planned_predictions, predict_missing
from obslaws.refresh.state import last_refresh, state_hash
from obslaws.store import transaction, upsert

if TYPE_CHECKING:
    from obslaws.refresh.parallel import Workers

__all__ = ["RefreshOutcome", "fit_data_reader", "refresh"]


def fit_data_reader(conn: duckdb.DuckDBPyConnection) -> ReadFitData:
    """:func:`~obslaws.store.read.load_fit_data`, read once per selection within one refresh.

    The fits, backtests and checks of a refresh read overlapping selections; after its ingest
    step nothing it writes (fits, predictions, backtests) changes what they read.
    """
    from obslaws.store.read import load_fit_data

    @functools.cache  # keyed on all three, as given positionally below
    def cached(targets: tuple[str, ...], source: str | None, include_checkpoints: bool) -> FitData:
        return load_fit_data(conn, list(targets), source=source, include_checkpoints=include_checkpoints)

    def read(targets: Sequence[str], source: str | None = None, include_checkpoints: bool = False) -> FitData:
        return cached(tuple(targets), source, bool(include_checkpoints))

    return read


def _ingest(
    conn: duckdb.DuckDBPyConnection,
    config: RefreshConfig,
    pm: pluggy.PluginManager,
    progress: Progress,
    allow_skips: bool = False,
) -> dict[str, Any]:
    """Each configured source through its ingestor, then the plan's model facts.

    A malformed source stops the refresh (and so rolls back everything it wrote), naming the
    file, unless ``allow_skips``: then it is reported and the refresh goes on without it.
    Values an ingestor rejected (out of range, not numbers) are reported, never stored.
    """
    from obslaws.ingest.context import IngestContext
    from obslaws.ingest.model_facts import ingest_model_facts
    from obslaws.ingest.plugins import load_ingest_plugins

    done: dict[str, Any] = {}
    plugins = load_ingest_plugins(pm)
    context = IngestContext(conn, plugins.task_map)
    for step in config.ingest:
        if step.ingestor not in plugins.ingestors:
            known = ", ".join(sorted(plugins.ingestors))
            raise ObslawsError(f"{config.path}: unknown ingestor {step.ingestor!r}; registered: {known}")
        result = plugins.ingestors[step.ingestor](context, list(step.paths), **step.options)
        if result.skipped and not allow_skips:
            first = result.skipped[0]
            raise ObslawsError(
                f"malformed source in {config.path} ({step.ingestor}): {first}; nothing was written "
                f"({len(result.skipped)} problem(s); --allow-skips goes on without them)"
            )
        for problem in result.skipped:
            progress(f"      skipped {problem}")
        for problem in result.rejected:
            progress(f"      rejected, not stored: {problem}")
        done[f"{step.ingestor}: {', '.join(step.paths)}"] = {t: str(s) for t, s in result.tables.items()}
        progress(f"      {step.ingestor} {', '.join(step.paths)}: {result.added} added, {result.updated} updated")
    facts = ingest_model_facts(
        context,
        [(note.model_id, note.values) for note in config.models],
        source_id=f"refresh-config:{Path(config.path).name}",
        citation=f"model facts given in the refresh plan {config.path}",
    )
    for name in facts.extra["waiting"]:
        progress(f"      [[models]] {name}: not ingested by any source yet; its facts wait")
    return done


def _model_ids(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT model_id FROM models WHERE checkpoint_of IS NULL").fetchall()}


def _plan_fits(
    conn, read: ReadFitData, config, fitters, progress: Progress, reuse: bool = True
) -> list[tuple[FitOutcome, Any, FitData | None]]:
    """Each registered fitter with its plan's data: ``(outcome, fitter, data)``, the fitter None
    where nothing is to be fitted (failed to prepare, or reused).

    With ``reuse``, a fit already stored for the same fitter, hyperparameters and data is not
    redone (unless a later step needs the fitted object: :func:`obslaws.refresh.reuse.needs_instance`).
    """
    from obslaws.refresh.reuse import needs_instance, stored_fit

    keep = needs_instance(config)

    prepared = []
    for name, info in fitters.items():
        settings = config.fit_settings(name)
        outcome = FitOutcome(name, info.plugin, "queued", source=settings.get("source"))
        try:
            fitter = info.create(**settings.get("options", {}))
            # the plan's benchmarks and checkpoints, else the fitter's own defaults, as `obslaws fit`
            selection = select_for(
                fitter, read, settings.get("benchmarks"), outcome.source, settings.get("include_checkpoints")
            )
            data, note = selection.data, selection.note(name, fitter.requires.min_models)
            outcome.benchmarks = data.targets
            if note:
                progress(f"      {note}")
            stored = stored_fit(conn, fitter, data) if reuse and name not in keep else None
            if stored is not None:
                outcome.fit_id, outcome.seconds = stored
                outcome.status = "fitted"
                progress(f"      {name}: unchanged since fit {outcome.fit_id}, not refitted")
                prepared.append((outcome, None, None))
                continue
            prepared.append((outcome, fitter, data))
        except Exception as exc:  # a plugin's failure is reported, not allowed to sink the others
            outcome.status = f"failed: {describe(exc)}"
            prepared.append((outcome, None, None))
    return prepared


def _collect_fits(conn, prepared, queued: dict[int, Any], progress: Progress, asked: dict) -> list[FitOutcome]:
    """Store each queued fit (``queued``: index in ``prepared`` -> its result callable) in plan
    order, with what its worker predicted after it (``asked``: index -> PredictionQuery)."""
    from obslaws.fitting.store import store_fit

    for index, (outcome, fitter, data) in enumerate(prepared):
        if fitter is None:
            if outcome.fit_id is None:
                progress(f"      {outcome.fitter}: {outcome.status}")
            continue
        try:
            fitted, outcome.timing, predicted = queued[index]()
            outcome.seconds = outcome.timing.seconds
            outcome.predicted = None if predicted is None else Predicted.of(asked[index], *predicted)
            outcome.fit_id = store_fit(conn, fitted, data, duration_s=outcome.seconds, plugin=outcome.plugin)
            outcome.status, outcome.instance = "fitted", fitted
        except Exception as exc:  # as above
            outcome.status = f"failed: {describe(exc)}"
        progress(f"      {outcome.fitter}: {outcome.status} ({outcome.seconds:.1f} s)")
    return [outcome for outcome, _, _ in prepared]


def _plan_backtests(
    conn, read: ReadFitData, config, fitters, progress: Progress, reuse: bool = True
) -> list[tuple[BacktestOutcome, Any]]:
    """Every (backtest, fitter) pair of the plan: ``(outcome, Job or None)``, None where it is
    skipped or reused.

    With ``reuse``, a backtest already stored with the same id (fitter, version, hyperparameters,
    protocol, options and data) is not rerun; its stored summary is reported.
    """
    from obslaws.refresh.parallel import Job
    from obslaws.refresh.reuse import stored_backtest

    jobs: list[tuple[BacktestOutcome, Job | None]] = []
    hashes: dict[tuple, str] = {}  # each protocol's eligible data, hashed once (stored_backtest)
    for step in config.backtests:
        data = None
        for name, info in fitters.items():
            settings = config.fit_settings(name)
            outcome = BacktestOutcome(name, step.label, "queued")
            if step.protocol in settings.get("skip_protocols", []):
                outcome.status = "skipped: not in this fitter's plan"
                jobs.append((outcome, None))
                continue
            if data is None:
                targets = resolve_benchmarks(step.benchmarks)
                data = read(targets, step.source)
            job = Job(
                name,
                dict(settings.get("options", {})),
                info.plugin,
                data,
                step.protocol,
                step.benchmarks,
                dict(step.options),
                info,
                step.source,
            )
            stored = stored_backtest(conn, job, hashes) if reuse else None
            if stored is not None:
                outcome.backtest_id, outcome.summary, outcome.seconds = stored
                outcome.status = "done"
                progress(f"      {name} {step.label}: unchanged since {outcome.backtest_id}, not rerun")
                job = None
            jobs.append((outcome, job))
    return jobs


def _collect_backtests(
    conn, jobs, queued: dict[int, Any], progress: Progress, written: Callable[[str, list], None] | None = None
) -> list[BacktestOutcome]:
    """Write each queued backtest (``queued``: index in ``jobs`` -> a callable giving its result, or
    the exception that stopped it, its summary and its Timing) in plan order, whatever order they
    finish in. ``written(label, outcomes)`` is told when every backtest of a protocol is done."""
    left = Counter(outcome.label for outcome, _ in jobs)
    for index, (outcome, job) in enumerate(jobs):
        if job is not None:
            _write_one(conn, outcome, queued[index], progress)
        left[outcome.label] -= 1
        if written is not None and not left[outcome.label]:
            written(outcome.label, [o for o, _ in jobs if o.label == outcome.label])
    return [outcome for outcome, _ in jobs]


def _write_one(conn, outcome: BacktestOutcome, queued: Callable[[], Any], progress: Progress) -> None:
    """Write one backtest's result (or report why it has none) and tell its progress line."""
    from obslaws.backtest.writer import write_backtest

    try:
        result, summary, outcome.timing = queued()
        outcome.seconds = outcome.timing.seconds
        if isinstance(result, Exception):
            raise result
        write_backtest(conn, result, summary)  # the summary scored in the worker
        outcome.status, outcome.backtest_id, outcome.summary = "done", result.backtest_id, summary
    except Exception as exc:  # as for fits: reported in the table, the rest goes on
        outcome.status = f"skipped: {describe(exc)}"
    mae = (outcome.summary or {}).get("average", {}).get("mae_pt")
    shown = f"MAE {mae:.2f} pt" if isinstance(mae, float) else outcome.status
    progress(f"      {outcome.fitter} {outcome.label}: {shown} ({outcome.seconds:.1f} s)")


def _fit_and_backtest(
    conn,
    read: ReadFitData,
    config,
    fitters,
    outcome: RefreshOutcome,
    progress: Progress,
    workers: int,
    reuse: bool,
    shared: Workers | None = None,
) -> None:
    """Steps 2 and 3 on one set of worker processes. The fits are queued as soon as they are
    planned, then the backtests while the workers fit; each longest first
    (:mod:`obslaws.refresh.schedule`), so no worker waits while another runs a long job started
    last. Results are stored in plan order, fits first."""
    from obslaws.refresh.parallel import Runner
    from obslaws.refresh.schedule import fits_in_order, job_costs

    progress(f"[2/5] fitting {len(fitters)} fitters")
    start = time.perf_counter()
    fits = _plan_fits(conn, read, config, fitters, progress, reuse)
    costs = job_costs(conn)
    # at most this many jobs: a pool is started unless it is one (the backtests are planned below)
    most = sum(f is not None for _, f, _ in fits) + len(config.backtests) * len(fitters)
    outcome.workers_started = time.time()
    with Runner(shared.count if shared is not None else workers, most, shared) as runner:
        asked = planned_predictions(conn, config, fits)  # read while the workers start, predicted after the fit
        queries = {i: a.query for i, a in asked.items()}
        queued_fits = {i: runner.fit(fits[i][1], fits[i][2], queries.get(i)) for i in fits_in_order(fits, costs)}
        backtests = _plan_backtests(conn, read, config, fitters, progress, reuse)
        queued_backtests = _queue_batches(runner, backtests, costs)
        outcome.fits = _collect_fits(conn, fits, queued_fits, progress, asked)
        outcome.timed("fit", progress, start)
        progress(f"[3/5] backtests ({len(config.backtests)} protocols x {len(fitters)} fitters)")
        start = time.perf_counter()
        written = _figures_ahead(conn, shared, outcome.fits, config)
        outcome.backtests = _collect_backtests(conn, backtests, queued_backtests, progress, written)
        outcome.timed("backtest", progress, start)


def _figures_ahead(conn, shared: Workers | None, fits: list, config) -> Callable[[str, list], None] | None:
    """Where the report will share the refresh's workers: the score-vs-compute figure queued on
    them now that the fits are stored, and each protocol's predicted-vs-actual figure once its
    backtests are written (the workers draw them while the parent writes the rest; the report
    copies them in, :func:`obslaws.report.figures.draw_ahead`)."""
    if shared is None or shared.count <= 1:
        return None
    from obslaws.report.build import draw_curves_ahead, draw_protocol_figure_ahead

    def written(label: str, backtests: list) -> None:
        try:
            draw_protocol_figure_ahead(conn, shared, label, backtests)
        except Exception:  # noqa: BLE001 - an optimisation only: the report draws the figure itself
            return

    with contextlib.suppress(Exception):  # as above
        draw_curves_ahead(conn, shared, fits, config)
    return written


def _queue_batches(runner, backtests, costs: dict[str, float]) -> dict[int, Any]:
    """Queue the backtests in batches (:func:`~obslaws.refresh.schedule.backtest_batches`): index in
    ``backtests`` -> a callable giving its (result or exception, summary or None, Timing)."""
    from obslaws.refresh.schedule import backtest_batches

    queued: dict[int, Any] = {}
    for batch in backtest_batches(backtests, costs):
        done = functools.cache(runner.backtests([backtests[i][1] for i in batch]))
        for position, index in enumerate(batch):
            queued[index] = functools.partial(lambda done, position: done()[position], done, position)
    return queued


def _record(conn: duckdb.DuckDBPyConnection, outcome: RefreshOutcome, started: datetime) -> None:
    """The run's row in refresh_runs (what the next refresh compares its state with)."""
    row = {
        "refresh_id": outcome.refresh_id,
        "state_hash": outcome.state_hash,
        "started_at": started,
        "finished_at": datetime.now(),
        "summary": json.dumps(outcome.summary(), default=str),
    }
    upsert(conn, "refresh_runs", pl.DataFrame([row]))


def refresh(
    conn: duckdb.DuckDBPyConnection,
    config: RefreshConfig,
    *,
    pm: pluggy.PluginManager | None = None,
    force: bool = False,
    progress: Progress = print,
    workers: int | None = None,
    allow_skips: bool = False,
    shared: Workers | None = None,
) -> RefreshOutcome:
    """Run the refresh in one transaction; see the module docstring.

    ``pm`` supplies the fitters and ingestors (default: the process's plugin manager); the
    worker processes of the fits and backtests build their own. ``shared``: worker processes
    to run them on that outlive the refresh (for its report's figures); default its own.
    """
    from obslaws.fitting.lookup import get_fitters
    from obslaws.plugins import plugin_manager
    from obslaws.refresh.parallel import default_workers
    from obslaws.registry import load_registry

    pm = pm if pm is not None else plugin_manager()
    fitters = get_fitters(pm)
    config.check_fitters(fitters, progress)  # before anything is written
    versions = {name: [info.version, info.plugin, info.distribution_version] for name, info in fitters.items()}
    started = datetime.now()
    with transaction(conn):
        start = time.perf_counter()
        registry = load_registry(conn)
        progress(f"[1/5] registry: {'updated' if registry.changed else 'nothing new'}")
        before = _model_ids(conn)  # after the registry, so that its models never count as new
        ingested = {
            "registry": {t: str(s) for t, s in registry.tables.items() if s.added or s.updated} or "nothing new"
        }
        ingested.update(_ingest(conn, config, pm, progress, allow_skips))
        new_ids = _model_ids(conn) - before
        state = state_hash(conn, config.hashed_plan(), versions)
        previous = last_refresh(conn)
        outcome = RefreshOutcome(None, False, state, ingested=ingested, previous=previous)
        outcome.timed("ingest", progress, start)
        if previous and previous["state_hash"] == state and not force:
            outcome.nothing_new = True
            return outcome
        workers = default_workers() if workers is None else workers
        read = fit_data_reader(conn)
        # --force redoes everything; otherwise fits and backtests whose inputs did not change are reused.
        _fit_and_backtest(conn, read, config, fitters, outcome, progress, workers, not force, shared)
        progress("[4/5] predictions for models without scores")
        start = time.perf_counter()
        try:
            outcome.predictions = predict_missing(conn, config, outcome.fits, progress)
        except FitterError as exc:  # e.g. NaN predictions: named, nothing of them written
            progress(f"      predictions skipped: {exc}")
        try:
            outcome.new_models = new_model_check(read, config, outcome.fits, new_ids, progress)
        except FitterError as exc:
            progress(f"      new-model check skipped: {exc}")
        outcome.timed("predict", progress, start)
        outcome.refresh_id = f"refresh-{state}"
        _record(conn, outcome, started)
    return outcome
