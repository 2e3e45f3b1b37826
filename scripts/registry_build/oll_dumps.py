"""Open LLM Leaderboard v2 snapshot (sloth/data/open-llm-leaderboard_new.csv): the v2 scores of
models the registry already holds but Sloth's and ObsScaling's tables leave without them, and the
exact figures behind Sloth's rounded ones.

Sloth's data_v2.csv and ObsScaling's v2 table carry the leaderboard v2 scores of the models they
chose; the leaderboard's own snapshot, in the same repository, has them for more (Yi-34B-Chat,
DeepSeek-LLM-67B-Chat, Mistral-7B-Instruct-v0.1, Yi-6B/34B-200K, ...). A registry model found by
its exact Hugging Face id (model ids and aliases, case-insensitively: never a bare repository
name, which could join another organisation's model) gains the snapshot's score on each v2
benchmark it has no score for from any source. The snapshot repeats some names: one row per name,
the newest submission (DATA.md). IFEval's value is the mean of prompt- and instruction-level
strict accuracy, as Sloth's. No model is added: the snapshot has no sizes, tokens or dates.

The `Raw` columns, like Sloth's v2 columns, are accuracies rounded to 2 decimals (Qwen1.5-32B-Chat,
Yi-1.5-34B-Chat and Mixtral-8x22B-Instruct all read MMLU-Pro 0.45). The leaderboard's normalised
columns keep 2 decimals of a percent, and four of them are one accuracy rescaled: raw = floor +
(1 - floor) x normalised / 100, floor 0.1 for MMLU-Pro (10 choices), 0.25 for GPQA (where above 0:
below chance the leaderboard prints 0), 0 for MATH Lvl 5 and IFEval (BBH and MuSR average subtasks
with different floors, so their accuracy cannot be recovered). Those give the accuracy to about
4 decimals (38.41 -> 0.44569); each must round to the `Raw` column's figure or the build fails.
Where Sloth's only score of a model is the `Raw` figure itself (the same submission, rounded),
the exact figure is added beside it under this source, which ranks ahead of Sloth's
(`preferred_scores`); a score that differs (another submission) or comes from any other source
is never replaced or duplicated.
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

# the normalised column -> the accuracy's floor, for the benchmarks whose normalised score is one
# accuracy rescaled (None: BBH and MuSR, averages of subtasks with different floors)
FLOORS = {"IFEval": 0.0, "MATH Lvl 5": 0.0, "GPQA": 0.25, "MMLU-PRO": 0.1}
# the Raw columns print 2 decimals: an exact accuracy lies within half a unit of them
ROUNDING = 0.005 + 1e-9
SLOTH = "sloth-data-v2"


def read_snapshot(shared: Path) -> pl.DataFrame:
    """The snapshot, one row per model name (its newest submission), with its ``line`` in the file."""
    frame = pl.read_csv(shared / PATH, infer_schema_length=0)
    missing = sorted({"Model", "Submission Date", *RAW_COLUMNS, *RAW_COLUMNS.values()} - set(frame.columns))
    if missing:
        raise BuildError(f"{PATH}: missing columns {missing}")
    frame = frame.with_row_index("line", offset=2)  # the header is line 1
    return frame.sort(["Model", "Submission Date"], descending=[False, True]).unique(
        "Model", keep="first", maintain_order=True
    )


def _value(raw: str | None, line: int, column: str, upper: float = 1.0) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BuildError(f"{PATH}: line {line}, column {column!r}: {raw!r} is not a number") from None
    if not 0.0 <= value <= upper:
        raise BuildError(f"{PATH}: line {line}, column {column!r}: {value} outside [0, {upper:g}]")
    return value


def exact_value(row: dict, column: str, raw: float | None) -> float | None:
    """The accuracy behind ``column`` (a Raw column) from its normalised column, where that is one
    accuracy rescaled and above its floor; None where it cannot be recovered. A figure that does not
    round to ``raw`` is an error in the file."""
    normalised_column = RAW_COLUMNS[column]
    floor = FLOORS.get(normalised_column)
    normalised = _value(row[normalised_column], row["line"], normalised_column, upper=100.0)
    if floor is None or normalised is None or raw is None or (normalised == 0 and floor > 0):
        return None
    # the normalised column's 2 decimals of a percent carry at most 6 decimals of accuracy
    exact = round(floor + (1 - floor) * normalised / 100, 6)
    if abs(exact - raw) > ROUNDING:
        raise BuildError(
            f"{PATH}: line {row['line']}, column {normalised_column!r}: {normalised} is accuracy "
            f"{exact:.5f}, which does not round to {column!r} {raw}"
        )
    return exact


def load_oll_v2_snapshot(reg: Registry, shared: Path) -> int:
    """Add the snapshot's v2 scores missing from the registry's models, and its exact figures where
    Sloth's only score is the same figure rounded; returns how many were added."""
    reg.add_source(
        SOURCE,
        "leaderboard",
        "Open LLM Leaderboard v2 snapshot in the Sloth repository (data/open-llm-leaderboard_new.csv), "
        "Maia Polo et al., arXiv:2412.06540, commit 6dc6bb3: accuracies, for models whose v2 scores no "
        "other source gives, and for IFEval, MATH Lvl 5, GPQA and MMLU-Pro the exact accuracy behind "
        "Sloth's 2-decimal figure, recovered from the normalised column (floor + (1 - floor) x "
        "normalised / 100; floors 0, 0, 0.25, 0.1)",
        "https://github.com/felipemaiapolo/sloth/blob/6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1/data/open-llm-leaderboard_new.csv",
        "MIT",
        files_sha256([shared / PATH], shared),
        19,  # ahead of Sloth's rounded figures (20), behind ObsScaling's full-precision ones
    )
    names = NameIndex(reg)
    existing: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for score in reg.scores.values():
        existing.setdefault((score["model_id"], score["benchmark"]), []).append((score["source_id"], score["value"]))
    added = 0
    for row in read_snapshot(shared).iter_rows(named=True):
        name = row["Model"] or ""
        model_id = names.find(name) if "/" in name else None
        if model_id is None or reg.models[model_id].get("checkpoint_of"):
            continue
        for column, sloth_column in RAW_COLUMNS.items():
            benchmark, metric, shots = OLL_V2[sloth_column][:3]
            raw = _value(row[column], row["line"], column)
            exact = exact_value(row, column, raw)
            scores = existing.get((model_id, benchmark), [])
            others = [(source, value) for source, value in scores if source != SOURCE]
            if raw is None or len(others) < len(scores) or (others and not _rounded_by_sloth(others, raw, exact)):
                continue  # nothing to give, given already (a second pass), or another source's figure
            value = raw if exact is None else exact
            reg.add_score(model_id, benchmark, metric, shots, value, SOURCE, harness="lm-eval")
            added += 1
    return added


def _rounded_by_sloth(others: list[tuple[str, float]], raw: float, exact: float | None) -> bool:
    """Are a cell's scores from other sources only Sloth's, the snapshot's own figure rounded, and is
    there an exact figure behind it?"""
    return exact is not None and all(source == SLOTH and abs(value - raw) < 1e-9 for source, value in others)
