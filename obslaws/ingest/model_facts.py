"""Model facts given by hand (a refresh plan's ``[[models]]``): family, variant, size, tokens, date.

They are curated, so they overwrite what an ingest derived from a results file; FLOPs follow as
``6 * params_active * tokens`` wherever both are then known. A fact about a model that no source
has ingested yet waits: it is reported, and applied by a later run once the model is there.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from obslaws.ingest.context import IngestContext
from obslaws.ingest.types import IngestReport
from obslaws.store.query import first_row

# The fields a fact may give; params sets both parameter counts (the models given are dense).
FACT_FIELDS = ("family", "family_group", "variant", "params", "tokens", "release_date")


def _model_row(model_id: str, values: Mapping[str, Any], source_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {"model_id": model_id}
    for field in ("family", "variant"):
        if field in values:
            row[field] = values[field]
    if "params" in values:
        row["params_total"] = row["params_active"] = float(values["params"])
    if "tokens" in values:
        row["tokens"] = float(values["tokens"])
    if "release_date" in values:
        row["release_date"] = datetime.fromisoformat(str(values["release_date"])).date()
        row["release_date_source"] = source_id
    return row


def _with_flops(context: IngestContext, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` plus FLOPs from its size and tokens, or the database's where it gives neither."""
    held = first_row(context.conn, "SELECT params_active, tokens FROM models WHERE model_id = ?", [row["model_id"]])
    params = row.get("params_active", held[0] if held else None)
    tokens = row.get("tokens", held[1] if held else None)
    if params is None or tokens is None:
        return row
    return {**row, "flops": 6 * params * tokens, "flops_basis": "6*params_active*tokens"}


def ingest_model_facts(
    context: IngestContext,
    facts: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    source_id: str,
    citation: str,
) -> IngestReport:
    """Write ``(model name, fields)`` facts (see :data:`FACT_FIELDS`) in one transaction.

    A name resolves as ingested names do (aliases, case-insensitively when unambiguous); the
    names that resolve to no model are listed in ``report.extra["waiting"]``. Facts about one
    model apply in order, later ones over earlier ones.
    """
    start = time.perf_counter()
    report = IngestReport(extra={"waiting": []})
    if not facts:
        return report
    batch = context.batch()
    batch.source(source_id, "refresh_config", citation)
    rows: dict[str, dict[str, Any]] = {}
    for name, values in facts:
        model_id = context.resolver.lookup(name)
        if model_id is None:
            report.extra["waiting"].append(name)
            continue
        if "family" in values:
            group = values.get("family_group", values["family"])
            batch.put("families", family=values["family"], family_group=group)
        rows.setdefault(model_id, {}).update(_model_row(model_id, values, source_id))
    for row in rows.values():
        batch.put("models", **_with_flops(context, row))
    batch.write(report)
    report.seconds = time.perf_counter() - start
    return report
