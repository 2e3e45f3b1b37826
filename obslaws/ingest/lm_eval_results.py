"""Importer of lm-evaluation-harness results files, every generation of them.

- 0.4.x (``results``, ``configs``, ``versions``, ``n-shot``, ``n-samples``, ``config``; metric keys
  ``acc,none``), including the Open LLM Leaderboard v2 per-model files (``leaderboard_bbh``);
- the older format (0.3 and before: ``acc``, ``acc_stderr``; shots in ``config.num_fewshot``),
  such as EleutherAI's Pythia evaluations;
- the Open LLM Leaderboard v1 per-model files (``config_general``; keys ``harness|arc:challenge|25``).

Each file is parsed in full before anything of it is written, so a malformed file is reported
(file, key) and skipped while the rest of its batch lands. The ingestor that reads folders of
them and writes batches is :mod:`obslaws.ingest.lm_eval_ingest`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from obslaws.errors import ValidationError
from obslaws.ingest.batch import Batch, finite
from obslaws.ingest.guards import guarded_parse
from obslaws.ingest.names import ModelName, model_name, parse_model_args
from obslaws.ingest.task_map import AGGREGATES, TaskMap, mean_with_stderr
from obslaws.ingest.types import Problem
from obslaws.ingest.values import PERCENT_TASKS, bounds_of, check_stderr, check_value, unit_of

HARNESS = "lm-evaluation-harness"
_SKIP_KEYS = frozenset({"alias", "name", "sample_len", "sample_count", "samples", " ", ""})


# One metric of one task as the file reports it, names not yet mapped:
# (task, metric, n_shots, value, stderr, n_samples). A tuple: a big ingest makes millions.
Measurement = tuple[str, str, int, float, "float | None", "int | None"]
# The same after mapping: (benchmark, metric, n_shots, value, stderr, n_samples).
MappedMeasurement = tuple[str, str, int, float, "float | None", "int | None"]


@dataclass
class ParsedRun:
    """Everything one results file (or one in-process evaluation) says."""

    source_label: str
    file_format: str
    model: ModelName
    model_name_raw: str
    harness: str
    harness_version: str | None
    model_args: str | None = None
    n_shot: dict[str, Any] = field(default_factory=dict)
    task_versions: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    evaluated_at: datetime | None = None
    measurements: list[Measurement] = field(default_factory=list)
    sha256: str | None = None
    path: str | None = None
    params_total: float | None = None
    # Values that cannot be stored (out of range, not numbers), each with its key and the reason.
    rejected: list[Problem] = field(default_factory=list)
    # Set by prepare() in the parse worker (obslaws.ingest.prefetch): mapped() of the
    # measurements, and n_shot, task_versions and config as JSON. emit() works them out if unset.
    prepared: tuple[list[MappedMeasurement], tuple[str, str, str]] | None = None


# -- parsing ------------------------------------------------------------------------------------


def detect_format(data: dict[str, Any]) -> str:
    """``oll-v1``, ``lm-eval-0.4`` (``oll-v2`` when leaderboard tasks) or ``lm-eval-0.3``."""
    results = data["results"]
    if "config_general" in data or any("|" in key for key in results):
        return "oll-v1"
    modern = "n-shot" in data or "configs" in data or "lm_eval_version" in data
    if not modern:
        # Joining a task's keys scans them in C; the older format has hundreds per file.
        modern = any("," in "".join(r) for r in results.values() if isinstance(r, dict))
    if modern:
        return "oll-v2" if any(k.startswith("leaderboard_") for k in results) else "lm-eval-0.4"
    return "lm-eval-0.3"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=16384)
def _metric_key(key: str, modern: bool, percent_task: bool) -> tuple[str, str, float, float] | None:
    """(metric, key of its stderr, lowest, highest value) of a result key; None for stderrs and
    non-metric keys.

    Memoised: the same few hundred keys recur in every file of a large ingest.
    """
    if key in _SKIP_KEYS:
        return None
    if modern:
        name, _, filt = key.partition(",")
        if name.endswith("_stderr"):
            return None
        metric = name if filt in ("", "none") else key
        stderr_key = f"{name}_stderr,{filt}" if filt else f"{name}_stderr"
    elif key.endswith("_stderr"):
        return None
    else:
        metric, stderr_key = key, f"{key}_stderr"
    low, high = bounds_of(metric, PERCENT_TASKS[0] if percent_task else "")
    return metric, stderr_key, -math.inf if low is None else low, math.inf if high is None else high


def _metric_pairs(
    label: str, task: str, result: Any, modern: bool, rejected: list[Problem]
) -> list[tuple[str, float, float | None]]:
    """(metric, value, stderr) of one task's result object; what cannot be stored goes to ``rejected``."""
    if not isinstance(result, dict):
        raise ValidationError(label, None, f"results.{task}", f"expected an object of metrics, got {result!r:.60}")
    out = []
    get, inf = result.get, math.inf
    percent_task = task.startswith(PERCENT_TASKS)
    for key, raw in result.items():
        names = _metric_key(key, modern, percent_task)
        if names is None:
            continue
        metric, stderr_key, low, high = names
        stderr = get(stderr_key)
        # Fast path for the common case (a plain float in range, a plain non-negative stderr).
        plain_stderr = stderr is None or (type(stderr) is float and 0 <= stderr < inf)
        if type(raw) is float and low <= raw <= high and plain_stderr:
            out.append((metric, raw, stderr))
            continue
        value, why = check_value(key, raw, task)
        if why is None and value is not None:
            stderr, why = check_stderr(key, stderr)
        if why is not None:
            rejected.append(Problem(label, f"results.{task}.{key}", why))
        elif value is not None:
            out.append((metric, value, stderr))
    return out


