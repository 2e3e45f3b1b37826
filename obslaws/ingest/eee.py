"""Every Eval Ever result files (`obslaws ingest eee PATH`): one JSON file per (source, model,
retrieval), validated against the format's schema (see eee_schema.py) before anything is read.

Mapping:
- model: `model_info.id` resolved through `model_aliases` (HELM's lower-case `org/model`
  finds `Org/Model`); an unknown id becomes a new model. `model_info.name` is kept as an alias
  when no other model uses it. `additional_details` written by `obslaws export eee` (params,
  tokens, compute, release date) fill fields the database lacks; its family and family group
  are a new model's.
- benchmark: `eee:<source_name>/<evaluation_name>` (slugs), one id per source and evaluation,
  since HELM's MMLU prompt is neither the Open LLM Leaderboard's nor a report's. A benchmark's
  setting (shots) is not a typed EEE field: n_shots is -1 (not stated) unless a file written
  by obslaws gives it in the result's `additional_details`.
- score: `score_details.score` rescaled to [0, 1] with the metric's min and max. A result whose
  lower score is better, or without a numeric range, is reported and skipped.
- source: `eee:<source_name>`, citing the source organisation and the evaluator relationship.
A file that fails validation or cannot be read is reported and skipped; the rest land.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from obslaws.ingest.batch import Batch, finite
from obslaws.ingest.context import IngestContext
from obslaws.ingest.eee_schema import validation_errors
from obslaws.ingest.names import ModelName
from obslaws.ingest.types import IngestReport, Problem
from obslaws.ingest.unresolved import lookup

NOT_STATED = -1
MODEL_FIELDS = {"params_total": float, "params_active": float, "tokens": float, "flops": float}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def benchmark_id(source_name: str, evaluation_name: str) -> str:
    return f"eee:{slug(source_name)}/{slug(evaluation_name)}"


def _files(paths: Sequence[str | Path], report: IngestReport) -> list[Path]:
    found: list[Path] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*.json")) if not p.name.endswith(".schema.json"))
        elif path.is_file():
            found.append(path)
        else:
            report.skipped.append(Problem(str(path), None, "no such file or folder"))
    return found


def _read(path: Path) -> tuple[dict | None, str | None]:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return None, f"not readable as JSON: {exc}"
    errors = validation_errors(document)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return None, f"fails eval.schema.json: {errors[0]}{more}"
    return document, None


def _scaled(result: dict) -> tuple[float | None, str | None]:
    config = result["metric_config"]
    score = finite(result["score_details"]["score"])
    if config.get("lower_is_better"):
        return None, "lower is better: not a score in [0, 1]"
    low, high = finite(config.get("min_score")), finite(config.get("max_score"))
    if score is None or low is None or high is None or high <= low:
        return None, "no numeric score with a min_score/max_score range"
    value = (score - low) / (high - low)
    if not 0.0 <= value <= 1.0:
        return None, f"score {score} outside [{low}, {high}]"
    return round(value, 12), None


def _source(batch: Batch, document: dict, seen: set[str]) -> str:
    meta = document["source_metadata"]
    name = meta.get("source_name") or meta["source_organization_name"]
    source_id = f"eee:{slug(name)}"
    if source_id not in seen:
        seen.add(source_id)
        library = document.get("eval_library") or {}
        batch.source(
            source_id,
            "leaderboard" if meta["source_type"] == "documentation" else "lm_eval_run",
            f"{name} ({meta['source_organization_name']}, {meta['evaluator_relationship'].replace('_', ' ')}), "
            f"in the Every Eval Ever format{' via ' + library['name'] if library.get('name') else ''}",
            url=meta.get("source_organization_url"),
        )
    return source_id


def _model(batch: Batch, document: dict, source_id: str, report: IngestReport) -> str:
    info = document["model_info"]
    details = info.get("additional_details") or {}
    # HELM writes API models as `openai/gpt-4o-2024-05-13`; the registry knows `gpt-4o-2024-05-13`.
    found = lookup(batch.resolver, info["id"])
    name = found or info["id"]
    known = found is not None
    aliases = [a for a in (info["id"], info.get("name")) if a and batch.resolver.lookup(a) is None]
    # ModelName, not model_name(): EEE ids are names, and `text-bison@001` is an API version, not a checkpoint.
    # A new model keeps the family (and group) the exporting database gave it, not one guessed from its name.
    model_id = batch.model(
        ModelName(name),
        source_id,
        aliases=aliases,
        family=details.get("family"),
        family_group=details.get("family_group"),
        variant=details.get("variant"),
    )
    fills = {f: finite(details.get(f)) for f in MODEL_FIELDS}
    fills["release_date"] = details.get("release_date") or None
    batch.fill_model(model_id, **fills)
    report.extra.setdefault("models matched" if known else "models created", []).append(model_id)
    return model_id


def _ingest_file(batch: Batch, path: Path, document: dict, report: IngestReport, state: dict) -> None:
    """Queue the file's scores in `state["cells"]`: a later (newer) retrieval of a cell replaces an earlier."""
    source_id = _source(batch, document, state["sources"])
    model_id = _model(batch, document, source_id, report)
    source_name = document["source_metadata"].get("source_name") or source_id
    library = document.get("eval_library") or {}
    for index, result in enumerate(document["evaluation_results"]):
        value, problem = _scaled(result)
        if problem:
            key = f"evaluation_results[{index}] {result['evaluation_name']}"
            report.skipped.append(Problem(str(path), key, problem))
            continue
        config = result["metric_config"]
        extra = config.get("additional_details") or {}
        # Files written by `obslaws export eee` carry the benchmark id and metric they came from.
        bench = extra.get("benchmark") or benchmark_id(source_name, result["evaluation_name"])
        metric = extra.get("metric") or config.get("metric_id") or "score"
        shots = int(extra["n_shots"]) if str(extra.get("n_shots", "")).lstrip("-").isdigit() else NOT_STATED
        if bench not in batch.benchmarks:
            batch.benchmarks.add(bench)
            description = config.get("evaluation_description") or result["evaluation_name"]
            batch.row(
                "benchmarks",
                benchmark=bench,
                metric=metric,
                n_shots=shots,
                chance=finite(extra.get("chance")) or 0.0,
                description=f"{description} ({source_name}, Every Eval Ever; shots -1 = not stated).",
            )
        cell = (model_id, bench, metric, shots, source_id)
        if cell in state["cells"]:
            older = state["cells"][cell][0]
            report.skipped.append(Problem(older, f"{bench} of {model_id}", f"superseded by the newer retrieval {path}"))
        version = library.get("version") if library.get("version") not in (None, "unknown") else None
        harness = extra.get("harness") or library.get("name") or source_name
        state["cells"][cell] = (str(path), value, harness, version)


