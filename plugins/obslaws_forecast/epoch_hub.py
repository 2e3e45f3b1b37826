"""Epoch AI's benchmark hub (benchmark stitching, 2025-12) as a FitData for the cell hold-out.

The hub's own runs (``benchmarks_runs.csv``: GPQA diamond, MATH level 5, FrontierMath, ...) and
its external tables (``external_benchmark_*.csv``: MMLU, GSM8K, ARC, LiveBench, ...), one score
column per table, keyed by the hub's model version ids; release dates from ``model_versions.csv``.
Several rows for one (model, benchmark) (shots, scaffolds) are averaged. Only tables whose score
is a share in [0, 1] are read (not Elo ratings, time horizons or 1-10 grades). Read by the
benchmark script and tests, never stored: the registry is what the database holds.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from obslaws.data import FitData
from obslaws.errors import ValidationError

# external table -> its headline score column (a percentage or a share)
EXTERNAL_SCORES = {
    "aider_polyglot": "Percent correct",
    "anli": "Score",
    "arc_agi": "Score",
    "arc_ai2": "Challenge score",
    "balrog": "Average progress",
    "bbh": "Average",
    "boolq": "Score",
    "cadeval": "Overall pass (%)",
    "csqa2": "Score",
    "cybench": "Unguided % Solved",
    "deepresearch": "Average score",
    "geobench": "ACW Country %",
    "gsm8k": "EM",
    "gso_bench": "Score OPT@1",
    "hellaswag": "Overall accuracy",
    "lambada": "Score",
    "livebench": "Global average",
    "mmlu": "EM",
    "openbookqa": "Accuracy",
    "os_world": "Score",
    "piqa": "Score",
    "scienceqa": "Score",
    "simple_bench": "Score (AVG@5)",
    "superglue": "Score",
    "terminal_bench": "Accuracy mean",
    "the_agent_company": "% Score",
    "triviaqa": "EM",
    "videomme": "Overall (no subtitles)",
    "vpct": "Correct",
    "weirdml": "Accuracy",
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str, path: Path, row: int, field: str) -> float | None:
    text = (text or "").strip().rstrip("%").replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationError(str(path), row, field, f"not a number: {text!r}") from None


def _slug(text: str) -> str:
    return "epoch_" + "".join(c if c.isalnum() else "_" for c in text.strip().lower()).strip("_")


def _table(path: Path, model_field: str, score_field: str, benchmark: str) -> list[dict]:
    """Scores of one table as shares; ``benchmark`` names it, or ``column:NAME`` takes it per row."""
    rows = _rows(path)
    task_field = benchmark.removeprefix("column:") if benchmark.startswith("column:") else None
    needed = [model_field, score_field] + ([task_field] if task_field else [])
    if rows and any(f not in rows[0] for f in needed):
        raise ValidationError(str(path), 1, score_field, f"column missing (need {needed})")
    values = []
    for line, row in enumerate(rows, start=2):
        value = _number(row[score_field], path, line, score_field)
        if row[model_field].strip() and value is not None:
            name = _slug(row[task_field]) if task_field else benchmark
            values.append((line, row[model_field].strip(), name, value))
    percent = any(v > 1.0 for *_, v in values)
    out = []
    for line, model, name, value in values:
        share = value / 100.0 if percent else value
        if not 0.0 <= share <= 1.0:
            raise ValidationError(str(path), line, score_field, f"score {value} is not a share or a percentage")
        out.append({"model_id": model, "benchmark": name, "value": share})
    return out


def load_hub(folder: str | Path) -> FitData:
    """Every model version with a score as a FitData (targets: every benchmark)."""
    folder = Path(folder)
    if not (folder / "model_versions.csv").exists():
        raise ValidationError(str(folder / "model_versions.csv"), None, None, "Epoch benchmark hub export not found")
    records = _table(folder / "benchmarks_runs.csv", "model", "Best score (across scorers)", "column:task")
    for name, column in EXTERNAL_SCORES.items():
        path = folder / f"external_benchmark_{name}.csv"
        if path.exists():
            records += _table(path, "Model version", column, _slug(name))
    scores = (
        pl.DataFrame(records, schema={"model_id": pl.String, "benchmark": pl.String, "value": pl.Float64})
        .group_by(["model_id", "benchmark"])
        .agg(pl.col("value").mean())
        .sort(["model_id", "benchmark"])
    )
    versions = pl.DataFrame(_rows(folder / "model_versions.csv")).select(
        pl.col("id").str.strip_chars().alias("model_id"),
        pl.col("Model").str.strip_chars().alias("family"),
        pl.col("Version release date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("release_date"),
    )
    models = (
        scores.select("model_id")
        .unique()
        .join(versions.unique("model_id"), on="model_id", how="left")
        .with_columns(pl.col("family").fill_null(pl.col("model_id")))
        .sort("model_id")
    )
    names = sorted(scores["benchmark"].unique().to_list())
    benchmarks = pl.DataFrame({"benchmark": names, "chance": [0.0] * len(names)})
    return FitData.build(models, scores, None, benchmarks, targets=names)
