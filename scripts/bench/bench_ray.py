"""The driver's cost per cell under ``obslaws eval --ray``, against the single-process run.

Run: .venv/bin/python scripts/bench/bench_ray.py [--copies 4] [--num-cpus 2]

Tiny local checkpoints (three GPT-NeoX widths, each copied ``--copies`` times under other
names) x two local tasks, evaluated on CPU into fresh databases in this process: first the
single-process runner, then a local Ray. Both are warmed first (lm-eval imported, Ray's
workers started), so the timed runs compare steady states. Reported: Ray's start-up; wall
seconds per cell of each; the Ray driver's busy seconds per cell (planning, submitting,
receiving and writing: the work the one writer does, which bounds throughput at
1 / busy cells per second); and the single-process run's own writing per cell, as ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="obslaws-hf-"))

import obslaws  # noqa: E402
from obslaws.evaluate import local  # noqa: E402
from obslaws.evaluate.cells import EvalOptions  # noqa: E402
from obslaws.evaluate.distributed import RayOptions, connect, import_ray, run_eval_ray  # noqa: E402
from obslaws.evaluate.tiny import TASKS, WIDTHS, build_tiny  # noqa: E402
from obslaws.ingest.context import IngestContext  # noqa: E402


def checkpoints(root: Path, copies: int) -> tuple[list[str], Path]:
    """``copies`` differently named copies of each tiny width, and the task folder."""
    tiny = build_tiny(root / "tiny")
    models = []
    for copy in range(copies):
        for width in WIDTHS:
            target = root / f"tiny-neox-{width}-c{copy}"
            shutil.copytree(tiny[f"neox-{width}"], target)
            models.append(str(target))
    return models, tiny["tasks"]


def single_process(db: Path, models: list[str], options: EvalOptions) -> tuple[float, float, float]:
    """Wall seconds of the single-process run, and the wall and CPU seconds it spent writing cells."""
    writing = writing_cpu = 0.0
    store = local.store_cell

    def timed_store(*args, **kwargs) -> None:  # noqa: ANN002, ANN003 - store_cell's own arguments
        nonlocal writing, writing_cpu
        tick, tick_cpu = time.perf_counter(), time.process_time()
        store(*args, **kwargs)
        writing += time.perf_counter() - tick
        writing_cpu += time.process_time() - tick_cpu

    local.store_cell = timed_store
    try:
        conn = obslaws.connect(db, plugins=False)
        context = IngestContext(conn)
        start = time.perf_counter()
        for model in models:
            local.run_eval(
                context, model, TASKS, batch_size=4, include_path=options.include_path, include_defaults=False,
                family="tiny",
            )  # fmt: skip
        wall = time.perf_counter() - start
        conn.close()
    finally:
        local.store_cell = store
    return wall, writing, writing_cpu


def on_ray(db: Path, models: list[str], options: EvalOptions) -> tuple[float, float, float]:
    """Wall seconds of the Ray run (Ray already started), and the driver's busy wall and CPU seconds."""
    conn = obslaws.connect(db, plugins=False)
    start = time.perf_counter()
    report = run_eval_ray(IngestContext(conn), models, TASKS, options, family="tiny")
    wall = time.perf_counter() - start
    assert not report.extra["failed"], report.extra["failed"]
    conn.close()
    return wall, report.extra["driver_seconds"], report.extra["driver_cpu_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="Copies of each of the 3 widths (cells = 6 x copies).")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        models, tasks = checkpoints(root, args.copies)
        options = EvalOptions(batch_size=4, include_path=str(tasks), include_defaults=False)
        cells = len(models) * len(TASKS)
        single_process(root / "warm-single.duckdb", models[:1], options)
        start = time.perf_counter()
        connect(RayOptions(num_cpus=args.num_cpus))
        ray_start = time.perf_counter() - start
        on_ray(root / "warm-ray.duckdb", models[: args.num_cpus], options)  # starts and warms the workers
        single_wall, single_writing, single_cpu = single_process(root / "single.duckdb", models, options)
        ray_wall, driver, driver_cpu = on_ray(root / "ray.duckdb", models, options)
        import_ray(None).shutdown()
    load = os.getloadavg()[0]
    print(f"{cells} cells ({len(models)} tiny checkpoints x {len(TASKS)} tasks), CPU; load average {load:.1f}")
    print(f"Ray start-up (local, {args.num_cpus} CPUs): {ray_start:.1f} s")
    print(
        f"single process: {single_wall:.1f} s, {single_wall / cells:.3f} s/cell; writing {single_writing / cells:.3f} s"
        f" ({single_cpu / cells:.3f} s CPU) per cell"
    )
    print(f"Ray, warm workers: {ray_wall:.1f} s, {ray_wall / cells:.3f} s/cell (ratio {ray_wall / single_wall:.2f})")
    print(
        f"Ray driver busy per cell (target < 1 s): {driver / cells:.3f} s ({driver / single_writing:.2f}x the single"
        f" process's writing), {driver_cpu / cells:.3f} s CPU ({driver_cpu / single_cpu:.2f}x); "
        f"one writer stores up to {cells / driver:.1f} cells/s"
    )


if __name__ == "__main__":
    main()
