"""Time `obslaws init` on the full registry, and bulk-load throughput against a naive row-by-row insert.

Run: .venv/bin/python scripts/bench/bench_init.py [--repeat 3]

Both loads write the same rows into fresh databases in the same process, so the ratio is what
the bulk (Arrow + set-based upsert) path buys over one INSERT statement per row.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import obslaws
from obslaws.registry import TABLES, load_registry, read_registry
from obslaws.store.upsert import declared_keys


def time_init(repeat: int) -> tuple[float, int]:
    """Median wall time of a full init into a new file, and the number of rows it loads."""
    times, rows = [], 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            conn = obslaws.connect(Path(tmp) / "bench.duckdb", plugins=False)
            report = load_registry(conn)
            conn.close()
            times.append(time.perf_counter() - start)
            rows = sum(s.added for s in report.tables.values())
    return statistics.median(times), rows


def time_reinit() -> float:
    """A second init on a loaded file (nothing changes): the idempotency check's cost."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "bench.duckdb", plugins=False)
        load_registry(conn)
        start = time.perf_counter()
        load_registry(conn)
        return time.perf_counter() - start


def naive_rows_per_second(sample: int) -> tuple[float, int]:
    """One INSERT per row (what a hand-written loader does), on the first `sample` rows of each table."""
    frames = read_registry()
    with tempfile.TemporaryDirectory() as tmp:
        conn = obslaws.connect(Path(tmp) / "naive.duckdb", plugins=False)
        count = 0
        start = time.perf_counter()
        # scores and losses have no PRIMARY KEY for OR REPLACE to act on (migration 009): plain INSERT.
        unkeyed = set(declared_keys(conn))
        conn.execute("BEGIN TRANSACTION")
        for table in TABLES:
            frame = frames[table] if table in ("sources", "families", "benchmarks") else frames[table].head(sample)
            columns = ", ".join(frame.columns)
            marks = ", ".join("?" for _ in frame.columns)
            verb = "INSERT" if table in unkeyed else "INSERT OR REPLACE"
            for row in frame.iter_rows():
                conn.execute(f"{verb} INTO {table} ({columns}) VALUES ({marks})", list(row))
                count += 1
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return count / elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=1500, help="rows per table for the naive insert")
    args = parser.parse_args()
    seconds, rows = time_init(args.repeat)
    reinit = time_reinit()
    naive_rate, naive_rows = naive_rows_per_second(args.naive_sample)
    bulk_rate = rows / seconds
    print(f"init (full registry, new file): {seconds:.2f} s median of {args.repeat}, {rows:,} rows")
    print(f"re-init (nothing changes):      {reinit:.2f} s")
    print(f"bulk load:  {bulk_rate:,.0f} rows/s (validation + upserts + integrity check included)")
    print(f"naive load: {naive_rate:,.0f} rows/s (one INSERT per row, {naive_rows:,} rows)")
    print(f"ratio bulk/naive: {bulk_rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
