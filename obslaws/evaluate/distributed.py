"""``obslaws eval --ray``: one Ray task per (model, task) cell; this process alone writes DuckDB.

Workers load the cell's model, run lm-eval and send back a :class:`~obslaws.evaluate.cells.CellResult`;
they never open the database. The driver (this process) stores each result as it arrives, one
transaction per cell with its ``eval_cache`` row, so a driver killed at any moment leaves only
whole cells behind and a rerun evaluates the rest. Ray retries a cell whose worker died
(``max_retries``); a cell whose evaluation raised is reported with its model, task and error
and the others go on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from obslaws.errors import ObslawsError
from obslaws.evaluate.cells import (
    Cell,
    CellResult,
    EvalOptions,
    check_backend,
    check_inputs,
    check_tasks,
    evaluate_cell,
    plan_cells,
    store_cell,
)
from obslaws.ingest.context import IngestContext
from obslaws.ingest.types import IngestReport

# Ray reads this when imported: a local Ray (the laptop case) then lives on 127.0.0.1 only,
# instead of advertising the machine's network address. Never set when joining a cluster.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass(frozen=True)
class RayOptions:
    """Where cells run and what each asks of the cluster."""

    address: str | None = None  # None: this process's Ray, or a new local one; else join that cluster
    cpus_per_cell: float = 1.0
    max_retries: int = 3  # times Ray reruns a cell whose worker process died
    num_cpus: int | None = None  # CPUs a new local Ray may use (default: all)


def import_ray(address: str | None) -> Any:
    """Ray, or a clear error naming the extra that installs it."""
    if address is None and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray
    except ImportError as exc:
        raise ObslawsError("--ray: Ray is not installed; pip install 'obslaws[ray]'") from exc
    return ray


def connect(options: RayOptions) -> bool:
    """Join ``options.address``, start a local Ray, or reuse this process's; True when it started one here."""
    ray = import_ray(options.address)
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "configure_logging": True, "logging_level": "warning"}
    if options.address:
        ray.init(address=options.address, **quiet)
    else:
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, **quiet)
    return True