def ingest_eee(context: IngestContext, paths: Sequence[str | Path]) -> IngestReport:
    """Ingest EEE result files and folders (searched for *.json) in one transaction."""
    start = time.perf_counter()
    report = IngestReport()
    batch = context.batch()
    documents = []
    for path in _files(paths, report):
        document, problem = _read(path)
        if problem:
            report.skipped.append(Problem(str(path), None, problem))
            continue
        documents.append((finite(document["retrieved_timestamp"]) or 0.0, str(path), path, document))
    state: dict[str, Any] = {"sources": set(), "cells": {}}
    for _, _, path, document in sorted(documents, key=lambda d: d[:2]):  # oldest retrieval first
        _ingest_file(batch, path, document, report, state)
        report.files += 1
    for (model_id, bench, metric, shots, source_id), (_, value, harness, version) in state["cells"].items():
        batch.score(model_id, bench, metric, shots, value, source_id, harness=harness, harness_version=version)
    batch.write(report)
    report.seconds = time.perf_counter() - start
    return report


def extra_counts(report: IngestReport) -> dict[str, Any]:
    """Distinct models matched to existing rows and created, for the CLI summary."""
    created = set(report.extra.get("models created", []))
    matched = set(report.extra.get("models matched", [])) - created  # a model a file of this run created
    return {"models matched": len(matched), "models created": len(created)}