def _group_shots(data: dict[str, Any], task: str, default: int) -> int:
    """Shots of a task; a group without its own takes its subtasks' common setting."""
    n_shot = data.get("n-shot") or {}
    if task in n_shot and _int(n_shot[task]) is not None:
        return _int(n_shot[task])  # type: ignore[return-value]
    subtasks = (data.get("group_subtasks") or {}).get(task) or []
    shots = {_group_shots(data, sub, -1) for sub in subtasks}
    shots.discard(-1)
    if len(shots) == 1:
        return shots.pop()
    cfg = (data.get("configs") or {}).get(task) or {}
    return _int(cfg.get("num_fewshot")) if _int(cfg.get("num_fewshot")) is not None else default


def _date(value: Any) -> datetime | None:
    number = finite(value)
    if number is not None and number > 0:
        return datetime.fromtimestamp(number, UTC).replace(tzinfo=None)
    return None


def parse_results(
    data: Any, label: str, *, model: ModelName | None = None, model_name_raw: str | None = None
) -> ParsedRun:
    """Parse one results object. ``label`` names it in errors (the file path).

    Raises
    ------
    ValidationError
        Naming the file and the key that is missing or malformed.
    """
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ValidationError(label, None, "results", "not an lm-evaluation-harness results file (no 'results' object)")
    fmt = detect_format(data)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    if fmt == "oll-v1":
        general = data.get("config_general") or config
        raw_name = general.get("model_name")
        if not isinstance(raw_name, str) or not raw_name:
            raise ValidationError(label, None, "config_general.model_name", "missing: the evaluated model is unknown")
        name = model_name(raw_name)
        harness = "lm-evaluation-harness (Open LLM Leaderboard v1)"
        version = general.get("lighteval_sha") and f"lighteval@{general['lighteval_sha']}"
        run = ParsedRun(label, fmt, model or name, model_name_raw or raw_name, harness, version, config=general)
        run.task_versions = data.get("versions") or {}
        for key, result in data["results"].items():
            parts = key.split("|")
            if len(parts) != 3 or _int(parts[2]) is None:
                if key == "all":
                    continue
                raise ValidationError(label, None, f"results.{key}", "expected a key like 'harness|task|shots'")
            task, shots = parts[1], int(parts[2])
            for metric, value, stderr in _metric_pairs(label, key, result, False, run.rejected):
                run.measurements.append((task, metric, shots, value, stderr, None))
        return run

    args = parse_model_args(config.get("model_args"))
    raw_name = args.get("pretrained") or args.get("model") or data.get("model_name") or config.get("model")
    if not isinstance(raw_name, str) or not raw_name:
        raise ValidationError(label, None, "config.model_args", "no model named (expected pretrained=...)")
    name = model_name(raw_name, args.get("revision"))
    modern = fmt != "lm-eval-0.3"
    version = data.get("lm_eval_version") if modern else "pre-0.4"
    if modern and not version and data.get("git_hash"):
        version = f"git:{data['git_hash']}"
    run = ParsedRun(
        label,
        fmt,
        model or name,
        model_name_raw or name.full,
        HARNESS,
        version if isinstance(version, str) else None,
        model_args=config.get("model_args") if isinstance(config.get("model_args"), str) else json.dumps(args),
        n_shot=data.get("n-shot") or {},
        task_versions=data.get("versions") or {},
        config=config,
        evaluated_at=_date(data.get("date")),
    )
    default_shots = _int(config.get("num_fewshot")) or 0
    n_samples = data.get("n-samples") or {}
    for task, result in data["results"].items():
        shots = _group_shots(data, task, default_shots) if modern else default_shots
        samples = n_samples.get(task) if isinstance(n_samples.get(task), dict) else {}
        count = _int(samples.get("effective"))
        run.measurements.extend(
            (task, metric, shots, value, stderr, count)
            for metric, value, stderr in _metric_pairs(label, task, result, modern, run.rejected)
        )
    params = finite(config.get("model_num_parameters"))
    run.params_total = params if params and params > 0 else None
    return run


