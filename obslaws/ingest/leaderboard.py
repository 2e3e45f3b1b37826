"""Open LLM Leaderboard tabular dumps (v1, v2 and the v2 export), one row per model.

Scales: the dumps give scores in points (0-100); scores are stored in [0, 1].

- v1: every column is the raw harness score in points: ``ARC`` -> ``arc_challenge`` acc_norm
  25-shot, and so on (the registry's headline settings).
- v2: each benchmark has a normalised column (chance subtracted, rescaled to 0-100) and a raw
  column (``BBH Raw``, a fraction, rounded to 2 decimals). The raw accuracy is stored under the
  registry's headline metric (the same measure as the harness's ``acc_norm``/``acc``). For IFEval
  and MATH Lvl 5 the normalised score *is* the raw score (their lower bound is 0), so their
  headline value is taken from the normalised column, which has more digits. Every normalised
  score is also kept, under metric ``oll_v2_normalized`` (value / 100).
- the v2 export third-party scrapers save from the leaderboard's formatted API (``model_name``,
  ``evaluations_bbh_value`` as a fraction, ``evaluations_bbh_normalized_score`` in points,
  ``metadata_params_billions``, ``metadata_submission_date``, ...): stored the same way.

The layout is detected from the columns; ``--format`` only narrows the choice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from obslaws.csv_rows import read_text_csv
from obslaws.errors import ObslawsError, ValidationError
from obslaws.ingest.batch import finite
from obslaws.ingest.context import IngestContext
from obslaws.ingest.guards import guarded_parse
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
    """One layout of a dump: its score columns and where the model's name and facts are."""

    name: str
    harness: str
    date_column: str
    columns: tuple[Column, ...]
    version: str = "oll-v2"  # what --format calls it
    model_column: str = "Model"
    type_column: str = "Type"
    params_column: str = "#Params (B)"  # in billions
    license_column: str = "Hub License"


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
        version="oll-v1",
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
    # The leaderboard's formatted v2 export as third-party scrapers flatten it: ``value`` is the
    # raw score (a fraction), ``normalized_score`` the leaderboard's rescaled score (0-100).
    "oll-v2-export": DumpFormat(
        "oll-v2-export",
        _V2,
        "metadata_submission_date",
        tuple(
            Column(
                f"evaluations_{key}_{kind}", benchmark, headline if kind == "value" else NORMALIZED_METRIC, shots, scale
            )
            for kind, scale in (("value", 1), ("normalized_score", 100))
            for key, benchmark, headline, shots in (
                ("ifeval", "leaderboard_ifeval", "inst_prompt_strict_acc_mean", 0),
                ("bbh", "leaderboard_bbh", "acc_norm", 3),
                ("math", "leaderboard_math_hard", "exact_match", 4),
                ("gpqa", "leaderboard_gpqa", "acc_norm", 0),
                ("musr", "leaderboard_musr", "acc_norm", 0),
                ("mmlu_pro", "leaderboard_mmlu_pro", "acc", 5),
            )
        ),
        model_column="model_name",
        type_column="model_type",
        params_column="metadata_params_billions",
        license_column="metadata_hub_license",
    ),
}


