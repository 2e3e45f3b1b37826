"""``obslaws eval --ray``: real lm-eval runs of tiny local models as Ray tasks on one local Ray.

One Ray session (1 CPU: one worker process to start per job, loopback only) serves the whole
module: Ray and each worker (importing torch and lm-eval) start slowly on 2 cores.
Every run is compared row for row with the single-process run of the same cells.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from obslaws.evaluate.distributed import LOOPBACK_ONLY

os.environ.setdefault(LOOPBACK_ONLY, "0")  # before Ray is imported: see obslaws.evaluate.distributed
ray = pytest.importorskip("ray")

import obslaws  # noqa: E402
from obslaws.evaluate import local  # noqa: E402
from obslaws.evaluate.cells import EvalOptions  # noqa: E402
from obslaws.evaluate.distributed import RayOptions, run_eval_ray  # noqa: E402
from obslaws.evaluate.tiny import TASKS, WIDTHS  # noqa: E402
from obslaws.ingest.context import IngestContext  # noqa: E402
from obslaws.store.integrity import check_integrity  # noqa: E402

TABLES = ("sources", "families", "benchmarks", "models", "model_aliases", "scores", "losses", "eval_runs", "eval_cache")
CELL_TITLE = "ray::evaluate_cell"  # Ray's process title for a worker running a cell


@pytest.fixture(scope="module")
def cluster():
    """A local Ray for the module; its GCS address lets a second driver (a subprocess) join it."""
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def models(tiny) -> list[str]:
    return [str(tiny[f"neox-{w}"]) for w in WIDTHS]


@pytest.fixture(scope="module")
def options(tiny) -> EvalOptions:
    return EvalOptions(batch_size=4, include_path=str(tiny["tasks"]), include_defaults=False)


def rows(conn) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that hold the time of writing.

    A model row names as its source the first of its cells stored, and cells finish in any
    order under Ray: that source is checked to be one of the model's own cells instead.
    """
    orphans = conn.execute(
        "SELECT model_id FROM models m WHERE NOT EXISTS "
        "(SELECT 1 FROM eval_cache c WHERE c.model_id = m.model_id AND c.source_id = m.source_id)"
    ).fetchall()
    assert orphans == [], f"model rows whose source is not one of their cells: {orphans}"
    out = {}
    for table in TABLES:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND data_type NOT LIKE 'TIMESTAMP%' AND data_type <> 'DATE' ORDER BY ordinal_position",
            [table],
        ).fetchall()
        names = ", ".join(f'"{c[0]}"' for c in columns if (table, c[0]) != ("models", "source_id"))
        out[table] = sorted(conn.execute(f"SELECT {names} FROM {table}").fetchall(), key=repr)
    return out


def assert_same_rows(conn, reference: dict[str, list[tuple]]) -> None:
    got = rows(conn)
    for table in TABLES:
        extra = [r for r in got[table] if r not in reference[table]]
        missing = [r for r in reference[table] if r not in got[table]]
        assert got[table] == reference[table], f"{table}: extra {extra[:2]}, missing {missing[:2]}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models, options) -> dict[str, list[tuple]]:
    """The single-process run of 3 checkpoints x 2 tasks."""
    conn = obslaws.connect(tmp_path_factory.mktemp("reference") / "single.duckdb", plugins=False)
    context = IngestContext(conn)
    for model in models:
        report = local.run_eval(
            context, model, TASKS, batch_size=4, include_path=options.include_path, include_defaults=False,
            family="tiny",
        )  # fmt: skip
        assert report.extra["evaluated"] == list(TASKS)
    snapshot = rows(conn)
    conn.close()
    assert len(snapshot["eval_cache"]) == 6 and len(snapshot["scores"]) == 6
    return snapshot


def _run(conn, models, options, **kwargs):
    return run_eval_ray(IngestContext(conn), models, TASKS, options, family="tiny", **kwargs)


def test_ray_writes_the_rows_of_the_single_process_run(cluster, models, options, reference, tmp_path):
    broken = tmp_path / "tiny-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    conn = obslaws.connect(tmp_path / "ray.duckdb", plugins=False)
    report = _run(conn, [*models, str(broken)], options)
    assert sorted(report.extra["evaluated"]) == sorted(f"{m} {t}" for m in models for t in TASKS)
    # The broken checkpoint's two cells are reported with model, task and the worker's error.
    assert sorted(f.split(":")[0] for f in report.extra["failed"]) == [f"{broken} {t}" for t in TASKS]
    assert all(f.count(": ") >= 2 for f in report.extra["failed"]), report.extra["failed"]
    assert_same_rows(conn, reference)
    check_integrity(conn)  # raises on a duplicated key or a dangling reference

    again = _run(conn, models, options)
    assert again.extra["evaluated"] == [] and len(again.extra["cached"]) == 6
    assert_same_rows(conn, reference)
    conn.close()