def parse_file(path: Path) -> ParsedRun:
    """Read and parse one file; its sha256 becomes the run's source id.

    Any failure, whatever the JSON or the parser does with it, is a ValidationError naming the
    file (see :func:`~obslaws.ingest.guards.guarded_parse`).
    """
    label = str(path)

    def parse() -> ParsedRun:
        raw = path.read_bytes()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(label, None, None, f"not valid JSON: {exc}") from exc
        run = parse_results(data, label)
        run.sha256 = hashlib.sha256(raw).hexdigest()
        run.path = label
        return run

    return guarded_parse(label, parse)


# -- writing ------------------------------------------------------------------------------------


def source_id_of(run: ParsedRun) -> str:
    return f"lm-eval:{run.sha256[:16]}" if run.sha256 else f"lm-eval:{run.model.full}"


def emit(batch: Batch, run: ParsedRun, *, source_id: str | None = None, family: str | None = None) -> str:
    """Append a parsed run's source, model, scores, losses and configuration to ``batch``."""
    source_id = source_id or source_id_of(run)
    what = "Open LLM Leaderboard v1 results" if run.file_format == "oll-v1" else f"{HARNESS} results"
    batch.source(
        source_id,
        "lm_eval_run",
        f"{what} for {run.model_name_raw} ({Path(run.path).name if run.path else 'in-process run'})",
        sha256=run.sha256,
    )
    model_id = batch.model(
        run.model, source_id, aliases=[run.model_name_raw], family=family, params_total=run.params_total
    )
    if run.params_total:
        batch.fill_model(model_id, params_total=run.params_total)
    rows, (n_shot, task_versions, config) = run.prepared or (mapped(batch.task_map, run.measurements), _json(run))
    batch.row(
        "eval_runs",
        source_id=source_id,
        model_id=model_id,
        model_name=run.model_name_raw,
        revision=run.model.revision,
        harness=run.harness,
        harness_version=run.harness_version,
        file_format=run.file_format,
        model_args=run.model_args,
        n_shot=n_shot,
        task_versions=task_versions,
        config=config,
        path=run.path,
        evaluated_at=run.evaluated_at,
    )
    scores: list[tuple] = []
    losses: list[tuple] = []
    harness, version, when = run.harness, run.harness_version, run.evaluated_at
    registered = batch.benchmarks
    for bench, metric, shots, value, stderr, count in rows:
        unit = _unit(metric, bench)
        if unit is None:  # a fraction, range-checked when parsed (obslaws.ingest.values)
            if bench not in registered:
                batch.benchmark(bench, metric, shots)
            scores.append((model_id, bench, metric, shots, value, stderr, count, source_id, harness, version, when))
        else:
            # Continuous measures, and the metrics declared on 0-100 or signed (BLEU, MCC), are losses.
            losses.append((model_id, bench, value, unit, stderr, shots, None, source_id))
    batch.extend("scores", scores)
    batch.extend("losses", losses)
    return model_id


