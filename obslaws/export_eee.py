"""`obslaws export eee OUT`: our scores as Every Eval Ever files (schema 0.3.0, validated).

One file per (source, model): `OUT/<source>/<model>/<source>__<model>.json`. Each score's
setting travels in the result's `metric_config.additional_details` (benchmark, metric, n_shots,
harness, chance), and the training facts EEE has no field for go in
`model_info.additional_details` as strings: params_total, params_active, tokens, flops,
flops_basis, release_date, variant, family, family_group. `obslaws ingest eee` reads both back.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import duckdb

from obslaws.errors import ObslawsError
from obslaws.ingest.eee_schema import schema, validation_errors
from obslaws.store.query import read_frame

MODEL_DETAILS = (
    "params_total",
    "params_active",
    "tokens",
    "flops",
    "flops_basis",
    "release_date",
    "variant",
    "family",
    "family_group",
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _text(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else repr(value) if isinstance(value, float) else str(value)


def _new_document(source_id: str, citation: str, kind: str, model_id: str, facts: dict) -> dict:
    details = {k: _text(facts[k]) for k in MODEL_DETAILS if facts[k] is not None}
    details |= {"deployment_type": "unknown", "model_availability": "unknown"}
    return {
        "schema_version": schema()["version"],
        "evaluation_id": f"{source_id}/{model_id}/0",
        "retrieved_timestamp": "0",
        "source_metadata": {
            "source_name": source_id,
            "source_type": "evaluation_run" if kind == "lm_eval_run" else "documentation",
            "source_organization_name": "obslaws",
            "evaluator_relationship": "other",
            "additional_details": {"citation": citation},
        },
        "model_info": {"name": model_id, "id": model_id, "additional_details": details},
        "eval_library": {"name": "obslaws", "version": version("obslaws")},
        "evaluation_results": [],
    }


def _result(row: dict) -> dict:
    """One score as an EEE result; its setting (benchmark id, metric, shots, harness) in additional_details."""
    setting = {"benchmark": row["benchmark"], "metric": row["metric"], "n_shots": str(row["n_shots"])}
    setting["chance"] = _text(row["chance"])
    setting |= {k: row[k] for k in ("harness", "harness_version") if row[k]}
    metric = row["metric"]
    return {
        "evaluation_name": row["benchmark"] if metric == "score" else f"{row['benchmark']} [{metric}]",
        "source_data": {"source_type": "url", "dataset_name": row["benchmark"], "url": ["https://github.com/obslaws"]},
        "metric_config": {
            "evaluation_description": row["description"] or row["benchmark"],
            "metric_id": metric,
            "lower_is_better": False,
            "score_type": "continuous",
            "min_score": 0.0,
            "max_score": 1.0,
            "additional_details": setting,
        },
        "score_details": {"score": row["value"]},
    }


def _documents(conn: duckdb.DuckDBPyConnection, source: str | None) -> dict[tuple[str, str], dict]:
    where, params = ("WHERE s.source_id = ?", [source]) if source else ("", [])
    scores = read_frame(
        conn,
        f"""SELECT s.source_id, src.citation, src.kind, s.model_id, s.benchmark, s.metric, s.n_shots,
                   s.value, s.harness, s.harness_version, b.chance, b.description
            FROM scores s JOIN sources src USING (source_id) JOIN benchmarks b USING (benchmark)
            {where} ORDER BY s.source_id, s.model_id, s.benchmark, s.metric, s.n_shots""",
        params,
    )
    facts = read_frame(conn, f"SELECT model_id, {', '.join(MODEL_DETAILS)} FROM models JOIN families USING (family)")
    by_model = {row["model_id"]: row for row in facts.iter_rows(named=True)}
    docs: dict[tuple[str, str], dict] = {}
    for row in scores.iter_rows(named=True):
        key = (row["source_id"], row["model_id"])
        if key not in docs:
            docs[key] = _new_document(row["source_id"], row["citation"], row["kind"], row["model_id"], by_model[key[1]])
        docs[key]["evaluation_results"].append(_result(row))
    return docs


def export_eee(conn: duckdb.DuckDBPyConnection, out: Path, *, source: str | None = None) -> int:
    """Write the files; every one is validated against the schema first (a failure writes nothing)."""
    docs = _documents(conn, source)
    if source and not docs:
        raise ObslawsError(f"no scores from source {source!r}")
    for (source_id, model_id), doc in docs.items():
        errors = validation_errors(doc)
        if errors:
            raise ObslawsError(f"export eee: {source_id}/{model_id} fails eval.schema.json: {errors[0]}")
    for (source_id, model_id), doc in docs.items():
        folder = out / _safe(source_id) / _safe(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_safe(source_id)}__{_safe(model_id)}.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(docs)
