"""Fits and backtests in worker processes: the machine's cores each run one, the parent writes them all.

DuckDB has one writer, so workers only compute (``run_backtest(..., write=False)`` on a FitData
the parent loaded) and return their results; the parent writes each one inside the refresh's
transaction. Workers are spawned (not forked: the parent holds a database connection and polars
threads) and use the parent's thread count (one by default), which on a small machine beats one
process with two. One :class:`Runner` serves the fits and the backtests, so the backtests queue
behind the fits: no worker waits for the slowest fit, and the workers start once.
"""

from __future__ import annotations

import copy
import os
import pickle
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from obslaws import interrupts
from obslaws.data import FitData

if TYPE_CHECKING:
    from obslaws.fitting.contract import Fitter
    from obslaws.fitting.lookup import FitterInfo


@dataclass
class Job:
    """One backtest to run: a fitter (by registered name), its data and the protocol.

    ``info`` is the fitter's registration, carried along so that neither the parent nor a worker
    looks the plugins up again per job (each look-up reads every distribution's entry points).
    """

    fitter: str
    hyperparameters: dict[str, Any]
    plugin: str
    data: FitData
    protocol: str
    benchmarks: Any
    options: dict[str, Any]
    info: FitterInfo
    source: str | None = None  # the data's source (None: every source), for batch()

    def create(self) -> Fitter:
        """A new, unfitted instance of the job's fitter with its hyperparameters."""
        return self.info.create(**self.hyperparameters)

    def batch(self) -> tuple[Any, ...]:
        """Jobs with the same batch run together (:func:`run_batch`): one fitter, source and target
        set, where the fitter is batch-invariant (their shared folds are fitted once); else none.
        Jobs on other sources share no fold (a fold's key is its training data), so they stay
        separate jobs, which the workers can run side by side."""
        from obslaws.backtest.folds import batch_invariant
        from obslaws.benchmark_sets import resolve_benchmarks

        # The fitter's claim: the worker's run_backtests checks it before it shares a fold.
        alone = () if batch_invariant(self.info.cls, check=False) else (self.protocol, repr(self.options))
        return (self.fitter, self.source, tuple(resolve_benchmarks(self.benchmarks)), *alone)


