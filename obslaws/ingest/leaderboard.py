"""Open LLM Leaderboard tabular dumps (``--format oll-v1`` or ``oll-v2``), one row per model.

Scales: the dumps give scores in points (0-100); scores are stored in [0, 1].

- v1: every column is the raw harness score in points: ``ARC`` -> ``arc_challenge`` acc_norm
  25-shot, and so on (the registry's headline settings).
- v2: each benchmark has a normalised column (chance subtracted, rescaled to 0-100) and a raw
  column (``BBH Raw``, a fraction, rounded to 2 decimals). The raw accuracy is stored under the
  registry's headline metric (the same measure as the harness's ``acc_norm``/``acc``). For IFEval
  and MATH Lvl 5 the normalised score *is* the raw score (their lower bound is 0), so their
  headline value is taken from the normalised column, which has more digits. Every normalised
  score is also kept, under metric ``oll_v2_normalized`` (value / 100).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from obslaws.errors import ObslawsError
from obslaws.ingest.batch import finite
from obslaws.ingest.context import IngestContext
from obslaws.ingest.names import model_name, variant_from_type
from obslaws.ingest.types import IngestReport, Problem

NORMALIZED_METRIC = "oll_v2_normalized"


@dataclass(frozen=True)
class Column:
    """One score column: where it goes and how to read it."""

    column: str
    benchmark: str
    metric: str
    n_shots: int
    scale: float  # divide by this to get [0, 1]


@dataclass(frozen=True)
class DumpFormat:
    name: str
    harness: str
    date_column: str
    columns: tuple[Column, ...]


_V1 = "lm-evaluation-harness (Open LLM Leaderboard v1)"
_V2 = "lm-evaluation-harness (Open LLM Leaderboard v2)"
FORMATS: dict[str, DumpFormat] = {
    "oll-v1": DumpFormat(
        "oll-v1",
        _V1,
        "date",
        (
            Column("ARC", "arc_challenge", "acc_norm", 25, 100),
            Column("HellaSwag", "hellaswag", "acc_norm", 10, 100),
            Column("MMLU", "mmlu", "acc", 5, 100),
            Column("TruthfulQA", "truthfulqa_mc2", "mc2", 0, 100),
            Column("Winogrande", "winogrande", "acc", 5, 100),
            Column("GSM8K", "gsm8k", "exact_match", 5, 100),
        ),
    ),
    "oll-v2": DumpFormat(
        "oll-v2",
        _V2,
        "Submission Date",
        (
            Column("IFEval", "leaderboard_ifeval", "inst_prompt_strict_acc_mean", 0, 100),
            Column("BBH Raw", "leaderboard_bbh", "acc_norm", 3, 1),
            Column("MATH Lvl 5", "leaderboard_math_hard", "exact_match", 4, 100),
            Column("GPQA Raw", "leaderboard_gpqa", "acc_norm", 0, 1),
            Column("MUSR Raw", "leaderboard_musr", "acc_norm", 0, 1),
            Column("MMLU-PRO Raw", "leaderboard_mmlu_pro", "acc", 5, 1),
            Column("IFEval", "leaderboard_ifeval", NORMALIZED_METRIC, 0, 100),
            Column("BBH", "leaderboard_bbh", NORMALIZED_METRIC, 3, 100),
            Column("MATH Lvl 5", "leaderboard_math_hard", NORMALIZED_METRIC, 4, 100),
            Column("GPQA", "leaderboard_gpqa", NORMALIZED_METRIC, 0, 100),
            Column("MUSR", "leaderboard_musr", NORMALIZED_METRIC, 0, 100),
            Column("MMLU-PRO", "leaderboard_mmlu_pro", NORMALIZED_METRIC, 5, 100),
        ),
    ),
}
_META = ("Model", "Type", "#Params (B)", "Hub License")


def _read(path: Path, fmt: DumpFormat) -> pl.DataFrame:
    """The dump as text columns; raises ObslawsError naming a missing column."""
    try:
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path).cast(pl.String)
        else:
            frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ObslawsError(f"{path}: cannot read the dump: {exc}") from exc
    needed = {"Model", fmt.date_column, *(c.column for c in fmt.columns)}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ObslawsError(
            f"{path}: column {missing[0]!r} missing: not an {fmt.name} dump (wrong --format?); "
            f"columns are {', '.join(frame.columns[:8])}, ..."
        )
    return frame


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def ingest_leaderboard(
    context: IngestContext,
    paths: Sequence[str | Path],
    *,
    format: str,  # noqa: A002 - the CLI's --format
) -> IngestReport:
    """Ingest leaderboard dumps (CSV or parquet), one transaction per file.

    Rows are matched to existing models through ``model_aliases`` (hub ids case-insensitively);
    new models get a family derived from the name and a variant from the ``Type`` column. Where a
    model appears more than once, the newest row (date column) wins. A row with an unreadable
    score is reported (file, row and column) and skipped; the rest of the file lands.
    """
    if format not in FORMATS:
        raise ObslawsError(f"unknown leaderboard format {format!r}; use one of {', '.join(FORMATS)}")
    fmt = FORMATS[format]
    start = time.perf_counter()
    report = IngestReport()
    for item in paths:
        path = Path(item).expanduser()
        if not path.is_file():
            report.skipped.append(Problem(str(path), None, "no such file"))
            continue
        try:
            frame = _read(path, fmt)
        except ObslawsError as exc:
            report.skipped.append(Problem(str(path), None, str(exc).removeprefix(f"{path}: ")))
            continue
        _ingest_frame(context, path, frame, fmt, report)
        report.files += 1
    report.seconds = time.perf_counter() - start
    return report


def _ingest_frame(
    context: IngestContext, path: Path, frame: pl.DataFrame, fmt: DumpFormat, report: IngestReport
) -> None:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    source_id = f"leaderboard:{fmt.name}:{sha[:12]}"
    batch = context.batch()
    batch.source(
        source_id,
        "leaderboard",
        f"Open LLM Leaderboard {fmt.name[-2:]} dump {path.name}",
        url="https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard",
        sha256=sha,
    )
    # Oldest first, so that the newest row of a model is the one kept (undated rows count as oldest).
    rows = frame.with_row_index("_row").with_columns(
        pl.col(fmt.date_column).map_elements(_date, return_dtype=pl.Datetime("us")).alias("_date")
    )
    rows = rows.sort("_date", nulls_last=False, maintain_order=True)
    kept: dict[str, tuple[int, list[tuple]]] = {}
    for row in rows.iter_rows(named=True):
        line = row["_row"] + 2  # 1 = header
        name = (row["Model"] or "").strip()
        if not name:
            report.skipped.append(Problem(str(path), f"row {line} Model", "empty model name"))
            continue
        values = []
        bad = None
        for col in fmt.columns:
            text = row[col.column]
            value = finite(text)
            if value is None and text not in (None, ""):
                bad = f"cannot read {text!r} as a number"
            elif value is not None and not 0 <= value / col.scale <= 1:
                bad = f"{value} outside 0-{col.scale:g}"
            if bad:
                report.skipped.append(Problem(str(path), f"row {line} {col.column}", bad))
                break
            if value is not None:
                values.append((col, round(value / col.scale, 12)))
        if bad:
            continue
        params = finite(row.get("#Params (B)"))
        model_id = batch.model(
            model_name(name),
            source_id,
            aliases=[name],
            variant=variant_from_type(row.get("Type")),
            params_total=params * 1e9 if params else None,
            license=row.get("Hub License") or None,
        )
        kept[model_id] = (line, [(col, value, row["_date"]) for col, value in values])
    for model_id, (_, values) in kept.items():
        for col, value, when in values:
            batch.score(
                model_id,
                col.benchmark,
                col.metric,
                col.n_shots,
                value,
                source_id,
                harness=fmt.harness,
                evaluated_at=when,
            )
    report.extra.setdefault("models", []).append(len(kept))
    batch.write(report)
