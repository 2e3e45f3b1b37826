"""`obslaws eval`: run lm-evaluation-harness on a checkpoint and store the results as it goes.

The model is loaded once; each task is one ``lm_eval.simple_evaluate`` call whose results are
written, with the model row (parameter count read from the checkpoint), the answer
log-likelihoods and an ``eval_cache`` row, in one transaction. A finished (model, revision,
task, shots, harness version, limit) cell is never run again, so an interrupted run resumes
where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from obslaws.errors import ObslawsError, OfflineError
from obslaws.ingest.context import IngestContext
from obslaws.ingest.lm_eval_results import emit, parse_results
from obslaws.ingest.names import ModelName, is_local_path, model_name
from obslaws.ingest.params import checkpoint_parameters
from obslaws.ingest.types import IngestReport

# Continuous measures of multiple-choice tasks, from the per-sample log-likelihoods.
ANSWER_NLL = "answer_nll_nats"  # mean over items of -log p(correct answer | prompt), nats
ANSWER_BPB = "answer_bits_per_byte"  # sum of those NLLs / (ln 2 * bytes of the correct answers)


def _task_finished(task: str) -> None:
    """Called after each task's results are committed (a seam for progress reporting and tests)."""


def check_device(device: str, backend: str) -> None:
    """Fail with one clear line when the device or backend cannot work here."""
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
        if not device.startswith("cuda"):
            raise ObslawsError("--backend vllm runs on a GPU only: use --device cuda")
    elif backend != "hf":
        raise ObslawsError(f"unknown backend {backend!r}: use hf or vllm")


def _cache_key(model_id: str, revision: str | None, task: str, num_fewshot: int | None, version: str, limit: Any):
    return (model_id, revision or "", task, -1 if num_fewshot is None else int(num_fewshot), version, _limit(limit))


def _limit(limit: Any) -> str:
    return "" if limit is None else f"{limit:g}" if isinstance(limit, float) else str(limit)


def cached_tasks(conn: duckdb.DuckDBPyConnection, key_without_task: tuple, tasks: Sequence[str]) -> set[str]:
    model_id, revision, _, shots, version, limit = key_without_task
    rows = conn.execute(
        "SELECT task FROM eval_cache WHERE model_id = ? AND revision = ? AND num_fewshot = ? "
        'AND harness_version = ? AND "limit" = ?',
        [model_id, revision, shots, version, limit],
    ).fetchall()
    return {r[0] for r in rows} & set(tasks)


def _load_lm(model: str, revision: str | None, backend: str, device: str, batch_size: str | int) -> Any:
    from lm_eval.api.registry import get_model

    args = f"pretrained={model}" + (f",revision={revision}" if revision else "")
    if backend == "vllm":
        args += ",gpu_memory_utilization=0.8"
    return get_model(backend).create_from_arg_string(args, {"batch_size": batch_size, "device": device})


def _parameters(model: str, revision: str | None, lm: Any) -> float | None:
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

    Returns
    -------
    IngestReport
        ``extra['evaluated']`` and ``extra['cached']`` list the tasks run now and skipped.
    """
    import lm_eval
    from lm_eval.tasks import TaskManager

    check_device(device, backend)
    if include_path is not None and not Path(include_path).is_dir():
        raise ObslawsError(f"--include-path {include_path}: no such folder of task YAML files")
    if not Path(model).expanduser().exists():
        _check_hub_model(model, revision)
    start = time.perf_counter()
    version = metadata.version("lm_eval")
    local = Path(model).expanduser()
    # A local folder is known by its absolute path: two "final" folders are two models.
    name = model_name(model_id or (str(local.resolve()) if local.exists() else model), revision)
    canonical, _ = context.resolver.resolve(name)
    key = _cache_key(canonical, name.revision, "", num_fewshot, version, limit)
    done = cached_tasks(context.conn, key, tasks)
    pending = [t for t in tasks if t not in done]
    report = IngestReport(extra={"model_id": canonical, "evaluated": [], "cached": [t for t in tasks if t in done]})
    if pending:
        manager = TaskManager(include_path=include_path, include_defaults=include_defaults)
        unknown = [t for t in pending if not manager.match_tasks([t])]
        if unknown:
            where = f" under {include_path}" if include_path else ""
            raise ObslawsError(f"unknown lm-eval task(s) {', '.join(unknown)}{where}; see: lm-eval ls tasks")
        lm = _load_lm(model, revision, backend, device, batch_size)
        params = _parameters(model, revision, lm)
        for task in pending:
            results = lm_eval.simple_evaluate(
                model=lm,
                tasks=[task],
                num_fewshot=num_fewshot,
                limit=limit,
                log_samples=True,
                task_manager=manager,
                bootstrap_iters=bootstrap_iters,
            )
            _store(context, results, task, name, model, key, params, family, report)
            report.extra["evaluated"].append(task)
            report.files += 1
            _task_finished(task)
    report.seconds = time.perf_counter() - start
    return report


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


def _store(
    context: IngestContext,
    results: dict[str, Any],
    task: str,
    name: ModelName,
    model: str,
    key: tuple,
    params: float | None,
    family: str | None,
    report: IngestReport,
) -> None:
    """One task's results, answer losses, model row and cache row, in one transaction."""
    model_id, revision, _, shots_requested, version, limit = key
    # The name, not a local path, is what the run is known by (paths are machine-specific).
    run = parse_results(results, f"obslaws eval {model} {task}", model=name, model_name_raw=name.full)
    run.file_format = "obslaws-eval"
    run.params_total = params or run.params_total
    digest = hashlib.sha256(
        json.dumps([results.get(k) for k in ("results", "n-shot", "versions", "config")], default=str).encode()
    ).hexdigest()
    run.sha256 = digest
    report.rejected.extend(run.rejected)
    cell = json.dumps([model_id, revision, task, shots_requested, version, limit])
    source_id = f"eval:{hashlib.sha256(cell.encode()).hexdigest()[:16]}"
    batch = context.batch()
    emit(batch, run, source_id=source_id, family=family)
    shots_used = (results.get("n-shot") or {}).get(task)
    config = (results.get("configs") or {}).get(task) or {}
    samples = (results.get("samples") or {}).get(task) or []
    if config.get("output_type") == "multiple_choice":
        losses = answer_losses(samples)
        dataset = context.task_map.lookup(task, "acc").benchmark or task
        for unit, value in (losses or {}).items():
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
