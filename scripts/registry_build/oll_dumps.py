"""Open LLM Leaderboard v2 snapshot (sloth/data/open-llm-leaderboard_new.csv): the v2 scores of
models the registry already holds but Sloth's and ObsScaling's tables leave without them.

Sloth's data_v2.csv and ObsScaling's v2 table carry the leaderboard v2 scores of the models they
chose; the leaderboard's own snapshot, in the same repository, has them for more (Yi-34B-Chat,
DeepSeek-LLM-67B-Chat, Mistral-7B-Instruct-v0.1, Yi-6B/34B-200K, ...). A registry model found by
its exact Hugging Face id (model ids and aliases, case-insensitively: never a bare repository
name, which could join another organisation's model) gains the snapshot's raw score on each v2
benchmark it has no score for from any source; a score another source gave is never replaced or
duplicated. The snapshot repeats some names: one row per name, the newest submission (DATA.md).
Values are the `Raw` columns, the accuracies Sloth's v2 columns hold (2 decimals): IFEval's is
the mean of prompt- and instruction-level strict accuracy, as Sloth's. No model is added: the
snapshot has no sizes, tokens or dates to give one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .benchmarks import OLL_V2
from .core import BuildError, Registry, files_sha256
from .joins import NameIndex

SOURCE = "oll-v2-snapshot-sloth"
PATH = "sloth/data/open-llm-leaderboard_new.csv"
# the snapshot's column -> Sloth's v2 column (whose benchmark, metric and shots it shares)
RAW_COLUMNS = {
    "IFEval Raw": "IFEval",
    "BBH Raw": "BBH",
    "MATH Lvl 5 Raw": "MATH Lvl 5",
    "GPQA Raw": "GPQA",
    "MUSR Raw": "MUSR",
    "MMLU-PRO Raw": "MMLU-PRO",
}


def read_snapshot(shared: Path) -> pl.DataFrame:
    """The snapshot, one row per model name (its newest submission), with its ``line`` in the file."""
    frame = pl.read_csv(shared / PATH, infer_schema_length=0)
    missing = sorted({"Model", "Submission Date", *RAW_COLUMNS} - set(frame.columns))
    if missing:
        raise BuildError(f"{PATH}: missing columns {missing}")
    frame = frame.with_row_index("line", offset=2)  # the header is line 1
    return frame.sort(["Model", "Submission Date"], descending=[False, True]).unique(
        "Model", keep="first", maintain_order=True
    )


def _value(raw: str | None, line: int, column: str) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BuildError(f"{PATH}: line {line}, column {column!r}: {raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise BuildError(f"{PATH}: line {line}, column {column!r}: {value} outside [0, 1]")
    return value


def load_oll_v2_snapshot(reg: Registry, shared: Path) -> int:
    """Add the snapshot's v2 scores missing from the registry's models; returns how many were added."""
    reg.add_source(
        SOURCE,
        "leaderboard",
        "Open LLM Leaderboard v2 snapshot in the Sloth repository (data/open-llm-leaderboard_new.csv, "
        "raw accuracies), Maia Polo et al., arXiv:2412.06540, commit 6dc6bb3; only for models "
        "whose v2 scores no other source gives",
        "https://github.com/felipemaiapolo/sloth/blob/6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1/data/open-llm-leaderboard_new.csv",
        "MIT",
        files_sha256([shared / PATH], shared),
        25,
    )
    names = NameIndex(reg)
    scored = {(s["model_id"], s["benchmark"]) for s in reg.scores.values()}
    added = 0
    for row in read_snapshot(shared).iter_rows(named=True):
        name = row["Model"] or ""
        model_id = names.find(name) if "/" in name else None
        if model_id is None or reg.models[model_id].get("checkpoint_of"):
            continue
        for column, sloth_column in RAW_COLUMNS.items():
            benchmark, metric, shots = OLL_V2[sloth_column][:3]
            value = _value(row[column], row["line"], column)
            if value is None or (model_id, benchmark) in scored:
                continue
            reg.add_score(model_id, benchmark, metric, shots, value, SOURCE, harness="lm-eval")
            added += 1
    return added
