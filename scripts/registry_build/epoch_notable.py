"""Epoch AI Notable AI Models accessed 2026-01-26: parameters, training tokens, compute and
dates for models the score sources loaded (it creates no model of its own).

Epoch's `Model` is a display name ("Llama 4 Scout", "Qwen3-235B-A22B"): matched to a model id
by the normalised short name when that is unambiguous, or by the hand-checked table below.
`Parameters` is the total count (mixture-of-experts included); `Training dataset size
(gradients)` is the number of training tokens for language models. Fields a model already has
(from an earlier source) are kept; Epoch fills the gaps.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from .core import BuildError, Registry, files_sha256

SOURCE = "epoch-notable-2026-01"
PATH = "epoch-ai/notable-ai-models-2026-01/notable-ai-models.csv"
# Registry model -> Epoch display name, where the names differ beyond punctuation. Epoch's
# row describes the release (base and instruct weights came out together).
NOTABLE_NAMES: dict[str, str] = {
    "meta-llama/Llama-4-Scout-17B-16E": "Llama 4 Scout",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": "Llama 4 Scout",
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": "Llama 4 Maverick",
    "moonshotai/Kimi-K2-Instruct": "Kimi K2",
    "kimi-k2-thinking": "Kimi K2 Thinking",
    "glm-4.5": "GLM-4.5",
    "qwen3-235b-a22b": "Qwen3-235B-A22B",
    "Qwen/Qwen3-235B-A22B": "Qwen3-235B-A22B",
    "Qwen/Qwen3-235B-A22B-Instruct-2507": "Qwen3-235B-A22B-Instruct (Jul 2025)",
    "Qwen/Qwen3-235B-A22B-Thinking-2507": "Qwen3-235B-A22B-Thinking (Jul 2025)",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.lower())


def _number(value: object) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    number = float(value)
    return number if number > 0 else None


def load_epoch_notable_2026(reg: Registry, shared: Path) -> dict[str, str]:
    """Fill sizes, tokens and compute; return the dates found, for `fill_notable_dates` (dates
    are applied after the older Epoch tables', which keep precedence for the models they date)."""
    path = shared / PATH
    reg.add_source(
        SOURCE,
        "dataset",
        "Epoch AI, Notable AI Models (accessed 2026-01-26), via mxschons/sobe-2025-data-repository "
        "commit 6e8fd47, data/external/epoch-ai/notable-ai-models.csv",
        "https://epoch.ai/data/notable-ai-models",
        "CC-BY-4.0",
        files_sha256([path], shared),
        50,
    )
    table = pl.read_csv(path, infer_schema_length=None).filter(pl.col("Domain").str.contains("Language"))
    rows: dict[str, dict] = {}
    dates: dict[str, str] = {}
    by_norm: dict[str, set[str]] = {}
    for row in table.iter_rows(named=True):
        name = row["Model"].strip()
        rows.setdefault(name, row)
        by_norm.setdefault(_norm(name), set()).add(name)
    for model_id, model in sorted(reg.models.items()):
        if model["checkpoint_of"]:
            continue
        name = NOTABLE_NAMES.get(model_id)
        if name is None:
            hits = by_norm.get(_norm(model_id.split("/")[-1]), set())
            name = next(iter(hits)) if len(hits) == 1 else None
        elif name not in rows:
            raise BuildError(f"epoch_notable: {name!r} (for {model_id}) not in {PATH}")
        if name is None:
            continue
        row = rows[name]
        date = (row["Publication date"] or "")[:10] or None
        reg.add_model(
            model_id,
            SOURCE,
            params_total=_number(row["Parameters"]),
            tokens=_number(row["Training dataset size (gradients)"]),
            flops=_number(row["Training compute (FLOP)"]),
        )
        if date:
            dates[model_id] = date
        if name.lower() != model_id.lower() and name not in reg.aliases and name in NOTABLE_NAMES.values():
            reg.add_alias(name, model_id, SOURCE)
    return dates


def fill_notable_dates(reg: Registry, dates: dict[str, str]) -> None:
    for model_id, date in sorted(dates.items()):
        model = reg.models[model_id]
        if not model["release_date"]:
            model["release_date"], model["release_date_source"] = date, SOURCE
