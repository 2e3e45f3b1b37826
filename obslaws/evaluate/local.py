"""`obslaws eval`: run lm-evaluation-harness on a checkpoint and store the results as it goes.

The model is loaded once; each task is one ``lm_eval.simple_evaluate`` call whose results are
written, with the model row (parameter count read from the checkpoint), the answer
log-likelihoods and an ``eval_cache`` row, in one transaction. A finished (model, revision,
task, shots, harness version, limit) cell is never run again, so an interrupted run resumes
where it stopped. ``obslaws eval --ray`` runs the same cells on a Ray cluster
(:mod:`obslaws.evaluate.distributed`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from obslaws.evaluate.cells import (
    EvalOptions,
    check_device,
    check_inputs,
    check_tasks,
    evaluate_task,
    load_lm,
    parameters,
    plan_cells,
    store_cell,
)
from obslaws.ingest.context import IngestContext
from obslaws.ingest.types import IngestReport


def _task_finished(task: str) -> None:
    """Called after each task's results are committed (a seam for progress reporting and tests)."""


def run_eval(
    context: IngestContext,
    model: str,
    tasks: Sequence[str],
    *,
    revision: str | None = None,
    num_fewshot: int | None = None,
    device: str = "cpu",
    batch_size: str | int = "auto",
    limit: int | float | None = None,
    include_path: str | None = None,
    include_defaults: bool = True,
    backend: str = "hf",
    model_id: str | None = None,
    family: str | None = None,
    bootstrap_iters: int = 100_000,
    gpus_per_model: int = 1,
) -> IngestReport:
    """Evaluate ``model`` on ``tasks`` with lm-evaluation-harness and store every finished task.

    Parameters
    ----------
    context:
        The open, migrated database, the task map and the name resolver.
    model:
        A local checkpoint folder or a hub id.
    tasks:
        lm-eval task names (built-in, or YAML tasks under ``include_path``).
    num_fewshot, limit, batch_size, device:
        As lm-eval's own options. ``device='cuda'`` without a GPU fails at once.
    include_defaults:
        Index lm-eval's ~15,000 built-in tasks too (6-11 s); False when every task is under
        ``include_path``.
    backend:
        ``hf`` (transformers) or ``vllm`` (GPU only).
    model_id, family:
        The id and family of the model row (default: the hub id, or a local folder's absolute path;
        family derived from the name).
    gpus_per_model:
        More than 1 splits the model across GPUs (vllm: tensor parallel; hf: ``parallelize``).

    Returns
    -------
    IngestReport
        ``extra['evaluated']`` and ``extra['cached']`` list the tasks run now and skipped.
    """
    options = EvalOptions(
        num_fewshot, device, batch_size, limit, include_path, include_defaults, backend, bootstrap_iters, gpus_per_model
    )
    check_device(device, backend)
    check_inputs([model], revision, options)
    start = time.perf_counter()
    plan = plan_cells(context, [model], tasks, options, revision=revision, model_id=model_id)
    canonical = (plan.pending or plan.cached)[0].model_id if tasks else model
    report = IngestReport(extra={"model_id": canonical, "evaluated": [], "cached": [c.task for c in plan.cached]})
    if plan.pending:
        check_tasks([c.task for c in plan.pending], options)
        loaded = time.perf_counter()
        lm = load_lm(model, revision, options)
        params = parameters(model, revision, lm)
        for cell in plan.pending:
            result = evaluate_task(lm, cell.task, options, params, loaded)
            if store_cell(context, cell, result, family, report):
                report.extra["evaluated"].append(cell.task)
                report.files += 1
            _task_finished(cell.task)
            loaded = time.perf_counter()
    report.seconds = time.perf_counter() - start
    return report
