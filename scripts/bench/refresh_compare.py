"""Compare two refreshes kept by ``bench_refresh.py --keep``: everything but the timings must match.

Run: .venv/bin/python scripts/bench/refresh_compare.py DIR_A DIR_B  (exit status 1 on a difference)

Compared: every fit (id, fitter, version, hyperparameters, data hash, learned parameters), every
backtest run (id, options, summary less its duration) and cell, every stored prediction,
predictions.csv, and the report's page with its date and timing lines left out.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import duckdb
import polars as pl

# Columns that hold timings or timestamps, so may differ between two runs of the same refresh.
TIMING_COLUMNS = {"created_at", "duration_s", "finished_at", "started_at"}
TABLES = {
    "fits": "fit_id",
    "backtest_runs": "backtest_id",
    "backtests": "backtest_id, split, model_id, benchmark",
    "predictions": "fit_id, model_id, benchmark",
}


def _table(path: Path, table: str, order: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as conn:
        frame = conn.sql(f"SELECT * FROM {table} ORDER BY {order}").pl()
    frame = frame.drop([c for c in frame.columns if c in TIMING_COLUMNS])
    if "summary" in frame.columns:  # the summary JSON carries the run's duration too
        frame = frame.with_columns(pl.col("summary").map_elements(_without_duration, return_dtype=pl.String))
    return frame


def _without_duration(text: str) -> str:
    summary = json.loads(text)
    summary.pop("duration_s", None)
    return json.dumps(summary, sort_keys=True)


def _page(path: Path) -> list[str]:
    """The report page without its date line and its timing lines (step table, per-job seconds)."""
    lines = (path / "report" / "index.md").read_text(encoding="utf-8").splitlines()
    if "## Timing" in lines:
        lines = lines[: lines.index("## Timing")]
    lines = [line for line in lines if not line.startswith("Refresh `")]
    return [_cells(re.sub(r"\b\d+\.\d s\b", "<s>", line)) for line in lines]


def _cells(line: str) -> str:
    """A markdown table row without the padding that the width of its timing column sets."""
    if not line.startswith("|"):
        return line
    return "|".join("-" if set(c.strip()) <= set(":-") and c.strip() else c.strip() for c in line.split("|"))


def compare_kept(a: Path, b: Path) -> bool:
    """Print each difference between the two kept refreshes; True when there is none."""
    same = True
    for table, order in TABLES.items():
        left, right = _table(a / "refresh.duckdb", table, order), _table(b / "refresh.duckdb", table, order)
        if left.equals(right):
            print(f"{table}: identical ({left.height} rows)")
            continue
        same = False
        print(f"{table}: DIFFERENT ({left.height} vs {right.height} rows)")
        if left.columns == right.columns and left.height == right.height:
            for column in left.columns:
                if not left[column].equals(right[column]):
                    print(f"  column {column} differs in {int((left[column] != right[column]).sum())} rows")
    csv_a, csv_b = (p / "report" / "predictions.csv" for p in (a, b))
    if csv_a.exists() and csv_a.read_bytes() == csv_b.read_bytes():
        print("predictions.csv: identical")
    else:
        same = False
        print("predictions.csv: DIFFERENT or missing")
    page_a, page_b = _page(a), _page(b)
    if page_a == page_b:
        print(f"report page (less date and timings): identical ({len(page_a)} lines)")
    else:
        same = False
        diff = [(x, y) for x, y in zip(page_a, page_b, strict=False) if x != y]
        print(f"report page: DIFFERENT ({len(diff)} lines; lengths {len(page_a)} vs {len(page_b)})")
        for x, y in diff[:10]:
            print(f"  - {x}\n  + {y}")
    return same


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(0 if compare_kept(Path(sys.argv[1]), Path(sys.argv[2])) else 1)