def _error_text(exc: BaseException) -> str:
    """The one line a failed cell is reported with: the worker's exception, not Ray's wrapping of it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1].strip() if lines else ''}".rstrip(": ")


def run_eval_ray(
    context: IngestContext,
    models: Sequence[str],
    tasks: Sequence[str],
    options: EvalOptions,
    ray_options: RayOptions | None = None,
    *,
    revision: str | None = None,
    model_id: str | None = None,
    family: str | None = None,
    progress: bool = False,
    on_cell: Callable[[Cell, str | None], None] | None = None,
) -> IngestReport:
    """Evaluate every (model, task) cell not in the eval cache on Ray and store each as it finishes.

    Parameters
    ----------
    context:
        The open, migrated database (written by this process only), the task map and the resolver.
    models, tasks:
        Checkpoint folders or hub ids, and lm-eval task names. Paths must be the same on the
        workers (a shared file system), and so must ``options.include_path``.
    options:
        How each cell is evaluated. ``device='cuda'`` gives each cell ``gpus_per_model`` GPUs;
        the driver itself needs none.
    ray_options:
        The cluster to use and each cell's CPUs and retries.
    progress:
        A progress bar over cells on standard error, with the count of failures.
    on_cell:
        Called after each cell with its error line, or None once it is stored.

    Returns
    -------
    IngestReport
        ``extra``: ``evaluated``, ``cached`` and ``failed`` (``"MODEL TASK: error"``) cells,
        ``ray_start_seconds``, ``driver_seconds`` (the driver's own time: planning,
        submitting, receiving and writing) and ``driver_cpu_seconds`` (the CPU time of this
        process while receiving and writing cells).
    """
    ray_options = ray_options or RayOptions()
    if model_id is not None and len(models) > 1:
        raise ObslawsError("--model-id names one model: give one MODEL with it")
    check_backend(options.device, options.backend)
    check_inputs(models, revision, options)
    start = time.perf_counter()
    plan = plan_cells(context, models, tasks, options, revision=revision, model_id=model_id)
    report = IngestReport(extra={"evaluated": [], "cached": [str(c) for c in plan.cached], "failed": []})
    report.extra.update(ray_start_seconds=0.0, driver_seconds=0.0, driver_cpu_seconds=0.0)
    if plan.pending:
        check_tasks(sorted({c.task for c in plan.pending}), options)
        started = time.perf_counter()
        owned = connect(ray_options)
        report.extra["ray_start_seconds"] = time.perf_counter() - started
        driver = time.perf_counter() - start - report.extra["ray_start_seconds"]
        try:
            writer = _Writer(context, family, report, on_cell)
            driver += _run_cells(writer, plan.pending, options, ray_options, progress)
        finally:
            if owned:
                import_ray(ray_options.address).shutdown()
        report.extra["driver_seconds"] = driver
    report.seconds = time.perf_counter() - start
    return report


def _submit(cells: Sequence[Cell], options: EvalOptions, ray_options: RayOptions) -> dict[Any, Cell]:
    ray = import_ray(ray_options.address)
    gpus = options.gpus_per_model if options.device.startswith("cuda") else 0
    remote = ray.remote(evaluate_cell).options(
        num_cpus=ray_options.cpus_per_cell,
        num_gpus=gpus,
        max_retries=ray_options.max_retries,
        retry_exceptions=False,  # an evaluation that raised would raise again: report it instead
    )
    shared = ray.put(options)
    return {remote.remote(cell, shared): cell for cell in cells}


@dataclass
class _Writer:
    """The driver's side of a run: stores each finished cell and keeps the tally."""

    context: IngestContext
    family: str | None
    report: IngestReport
    on_cell: Callable[[Cell, str | None], None] | None

    def store(self, cell: Cell, fetch: Callable[[], CellResult]) -> str | None:
        """Store the cell's result (``fetch`` raises the worker's error); the error line, or None."""
        fetched = False
        try:
            result = fetch()
            fetched = True
            stored = store_cell(self.context, cell, result, self.family, self.report)
        except Exception as exc:  # noqa: BLE001 - a failed cell is reported; the others go on
            error = _error_text(exc)
            self.report.extra["failed"].append(f"{cell}: {error}")
            if fetched:  # the write rolled back: names its resolver learned may be gone
                self.context = IngestContext(self.context.conn, self.context.task_map)
        else:
            error = None if stored else str(self.report.skipped[-1].problem)
            if stored:
                self.report.extra["evaluated"].append(str(cell))
                self.report.files += 1
        if self.on_cell is not None:
            self.on_cell(cell, error)
        return error


def _run_cells(
    writer: _Writer, cells: Sequence[Cell], options: EvalOptions, ray_options: RayOptions, progress: bool
) -> float:
    """Submit every cell, store each result as it arrives; returns the driver's busy seconds."""
    from tqdm import tqdm

    ray = import_ray(ray_options.address)
    busy = time.perf_counter()
    waiting = _submit(cells, options, ray_options)
    busy = time.perf_counter() - busy
    busy_cpu = 0.0
    refs, failures = list(waiting), 0
    bar = tqdm(total=len(cells), unit="cell", desc="eval", disable=not progress, file=sys.stderr)
    try:
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            tick, tick_cpu = time.perf_counter(), time.process_time()
            cell = waiting.pop(ready[0])
            error = writer.store(cell, lambda ref=ready[0]: ray.get(ref))
            failures += error is not None
            if error is not None and progress:
                bar.write(f"failed: {cell}: {error}", file=sys.stderr)
            bar.set_postfix(failed=failures, refresh=False)
            bar.update()
            busy += time.perf_counter() - tick
            busy_cpu += time.process_time() - tick_cpu
    finally:
        bar.close()
        for ref in waiting:  # interrupted: nothing more will be stored, so stop the rest
            ray.cancel(ref, force=True)
    writer.report.extra["driver_cpu_seconds"] = busy_cpu
    return busy