def _read(path: Path) -> pl.DataFrame:
    """The dump as text columns; a CSV row with more or fewer fields than the header is refused by row."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).cast(pl.String)
    return read_text_csv(path, str(path))


def _needed(fmt: DumpFormat) -> set[str]:
    return {fmt.model_column, fmt.date_column, *(c.column for c in fmt.columns)}


def detect_layout(path: Path, columns: Sequence[str], version: str | None = None) -> DumpFormat:
    """The layout whose columns the dump has (of leaderboard ``version``, if given).

    Raises ObslawsError naming the first column missing from the closest layout.
    """
    candidates = [f for f in FORMATS.values() if version is None or f.version == version]
    if not candidates:
        raise ObslawsError(f"unknown leaderboard format {version!r}; use one of oll-v1, oll-v2")
    for fmt in candidates:
        if _needed(fmt) <= set(columns):
            return fmt
    closest = min(candidates, key=lambda f: len(_needed(f) - set(columns)))
    missing = sorted(_needed(closest) - set(columns))
    raise ObslawsError(
        f"{path}: not a leaderboard dump obslaws knows (closest: {closest.name}, column {missing[0]!r} "
        f"missing); columns are {', '.join(list(columns)[:8])}, ..."
    )


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
    format: str | None = None,  # noqa: A002 - the CLI's --format
) -> IngestReport:
    """Ingest leaderboard dumps (CSV or parquet), one transaction per file.

    The layout is detected from the columns (``format``, ``oll-v1`` or ``oll-v2``, narrows it):
    the leaderboard's own tables or the v2 export (``evaluations_bbh_value``, ...). A file of
    which no row could be read is reported as skipped and leaves no trace.

    Rows are matched to existing models through ``model_aliases`` (hub ids case-insensitively);
    new models get a family derived from the name and a variant from the ``Type`` column. Where a
    model appears more than once, the newest row (date column) wins. A row with an unreadable
    score is reported (file, row and column) and skipped; the rest of the file lands.
    """
    if format is not None and format not in {f.version for f in FORMATS.values()}:
        raise ObslawsError(f"unknown leaderboard format {format!r}; use one of oll-v1, oll-v2")
    start = time.perf_counter()
    report = IngestReport()
    for item in paths:
        path = Path(item).expanduser()
        if not path.is_file():
            report.skipped.append(Problem(str(path), None, "no such file"))
            continue
        try:
            frame = guarded_parse(str(path), lambda path=path: _read(path))
            fmt = guarded_parse(str(path), lambda path=path, frame=frame: detect_layout(path, frame.columns, format))
        except ValidationError as exc:
            key = exc.field if exc.row is None else " ".join(filter(None, [f"row {exc.row}", exc.field]))
            report.skipped.append(Problem(exc.file, key, exc.problem))
            continue
        if _ingest_frame(context, path, frame, fmt, report):
            report.files += 1
        else:
            report.skipped.append(Problem(str(path), None, "no row could be read; nothing written"))
    report.seconds = time.perf_counter() - start
    return report


def _row_facts(path: Path, fmt: DumpFormat, row: dict, line: int, report: IngestReport) -> float | None:
    """The row's parameter count (billions; None when unknown), reporting as rejected a size or a
    date that is there but cannot be read (the row's scores still land; the row counts as undated)."""
    text = (row.get(fmt.params_column) or "").strip()
    params = finite(text)
    if text and (params is None or params < 0):
        report.rejected.append(
            Problem(str(path), f"row {line} {fmt.params_column}", f"{text!r} is not a size in billions")
        )
        params = None
    when = (row.get(fmt.date_column) or "").strip()
    if when and row["_date"] is None:
        problem = f"cannot read {when!r} as a date (ISO 8601); the row counts as the oldest"
        report.rejected.append(Problem(str(path), f"row {line} {fmt.date_column}", problem))
    return params or None  # the dumps write 0 for an unknown size


def _ingest_frame(
    context: IngestContext, path: Path, frame: pl.DataFrame, fmt: DumpFormat, report: IngestReport
) -> int:
    """Write the dump's rows (newest per model); returns how many models it scored (0: nothing written)."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    source_id = f"leaderboard:{fmt.name}:{sha[:12]}"
    batch = context.batch()
    batch.source(
        source_id,
        "leaderboard",
        f"Open LLM Leaderboard {fmt.version[-2:]} dump {path.name}" + (" (export)" if fmt.version != fmt.name else ""),
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
        name = (row[fmt.model_column] or "").strip()
        if not name:
            report.skipped.append(Problem(str(path), f"row {line} {fmt.model_column}", "empty model name"))
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
        params = _row_facts(path, fmt, row, line, report)
        model_id = batch.model(
            model_name(name),
            source_id,
            aliases=[name],
            variant=variant_from_type(row.get(fmt.type_column)),
            params_total=params * 1e9 if params else None,
            license=row.get(fmt.license_column) or None,
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
    if kept:  # a file none of whose rows could be read leaves no empty sources row
        batch.write(report)
    return len(kept)