def _kill_first_cell(killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the first worker seen running a cell (its process title names the task's function)."""
    import psutil

    while not stop.is_set():
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if cmdline and cmdline[0].startswith(CELL_TITLE):
                os.kill(proc.info["pid"], signal.SIGKILL)
                killed.append(proc.info["pid"])
                return
        time.sleep(0.05)


def test_a_worker_killed_mid_cell_is_retried_and_nothing_is_duplicated(cluster, models, options, reference, tmp_path):
    conn = obslaws.connect(tmp_path / "killed.duckdb", plugins=False)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_cell, args=(killed, stop), daemon=True)
    killer.start()
    try:
        report = _run(conn, models, options, ray_options=RayOptions(max_retries=2))
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen running a cell"
    assert report.extra["failed"] == [] and len(report.extra["evaluated"]) == 6
    assert_same_rows(conn, reference)  # sorted row lists: a row stored twice would show
    check_integrity(conn)
    conn.close()


def test_a_killed_driver_leaves_whole_cells_and_the_rerun_finishes_the_rest(
    cluster, models, options, reference, tmp_path
):
    db = tmp_path / "driver.duckdb"
    obslaws.connect(db, plugins=False).close()  # only `obslaws init` creates a database
    command = [sys.executable, "-m", "obslaws", "--db", str(db), "eval", *models, "--tasks", ",".join(TASKS)]
    command += ["--include-path", options.include_path, "--only-included", "--batch-size", "4", "--family", "tiny"]
    command += ["--ray", cluster, "--no-progress"]
    log = tmp_path / "driver.err"
    with log.open("w") as err:
        driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        for line in driver.stdout:  # the driver prints a line per stored cell
            if line.startswith("stored "):
                driver.send_signal(signal.SIGKILL)
                break
        driver.wait(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == -signal.SIGKILL, log.read_text()[-3000:]

    conn = obslaws.connect(db, plugins=False)
    done = conn.execute("SELECT model_id, task FROM eval_cache").fetchall()
    assert 1 <= len(done) < 6, done
    # Only whole cells: every stored cell has its run, scores or losses, and nothing else is there.
    assert conn.execute("SELECT count(*) FROM eval_runs").fetchone()[0] == len(done)
    check_integrity(conn)

    report = _run(conn, models, options)
    assert len(report.extra["cached"]) == len(done) and len(report.extra["evaluated"]) == 6 - len(done)
    assert_same_rows(conn, reference)
    conn.close()


def _cli_exit(args: list[str], capsys) -> tuple[int, str]:
    from obslaws.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr().err


def test_bad_ray_runs_fail_before_ray_starts(models, options, tmp_path, capsys):
    obslaws.connect(tmp_path / "x.duckdb", plugins=False).close()
    start = ["--db", str(tmp_path / "x.duckdb"), "eval", *models[:2]]
    rest = ["--tasks", "tiny_mc", "--include-path", options.include_path, "--only-included"]
    base = start + rest
    # A model folder after --ray was taken as its address: refused, not joined.
    code, err = _cli_exit([*start, "--ray", models[2], *rest], capsys)
    assert code == 2 and "not a Ray address" in err, err
    code, err = _cli_exit([*base, "--model-id", "one", "--ray"], capsys)
    assert code == 2 and "--model-id" in err, err
    code, err = _cli_exit([*base, "--backend", "vllm", "--ray"], capsys)
    assert code == 1 and "--backend vllm runs on a GPU only" in err, err


def test_several_gpus_per_model_split_it():
    from obslaws.evaluate.cells import model_args

    assert model_args("m", "step1", EvalOptions(backend="vllm", gpus_per_model=2)) == (
        "pretrained=m,revision=step1,gpu_memory_utilization=0.8,tensor_parallel_size=2"
    )
    assert model_args("m", None, EvalOptions(gpus_per_model=4)) == "pretrained=m,parallelize=True"
    assert model_args("m", None, EvalOptions()) == "pretrained=m"


def test_the_only_model_after_ray_is_refused_as_an_address(tmp_path, capsys):
    """`eval --ray CKPT --tasks t` said "Missing argument 'MODEL...'": the refusal now comes first."""
    obslaws.connect(tmp_path / "x.duckdb", plugins=False).close()
    (tmp_path / "ckpt").mkdir()
    code, err = _cli_exit(
        ["--db", str(tmp_path / "x.duckdb"), "eval", "--ray", str(tmp_path / "ckpt"), "--tasks", "t"], capsys
    )
    assert code == 2 and "not a Ray address" in err and "Missing argument" not in err, err