def _start_worker(count: int, parent: int) -> None:
    """A worker's set-up: the parent's thread count, and an end of its own once the parent is gone."""
    from obslaws.threads import set_threads

    set_threads(count)
    threading.Thread(target=_exit_without_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _exit_without_parent(parent: int) -> None:
    # A killed refresh cannot shut its pool down, and a worker would wait for work forever.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@dataclass
class Timing:
    """When and where one job ran: wall and CPU seconds in its worker, start and end (epoch seconds)."""

    seconds: float
    cpu_seconds: float
    started: float
    finished: float
    worker: int


@contextmanager
def _timed() -> Iterator[list[Timing]]:
    """Yields a list that holds the block's :class:`Timing` once it has run."""
    out: list[Timing] = []
    started, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    yield out
    out.append(Timing(time.perf_counter() - wall, time.process_time() - cpu, started, time.time(), os.getpid()))


def run_batch(jobs: Sequence[Job]) -> list[tuple[Any, dict[str, Any] | None, Timing]]:
    """Run backtests of one fitter together (in a worker): each fold that several of them share is
    fitted once, and the folds of all go through one ``fit_many`` (:func:`~obslaws.backtest.run_backtests`).

    Returns per job (its BacktestResult, or the exception that stopped it; its summary, scored
    here so that the parent, which writes every result in plan order, has less to do once the
    last job ends; its Timing). The batch's wall and CPU time is shared among the jobs in
    proportion to their ``duration_s``, each given its slice of the batch's span, so that the
    job timings add up to the batch's.
    """
    from obslaws.backtest import BacktestPlan, run_backtests

    plans = [BacktestPlan(job.data, job.protocol, job.benchmarks, dict(job.options)) for job in jobs]
    with _timed() as timing:
        results = [_portable(r) for r in run_backtests(jobs[0].create(), plans, plugin=jobs[0].plugin)]
    timings = _shares(timing[0], [getattr(r, "duration_s", 0.0) for r in results])
    return [(*_summarised(result), share) for result, share in zip(results, timings, strict=True)]


def _summarised(result: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(result, its summary)``; an exception, or the one scoring it raised, with None."""
    if isinstance(result, Exception):
        return result, None
    try:
        return result, result.summary()
    except Exception as exc:  # reported for this backtest alone, as one raised by the run
        return _portable(exc), None


def _portable(result: Any) -> Any:
    """``result``, or where it is an exception that would not survive the trip to the parent
    (one whose constructor takes other arguments), an ObslawsError that reads the same."""
    if not isinstance(result, Exception):
        return result
    try:
        pickle.loads(pickle.dumps(result))
    except Exception:
        from obslaws.errors import ObslawsError
        from obslaws.refresh.outcome import describe

        return ObslawsError(describe(result))
    return result


def _shares(whole: Timing, weights: Sequence[float]) -> list[Timing]:
    """``whole`` cut into consecutive slices in proportion to ``weights`` (equal slices if all are 0)."""
    total = sum(weights)
    fractions = [w / total for w in weights] if total > 0 else [1 / len(weights)] * len(weights)
    out, started = [], whole.started
    for fraction in fractions:
        ended = started + fraction * (whole.finished - whole.started)
        out.append(Timing(fraction * whole.seconds, fraction * whole.cpu_seconds, started, ended, whole.worker))
        started = ended
    return out


def fit_job(fitter: Any, data: FitData, query: FitData | None = None) -> tuple[Any, Timing, tuple | None]:
    """Fit one fitter (in a worker) and, given a ``query``, predict it with the fitted fitter.
    Returns (the fitted fitter, its Timing, and None or (the predictions or the exception that
    stopped them, their Timing))."""
    with _timed() as timing:
        fitter.fit(data)
    if query is None:
        return fitter, timing[0], None
    # on a copy: a fitter may complete itself when first asked (the forecaster fits its stacked
    # members), and the fit stored is the fit's alone, as `obslaws fit` stores it
    with _timed() as predicting:
        try:
            predicted: Any = copy.deepcopy(fitter).predict(query)
        except Exception as exc:  # reported by the parent's prediction step, as one raised there
            predicted = _portable(exc)
    return fitter, timing[0], (predicted, predicting[0])


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def start_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned workers with the parent's thread count (one unless chosen: obslaws.threads) that
    end when the parent does, even when it is killed."""
    from obslaws.threads import configured_threads

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_start_worker,
        initargs=(configured_threads(), os.getpid()),
    )


def waiting(future: Future) -> Callable[[], Any]:
    """``future.result``, waited for in short slices. A signal (Ctrl-C, `kill -INT`) may reach one
    of the pool's threads; Python handles it only when the main thread runs again, which a plain
    ``result()`` delays until the job ends."""

    def result() -> Any:
        while not wait([future], timeout=0.25).done:
            interrupts.check()  # one a C extension dropped (obslaws.interrupts)
        return future.result()

    return result


def stop_pool(pool: ProcessPoolExecutor, *, interrupted: bool) -> None:
    """Shut ``pool`` down. When the refresh stops on an error or a signal (Ctrl-C), its running jobs
    are ended too: their results would be rolled back, and waiting for them took minutes."""
    if interrupted:
        terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
        if terminate is not None:
            terminate()
        else:
            for process in list((pool._processes or {}).values()):
                process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


class Workers:
    """Worker processes that a refresh and its report share (:func:`start_pool`), started when
    first asked for and shut down when the ``with`` block ends; none for ``count`` <= 1.

    The report's figures are then drawn by the processes that ran the refresh's jobs, which have
    started and imported what they need, instead of by new ones.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.started: ProcessPoolExecutor | None = None
        # report figures queued before the report (obslaws.report.figures.draw_ahead): file name ->
        # (function, its arguments but the path, the future, the path it is drawn to)
        self.ahead: dict[str, tuple[Any, tuple[Any, ...], Any, Any]] = {}

    def pool(self) -> ProcessPoolExecutor | None:
        if self.count <= 1:
            return None
        if self.started is None:
            self.started = start_pool(self.count)
        return self.started

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started is not None:
            stop_pool(self.started, interrupted=exc[0] is not None)
        for _, _, _, path in self.ahead.values():  # drawn ahead for a report that did not take them
            shutil.rmtree(path.parent, ignore_errors=True)


class Runner:
    """Queues fits and backtests on ``workers`` processes (those of ``shared`` if given), or runs
    each here when it is asked for its result (``workers`` <= 1, or at most one job in all). Use
    as a context manager."""

    def __init__(self, workers: int, jobs: int, shared: Workers | None = None) -> None:
        self.owned = shared is None
        pooled = workers > 1 and jobs > 1
        self.pool = (start_pool(workers) if self.owned else shared.pool()) if pooled else None

    def fit(self, fitter: Any, data: FitData, query: FitData | None = None) -> Callable[[], tuple[Any, Timing, Any]]:
        """Queue a fit, and a prediction of ``query`` after it (:func:`fit_job`); the returned
        callable gives what :func:`fit_job` returns."""
        if self.pool is None:
            return lambda: fit_job(fitter, data, query)
        return waiting(self.pool.submit(fit_job, fitter, data, query))

    def backtests(self, jobs: Sequence[Job]) -> Callable[[], list[tuple[Any, dict[str, Any] | None, Timing]]]:
        """Queue a batch of backtests (:func:`run_batch`); the callable gives its list of results."""
        if self.pool is None:
            return lambda: run_batch(jobs)
        return waiting(self.pool.submit(run_batch, list(jobs)))

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None and self.owned:
            stop_pool(self.pool, interrupted=exc[0] is not None)
