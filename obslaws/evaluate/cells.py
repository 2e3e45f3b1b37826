"""The (model, task) cell: what one lm-eval evaluation is, where it runs, and how it is stored.

One process (``obslaws eval``) or a Ray worker (``obslaws eval --ray``) turns a :class:`Cell`
into a :class:`CellResult`: plain, picklable values (lm-eval's own dict holds functions and
torch dtypes, and its per-sample logs are large), reduced to what :func:`store_cell` reads.
Only the process that holds the database calls :func:`store_cell`: one transaction per cell,
with the ``eval_cache`` row that makes a rerun skip it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from obslaws.errors import ObslawsError, OfflineError
from obslaws.ingest.context import IngestContext
from obslaws.ingest.lm_eval_results import emit, has_values, parse_results
from obslaws.ingest.names import ModelName, is_local_path, model_name
from obslaws.ingest.params import checkpoint_parameters
from obslaws.ingest.types import IngestReport, Problem

# Continuous measures of multiple-choice tasks, from the per-sample log-likelihoods.
ANSWER_NLL = "answer_nll_nats"  # mean over items of -log p(correct answer | prompt), nats
ANSWER_BPB = "answer_bits_per_byte"  # sum of those NLLs / (ln 2 * bytes of the correct answers)
# The parts of lm-eval's results that parse_results and store_cell read.
KEPT_KEYS = (
    "results",
    "n-shot",
    "versions",
    "config",
    "configs",
    "n-samples",
    "groups",
    "group_subtasks",
    "higher_is_better",
    "date",
    "lm_eval_version",
    "git_hash",
)


@dataclass(frozen=True)
class EvalOptions:
    """How every cell of a run is evaluated (lm-eval's own options, plus the backend and GPUs)."""

    num_fewshot: int | None = None
    device: str = "cpu"
    batch_size: str | int = "auto"
    limit: int | float | None = None
    include_path: str | None = None
    include_defaults: bool = True
    backend: str = "hf"
    bootstrap_iters: int = 100_000
    gpus_per_model: int = 1


@dataclass(frozen=True)
class Cell:
    """One (model, task) evaluation; ``key`` is its ``eval_cache`` key."""

    model: str  # a checkpoint folder or hub id, as given
    revision: str | None
    task: str
    name: ModelName  # what the run is known by (a local folder: its absolute path)
    key: tuple[str, str, str, int, str, str]  # model_id, revision, task, num_fewshot, harness version, limit

    @property
    def model_id(self) -> str:
        return self.key[0]

    def __str__(self) -> str:
        return f"{self.model} {self.task}"


@dataclass
class CellResult:
    """What a finished cell sends back to the writer: plain values only."""

    task: str
    results: dict[str, Any]  # lm-eval's results, KEPT_KEYS only, through JSON
    params: float | None  # parameter count of the checkpoint
    losses: dict[str, float] | None  # answer losses of a multiple-choice task
    seconds: float  # model load plus evaluation, on the worker
    worker: str  # host:pid that evaluated it


@dataclass
class Plan:
    """The cells a run still has to evaluate, and those the cache says are done."""

    pending: list[Cell]
    cached: list[Cell]


def check_backend(device: str, backend: str) -> None:
    """Fail when the backend and device cannot go together (checked where no GPU may be visible)."""
    if backend not in ("hf", "vllm"):
        raise ObslawsError(f"unknown backend {backend!r}: use hf or vllm")
    if backend == "vllm" and not device.startswith("cuda"):
        raise ObslawsError("--backend vllm runs on a GPU only: use --device cuda")


def check_device(device: str, backend: str) -> None:
    """Fail with one clear line when the device or backend cannot work here."""
    check_backend(device, backend)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ObslawsError(
                f"--device {device}: no CUDA GPU is visible to torch here (torch.cuda.is_available() is False; "
                f"torch {torch.__version__}); use --device cpu, or a machine with a GPU and a CUDA build of torch"
            )
    if backend == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise ObslawsError("--backend vllm: vllm is not installed (pip install vllm; it needs a CUDA GPU)") from exc


def limit_text(limit: Any) -> str:
    """The ``eval_cache.limit`` spelling of lm-eval's limit ('' for every item)."""
    return "" if limit is None else f"{limit:g}" if isinstance(limit, float) else str(limit)


def cached_tasks(conn: duckdb.DuckDBPyConnection, key: tuple, tasks: Sequence[str]) -> set[str]:
    """Which of ``tasks`` the cache holds for the key's model, revision, shots, version and limit."""
    model_id, revision, _, shots, version, limit = key
    rows = conn.execute(
        "SELECT task FROM eval_cache WHERE model_id = ? AND revision = ? AND num_fewshot = ? "
        'AND harness_version = ? AND "limit" = ?',
        [model_id, revision, shots, version, limit],
    ).fetchall()
    return {r[0] for r in rows} & set(tasks)


def check_inputs(models: Sequence[str], revision: str | None, options: EvalOptions) -> None:
    """Fail before any work when a task folder or a model cannot be found from here."""
    if options.include_path is not None and not Path(options.include_path).is_dir():
        raise ObslawsError(f"--include-path {options.include_path}: no such folder of task YAML files")
    for model in models:
        if not Path(model).expanduser().exists():
            _check_hub_model(model, revision)


def _check_hub_model(model: str, revision: str | None) -> None:
    """A hub id must be cached when the hub is offline: fail in a second, not after retries."""
    from huggingface_hub import constants, snapshot_download

    if is_local_path(model):
        raise ObslawsError(f"{model}: no such checkpoint folder")
    if not constants.is_offline_mode():
        return
    try:
        snapshot_download(model, revision=revision, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable offline
        raise OfflineError(
            f"{model}: not a local folder, not in the Hugging Face cache, and the hub is offline (HF_HUB_OFFLINE); "
            "pass a local checkpoint folder or download it first"
        ) from exc


def plan_cells(
    context: IngestContext,
    models: Sequence[str],
    tasks: Sequence[str],
    options: EvalOptions,
    *,
    revision: str | None = None,
    model_id: str | None = None,
) -> Plan:
    """Every (model, task) cell, split by the eval cache into pending and cached, models in order."""
    version = metadata.version("lm_eval")
    shots = -1 if options.num_fewshot is None else int(options.num_fewshot)
    plan = Plan([], [])
    for model in models:
        local = Path(model).expanduser()
        # A local folder is known by its absolute path: two "final" folders are two models.
        name = model_name(model_id or (str(local.resolve()) if local.exists() else model), revision)
        canonical, _ = context.resolver.resolve(name)
        key = (canonical, name.revision or "", "", shots, version, limit_text(options.limit))
        done = cached_tasks(context.conn, key, tasks)
        for task in tasks:
            cell = Cell(model, revision, task, name, (*key[:2], task, *key[3:]))
            (plan.cached if task in done else plan.pending).append(cell)
    return plan


@functools.lru_cache(maxsize=4)
def task_manager(include_path: str | None, include_defaults: bool) -> Any:
    """lm-eval's task index, built once per process (the built-in one takes 6-11 s)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_path, include_defaults=include_defaults)


def check_tasks(tasks: Sequence[str], options: EvalOptions) -> None:
    """Fail with the unknown names before any model is loaded."""
    manager = task_manager(options.include_path, options.include_defaults)
    unknown = [t for t in tasks if not manager.match_tasks([t])]
    if unknown:
        where = f" under {options.include_path}" if options.include_path else ""
        raise ObslawsError(f"unknown lm-eval task(s) {', '.join(unknown)}{where}; see: lm-eval ls tasks")


def model_args(model: str, revision: str | None, options: EvalOptions) -> str:
    """lm-eval's model_args string for the backend; several GPUs split one model across them."""
    args = f"pretrained={model}" + (f",revision={revision}" if revision else "")
    if options.backend == "vllm":
        args += ",gpu_memory_utilization=0.8"
        if options.gpus_per_model > 1:
            args += f",tensor_parallel_size={options.gpus_per_model}"
    elif options.gpus_per_model > 1:
        args += ",parallelize=True"
    return args


def load_lm(model: str, revision: str | None, options: EvalOptions) -> Any:
    """The lm-eval model object, loaded once for all the tasks it is evaluated on here."""
    from lm_eval.api.registry import get_model

    extra = {"batch_size": options.batch_size, "device": options.device}
    return get_model(options.backend).create_from_arg_string(model_args(model, revision, options), extra)


def parameters(model: str, revision: str | None, lm: Any) -> float | None:
    """From the checkpoint's safetensors headers; for a hub id, from its cached snapshot or the loaded model."""
    if Path(model).expanduser().is_dir():
        count = checkpoint_parameters(model)
        if count:
            return float(count)
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(model, revision=revision, local_files_only=True)
        count = checkpoint_parameters(folder)
        if count:
            return float(count)
    except Exception:  # noqa: BLE001 - not cached / not a hub id: fall back to the loaded model
        pass
    torch_model = getattr(lm, "model", None)
    if torch_model is not None and hasattr(torch_model, "parameters"):
        return float(sum(p.numel() for p in torch_model.parameters()))
    return None


def answer_losses(samples: list[dict[str, Any]]) -> dict[str, float] | None:
    """Mean NLL (nats) and bits per byte of the correct answer, over items with one gold index."""
    nll_sum, bytes_sum, count = 0.0, 0, 0
    for sample in samples:
        target, resps, args = sample.get("target"), sample.get("filtered_resps"), sample.get("arguments")
        if not isinstance(target, int) or not resps or not args or not 0 <= target < len(resps):
            continue
        loglik = resps[target][0] if isinstance(resps[target], (list, tuple)) else resps[target]
        continuation = args[target][1] if isinstance(args[target], (list, tuple)) else None
        if not isinstance(loglik, (int, float)) or not math.isfinite(loglik):
            continue
        nll_sum -= float(loglik)
        bytes_sum += len(continuation.encode("utf-8")) if isinstance(continuation, str) else 0
        count += 1
    if not count:
        return None
    out = {ANSWER_NLL: nll_sum / count}
    if bytes_sum:
        out[ANSWER_BPB] = nll_sum / math.log(2) / bytes_sum
    return out


def evaluate_task(lm: Any, task: str, options: EvalOptions, params: float | None, started: float) -> CellResult:
    """Run one task on a loaded model; ``started`` is when this cell's work began (for its seconds)."""
    import lm_eval

    results = lm_eval.simple_evaluate(
        model=lm,
        tasks=[task],
        num_fewshot=options.num_fewshot,
        limit=options.limit,
        log_samples=True,
        task_manager=task_manager(options.include_path, options.include_defaults),
        bootstrap_iters=options.bootstrap_iters,
    )
    config = (results.get("configs") or {}).get(task) or {}
    samples = (results.get("samples") or {}).get(task) or []
    losses = answer_losses(samples) if config.get("output_type") == "multiple_choice" else None
    kept = json.loads(json.dumps({k: results[k] for k in KEPT_KEYS if k in results}, default=str))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return CellResult(task, kept, params, losses, time.perf_counter() - started, worker)


def evaluate_cell(cell: Cell, options: EvalOptions) -> CellResult:
    """Load the cell's model and evaluate its task: the whole job of one Ray task."""
    started = time.perf_counter()
    check_device(options.device, options.backend)  # on the worker: the driver may have no GPU
    lm = load_lm(cell.model, cell.revision, options)
    try:
        return evaluate_task(lm, cell.task, options, parameters(cell.model, cell.revision, lm), started)
    finally:
        del lm
        if options.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def store_cell(
    context: IngestContext,
    cell: Cell,
    result: CellResult,
    family: str | None,
    report: IngestReport,
) -> bool:
    """One cell's scores, answer losses, model row, run configuration and cache row, in one transaction.

    A cell none of whose values can be stored (every metric rejected, none mapped, no answer
    losses) writes nothing, not even its cache row, so that a rerun evaluates it again: it goes to
    ``report.skipped`` (its values to ``report.rejected``) and this returns False, as the
    ingest of an lm-eval results file with nothing to store does."""
    model_id, revision, task, shots_requested, version, limit = cell.key
    results = result.results
    run = parse_results(results, f"obslaws eval {cell.model} {task}", model=cell.name, model_name_raw=cell.name.full)
    if not result.losses and not has_values(run, context.task_map):
        report.rejected.extend(run.rejected)
        why = f"no value could be stored ({len(run.rejected)} rejected); nothing written or cached"
        report.skipped.append(Problem(str(cell), None, why))
        return False
    run.file_format = "obslaws-eval"
    run.params_total = result.params or run.params_total
    digest = json.dumps([results.get(k) for k in ("results", "n-shot", "versions", "config")], default=str)
    run.sha256 = hashlib.sha256(digest.encode()).hexdigest()
    report.rejected.extend(run.rejected)
    source_id = f"eval:{hashlib.sha256(json.dumps(list(cell.key)).encode()).hexdigest()[:16]}"
    batch = context.batch()
    emit(batch, run, source_id=source_id, family=family)
    shots_used = (results.get("n-shot") or {}).get(task)
    if result.losses:
        dataset = context.task_map.lookup(task, "acc").benchmark or task
        for unit, value in result.losses.items():
            batch.loss(model_id, dataset, value, unit, source_id, n_shots=shots_used)
    batch.row(
        "eval_cache",
        model_id=model_id,
        revision=revision,
        task=task,
        num_fewshot=shots_requested,
        harness_version=version,
        limit=limit,
        source_id=source_id,
        n_shots=shots_used,
    )
    batch.write(report)
    return True