# unit_of the few metric names there are, memoised: it runs once per measurement.
_unit = lru_cache(maxsize=4096)(unit_of)


def new_benchmarks(batch: Batch, run: ParsedRun) -> set[str]:
    """The benchmarks emitting ``run`` would add (scores of benchmarks neither stored nor in the batch)."""
    rows = run.prepared[0] if run.prepared else mapped(batch.task_map, run.measurements)
    known = batch.benchmarks
    unknown = {(bench, metric) for bench, metric, *_ in rows if bench not in known}  # mostly empty
    return {bench for bench, metric in unknown if _unit(metric, bench) is None}


def has_values(run: ParsedRun, task_map: TaskMap) -> bool:
    """Whether emitting ``run`` would store a score or a loss: a file none of whose values could be
    stored (all rejected, or none mapped) is no evaluation of its model, and writes nothing."""
    return bool(run.prepared[0] if run.prepared else mapped(task_map, run.measurements))


def _json(run: ParsedRun) -> tuple[str, str, str]:
    """n_shot, task_versions and config as eval_runs stores them."""
    return (
        json.dumps(run.n_shot, default=str, sort_keys=True),
        json.dumps(run.task_versions, default=str, sort_keys=True),
        json.dumps(run.config, default=str, sort_keys=True),
    )


def prepare(run: ParsedRun, task_map: TaskMap) -> ParsedRun:
    """Work out what emit() needs that does not depend on the database (see ParsedRun.prepared).

    Drops the raw measurements, which emit() then no longer reads: less to send between processes.
    """
    run.prepared = (mapped(task_map, run.measurements), _json(run))
    run.measurements = []
    return run


def mapped(task_map: TaskMap, measurements: Iterable[Measurement]) -> list[MappedMeasurement]:
    """(benchmark, metric, shots, value, stderr, n_samples) after mapping, derived metrics and aggregates."""
    out: dict[tuple[str, str, int], tuple[float, float | None, int | None]] = {}
    derived: dict[tuple[str, int], Any] = {}
    lookup = task_map.lookup
    for task, metric, shots, value, stderr, count in measurements:
        target = lookup(task, metric)
        if target.benchmark is None:
            continue
        out[(target.benchmark, target.metric, shots)] = (value, stderr, count)
        if target.mapping is not None and target.mapping.derived:
            derived[(target.benchmark, shots)] = target.mapping.derived
    for (bench, shots), recipes in derived.items():
        for metric, parts in recipes.items():
            found = [out.get((bench, part, shots)) for part in parts]
            if (bench, metric, shots) not in out and all(found):
                value, stderr = mean_with_stderr([f[0] for f in found], [f[1] for f in found])  # type: ignore[index]
                out[(bench, metric, shots)] = (value, stderr, found[0][2])  # type: ignore[index]
    for agg in AGGREGATES:
        shot_sets = {shots for (bench, metric, shots) in out if bench == agg.parts[0] and metric == agg.metric}
        for shots in shot_sets:
            if (agg.benchmark, agg.metric, shots) in out:
                continue
            found = [out.get((part, agg.metric, shots)) for part in agg.parts]
            if all(found):
                value, stderr = mean_with_stderr([f[0] for f in found], [f[1] for f in found])  # type: ignore[index]
                out[(agg.benchmark, agg.metric, shots)] = (value, stderr, None)
    return [(b, m, s, *rest) for (b, m, s), rest in out.items()]
