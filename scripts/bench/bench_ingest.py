"""Throughput of `obslaws ingest lm-eval` on many result files, against a naive baseline.

Generates N result files (default 10,000) into a temporary folder: copies of the real Pythia,
OPT and BLOOM lm-evaluation-harness files in ../shared/data/pythia-evals/raw/, each under a
distinct model name (``model_args`` rewritten). Then, in the same process:

- obslaws: :func:`obslaws.ingest.lm_eval_ingest.ingest_lm_eval` into a fresh database file
  (parse in Python, one upsert per table per batch of files), then a second ingest of the same
  files (idempotent: nothing added);
- baseline: the naive way, one ``INSERT`` per metric (``executemany`` is not used), into a
  fresh database with the same schema, on the first ``--baseline-files`` files (it is slow).

Both figures are files per second on this machine; the ratio is what to compare.

    .venv/bin/python scripts/bench/bench_ingest.py [--files 10000] [--baseline-files 200]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from obslaws.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
RAW = shared_data_dir() / "pythia-evals" / "raw"


def generate(target: Path, count: int) -> list[Path]:
    """``count`` copies of the real files, model names made distinct (``...-copy00042``)."""
    sources = sorted(RAW.rglob("*.json"))
    if not sources:
        sys.exit(f"no result files under {RAW}")
    texts = [p.read_text() for p in sources]
    out = []
    for i in range(count):
        text = texts[i % len(texts)]
        text = re.sub(r"pretrained=([^,\"]+)", lambda m, i=i: f"pretrained={m.group(1)}-copy{i:05d}", text, count=1)
        path = target / f"{i // 1000:02d}" / f"results_{i:05d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out.append(path)
    return out


def naive(db: Path, files: list[Path]) -> float:
    """One INSERT per metric (and per model/source), in one transaction: the obvious first version."""
    import obslaws

    conn = obslaws.connect(db, plugins=False)
    start, cpu0 = time.perf_counter(), _cpu()
    conn.execute("BEGIN TRANSACTION")
    for path in files:
        data = json.loads(path.read_text())
        args = dict(p.split("=", 1) for p in data["config"]["model_args"].split(",") if "=" in p)
        model = args["pretrained"] + ("@" + args["revision"] if "revision" in args else "")
        source = f"naive:{path.name}"
        conn.execute(
            "INSERT OR IGNORE INTO sources (source_id, kind, citation) VALUES (?, 'lm_eval_run', ?)", [source, source]
        )
        conn.execute("INSERT OR IGNORE INTO families (family, family_group) VALUES ('naive', 'naive')")
        conn.execute(
            "INSERT OR IGNORE INTO models (model_id, family, variant, source_id) VALUES (?, 'naive', 'base', ?)",
            [model, source],
        )
        shots = data["config"].get("num_fewshot") or 0
        for task, metrics in data["results"].items():
            conn.execute(
                "INSERT OR IGNORE INTO benchmarks (benchmark, metric, n_shots, chance) VALUES (?, 'acc', ?, 0)",
                [task, shots],
            )
            for metric, value in metrics.items():
                if metric.endswith("_stderr"):
                    continue
                stderr = metrics.get(metric + "_stderr")
                # Plain INSERT: scores and losses have no PRIMARY KEY for OR REPLACE to act on
                # (migration 009), and each file's (task, metric) pairs are distinct.
                if 0 <= value <= 1:
                    conn.execute(
                        "INSERT INTO scores (model_id, benchmark, metric, n_shots, value, stderr, source_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [model, task, metric, shots, value, stderr, source],
                    )
                else:
                    conn.execute(
                        "INSERT INTO losses (model_id, dataset, value, unit, source_id) VALUES (?, ?, ?, ?, ?)",
                        [model, task, value, metric, source],
                    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    print(f"    naive CPU time {_cpu() - cpu0:.2f} s for {len(files)} files")
    conn.close()
    return elapsed


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--baseline-files", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()

    import obslaws
    from obslaws.ingest.context import IngestContext
    from obslaws.ingest.lm_eval_ingest import ingest_lm_eval

    tmp = Path(tempfile.mkdtemp(prefix="obslaws-bench-"))
    try:
        t0 = time.perf_counter()
        files = generate(tmp / "files", args.files)
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"generated {len(files)} files ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")

        conn = obslaws.connect(tmp / "obslaws.duckdb", plugins=False)
        t0, cpu0 = time.perf_counter(), _cpu()
        report = ingest_lm_eval(IngestContext(conn), [tmp / "files"], batch_size=args.batch_size)
        fast, cpu = time.perf_counter() - t0, _cpu() - cpu0
        rows = sum(s.added for s in report.tables.values())
        print(f"obslaws ingest: {report.files} files, {rows} rows in {fast:.2f} s = {report.files / fast:,.0f} files/s")
        # CPU seconds of all this process's threads (DuckDB's too): less sensitive to a shared machine.
        print(f"    CPU time {cpu:.2f} s = {report.files / cpu:,.0f} files per CPU-second")
        for line in report.lines()[:-1]:
            print("   ", line)
        t0 = time.perf_counter()
        again = ingest_lm_eval(IngestContext(conn), [tmp / "files"], batch_size=args.batch_size)
        second = time.perf_counter() - t0
        print(
            f"second ingest (idempotent): {again.added} added, {again.updated} updated in {second:.2f} s "
            f"= {again.files / second:,.0f} files/s"
        )
        conn.close()

        subset = files[: args.baseline_files]
        slow = naive(tmp / "naive.duckdb", subset)
        print(f"naive baseline: {len(subset)} files in {slow:.2f} s = {len(subset) / slow:,.1f} files/s")
        print(f"speed-up (files/s, obslaws / naive): {(report.files / fast) / (len(subset) / slow):,.0f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
