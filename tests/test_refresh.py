"""The leaderboard refresh end to end, on a real database built from the registry.

The plan is cut down (baseline fitters, one cheap backtest) so the test runs in seconds; the
full default plan runs in scripts/bench/bench_refresh.py and the README's first command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import obslaws
from obslaws.cli import main

FAST_PLUGINS_ONLY = "sloth,lowrank,loss2loss,densing,forecast,example"

PLAN = """
[[ingest]]
ingestor = "lm-eval"
paths = ["results"]

[[models]]
model_id = "acme/newlm-7b"
family = "llama-2"
params = 7e9
tokens = 2e12
release_date = "2024-05-01"

[fit]
benchmarks = "oll-v1"

[backtest]
time_split = { benchmarks = "oll-v1", date = "2024-01-01" }

[report]
curve_benchmark = "mmlu"
curve_fitter = "flops-sigmoid-family"
predict_benchmarks = "oll-v1"
predict_fitter = "flops-sigmoid-family"
"""

# An Open LLM Leaderboard v1 per-model result file (the format its "details" repos hold).
NEW_MODEL_RESULTS = {
    "config_general": {"model_name": "acme/newlm-7b", "model_sha": "abc123", "lighteval_sha": "x"},
    "results": {
        "harness|arc:challenge|25": {"acc": 0.49, "acc_stderr": 0.0146, "acc_norm": 0.53, "acc_norm_stderr": 0.0145},
        "harness|hellaswag|10": {"acc": 0.58, "acc_stderr": 0.0049, "acc_norm": 0.78, "acc_norm_stderr": 0.0041},
        "harness|truthfulqa:mc|0": {"mc1": 0.25, "mc1_stderr": 0.015, "mc2": 0.39, "mc2_stderr": 0.0136},
        "harness|winogrande|5": {"acc": 0.74, "acc_stderr": 0.0123},
        "harness|gsm8k|5": {"acc": 0.14, "acc_stderr": 0.0096},
        "harness|hendrycksTest-abstract_algebra|5": {"acc": 0.30, "acc_stderr": 0.046},
        "harness|hendrycksTest-anatomy|5": {"acc": 0.48, "acc_stderr": 0.043},
    },
}


def run_cli(args: list[str], capsys) -> tuple[str, str]:
    main(args)
    captured = capsys.readouterr()
    return captured.out, captured.err


def counts(path: Path) -> dict[str, int]:
    conn = obslaws.connect(path, plugins=False)
    tables = ("models", "scores", "fits", "predictions", "backtests", "backtest_runs", "refresh_runs")
    out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    conn.close()
    return out


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", FAST_PLUGINS_ONLY)
    (tmp_path / "results").mkdir()
    (tmp_path / "plan.toml").write_text(PLAN)
    monkeypatch.setenv("OBSLAWS_DB", str(tmp_path / "refresh.duckdb"))
    obslaws.connect(tmp_path / "refresh.duckdb", plugins=False).close()  # only `obslaws init` creates one
    return tmp_path


def test_refresh_report_then_nothing_new_then_a_new_model(workspace, capsys):
    out_dir = workspace / "report"
    args = ["refresh", "--config", str(workspace / "plan.toml"), "--out", str(out_dir)]
    out, err = run_cli(args, capsys)
    assert out.startswith("Refreshed:")
    page = (out_dir / "index.md").read_text()
    assert "## Backtests" in page and "time-split" in page
    # every backtest's MAE sits inside its family-bootstrap interval
    header = next(line for line in page.splitlines() if line.startswith("| fitter") and "MAE interval" in line)
    rows = [line.split("|")[1:-1] for line in page.splitlines() if line.count("|") == header.count("|")]
    bracketed = [(float(r[1]), r[2].strip()) for r in rows if r[2].strip().startswith("[")]
    assert bracketed
    for mae, interval in bracketed:
        lower, upper = (float(x) for x in interval.strip("[]").split(","))
        assert lower <= mae <= upper
    # every fitter left here needs FLOPs, so all scored the same cells: the table gives their count
    # and no shared-cells column (tests/test_backtest_shared.py covers fitters that differ)
    columns = [c.strip() for c in header.split("|")[1:-1]]
    cells = {r[columns.index("cells")].strip() for r in rows if r[columns.index("cells")].strip().isdigit()}
    assert len(cells) == 1 and int(cells.pop()) > 0
    assert "MAE, shared cells (pt)" not in columns and "shared cells" not in page
    # beside each coverage, the mean width of the intervals behind it
    covered = [r for r in rows if _number(r[columns.index("coverage")]) is not None]
    assert covered and all(_number(r[columns.index("width (pt)")]) > 0 for r in covered)
    images = sorted(p.name for p in out_dir.glob("*.png"))
    assert "score_vs_compute.png" in images and any(n.startswith("pred_vs_actual") for n in images)
    assert all((out_dir / n).stat().st_size > 10_000 for n in images)
    assert "acme/newlm-7b: not ingested by any source yet" in err
    first = counts(workspace / "refresh.duckdb")
    assert first["fits"] >= 2 and first["refresh_runs"] == 1

    out, _ = run_cli(args, capsys)
    assert out.count("\n") == 1 and out.startswith("Nothing new since refresh")
    assert counts(workspace / "refresh.duckdb") == first

    (workspace / "results" / "results_2024-05-02.json").write_text(json.dumps(NEW_MODEL_RESULTS))
    out, _ = run_cli(args, capsys)
    assert out.startswith("Refreshed:")
    after = counts(workspace / "refresh.duckdb")
    assert after["models"] == first["models"] + 1 and after["refresh_runs"] == 2
    page = (out_dir / "index.md").read_text()
    section = page.split("## New models in this refresh", 1)[1].split("\n## ", 1)[0]
    assert "acme/newlm-7b" in section and "measured" in section
    rows = [line for line in section.splitlines() if line.startswith("| acme/newlm-7b")]
    assert len(rows) == 6  # every OLL v1 benchmark predicted
    measured = {row.split("|")[2].strip() for row in rows if row.split("|")[5].strip() not in ("", "–")}
    # MMLU stays unmeasured: the file holds 2 of its 57 subjects, too few for the aggregate
    assert measured == {"arc_challenge", "hellaswag", "truthfulqa_mc2", "winogrande", "gsm8k"}


def test_malformed_source_stops_the_refresh_and_writes_nothing(workspace, capsys):
    conn = obslaws.connect(workspace / "refresh.duckdb", plugins=False)
    conn.close()
    before = counts(workspace / "refresh.duckdb")
    (workspace / "results" / "broken.json").write_text('{"results": {"harness|arc:challenge|25": ')
    with pytest.raises(SystemExit) as info:
        main(["refresh", "--config", str(workspace / "plan.toml"), "--out", str(workspace / "report")])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("Error: malformed source") and "broken.json" in err
    assert counts(workspace / "refresh.duckdb") == before
    assert not (workspace / "report").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('predict_fitter = "flops-sigmoid-family"', 'predict_fitter = "flops-sigmod"'), "report.predict_fitter"),
        (('curve_fitter = "flops-sigmoid-family"', 'curve_fitter = "forecast"'), "report.curve_fitter"),  # disabled
        (("[report]", '[report]\npredict_fiter = "logit-svd"'), "report.predict_fiter"),
        (("[fit]", '[fit.fitters.flops-sigmoid]\nskip_protocol = ["time-split"]\n[fit]'), "fit.fitters.flops-sigmoid"),
    ],
    ids=["misspelt predict fitter", "disabled curve fitter", "misspelt report key", "misspelt fitter setting"],
)
def test_a_plan_naming_what_is_not_there_stops_the_refresh_by_name(workspace, capsys, change, field):
    """A misspelt setting or fitter would otherwise be ignored: the report's predictions or curves
    silently from another fitter, a fitter's settings not applied."""
    plan = workspace / "plan.toml"
    plan.write_text(PLAN.replace(*change))
    before = counts(workspace / "refresh.duckdb")
    with pytest.raises(SystemExit) as info:
        main(["refresh", "--config", str(plan), "--out", str(workspace / "report")])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"Error: {plan}, field '{field}") and ("registered:" in err or "takes" in err)
    assert counts(workspace / "refresh.duckdb") == before
    assert not (workspace / "report").exists()


def test_settings_of_a_fitter_not_registered_are_ignored_and_said(workspace, capsys):
    plan = workspace / "plan.toml"
    plan.write_text(PLAN.replace("[fit]", "[fit.fitters.sloth]\noptions = { restarts = 1 }\n\n[fit]"))  # disabled
    out, err = run_cli(["refresh", "--config", str(plan), "--out", str(workspace / "report")], capsys)
    assert out.startswith("Refreshed:")
    assert "[fit.fitters.sloth] ignored: no fitter 'sloth' is registered" in err


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_killed_refresh_leaves_the_database_as_it_was(workspace, stop):
    db = workspace / "refresh.duckdb"
    conn = obslaws.connect(db, plugins=False)
    from obslaws.registry import load_registry

    load_registry(conn)
    conn.close()
    before = counts(db)
    env = {**os.environ, "OBSLAWS_DB": str(db)}
    command = [
        sys.executable,
        "-m",
        "obslaws",
        "refresh",
        "--config",
        str(workspace / "plan.toml"),
        "--out",
        str(workspace / "report"),
    ]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 120
    for line in process.stderr:  # kill once fits are written and backtests are under way
        seen.append(line)
        if line.startswith("[3/5]") or time.monotonic() > deadline:
            break
    workers = _children(process.pid)
    process.send_signal(stop)
    rest = process.stderr.read()  # until the refresh has exited
    process.wait()
    if stop != signal.SIGKILL:  # unwound, its pool shut down (not left to the OS), even where DuckDB held the signal
        assert process.returncode == (130 if stop == signal.SIGINT else 128 + signal.SIGTERM), rest
        assert "leaked semaphore" not in rest, rest
        assert not (workspace / "report").exists()
    assert any(line.startswith("[3/5]") for line in seen), "".join(seen)
    assert workers, "the refresh had no worker processes"
    deadline = time.monotonic() + 30
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, workers)), "the killed refresh's workers are still running"
    assert counts(db) == before
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("Refreshed:")
    assert counts(db)["refresh_runs"] == 1


def _stat(path: Path) -> list[str]:
    """State, parent and the rest of a /proc/PID/stat line ([] once the process is gone)."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``, from /proc."""
    return {int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat") if _stat(p)[1:2] == [str(pid)]}


def _alive(pid: int) -> bool:
    return _stat(Path(f"/proc/{pid}/stat"))[:1] not in ([], ["Z"])


def test_a_refresh_reuses_fits_and_backtests_whose_inputs_did_not_change(workspace, capsys):
    plan = workspace / "plan.toml"
    args = ["refresh", "--config", str(plan), "--out", str(workspace / "report")]
    run_cli(args, capsys)
    first = counts(workspace / "refresh.duckdb")
    # A new plan (so the refresh runs) over the same data: nothing needs recomputing but the
    # fits whose fitted object the report uses.
    plan.write_text(PLAN.replace('curve_benchmark = "mmlu"', 'curve_benchmark = "arc_challenge"'))
    out, err = run_cli(args, capsys)
    assert out.startswith("Refreshed:")
    assert "flops-sigmoid: unchanged since fit" in err and "not refitted" in err
    assert "unchanged since bt-" in err and "not rerun" in err
    after = counts(workspace / "refresh.duckdb")
    assert after["backtest_runs"] == first["backtest_runs"] and after["fits"] == first["fits"]
    page = (workspace / "report" / "index.md").read_text()
    assert "time-split" in page
    out, err = run_cli([*args, "--force"], capsys)
    assert "not rerun" not in err and "not refitted" not in err


def test_the_refresh_script_help_lists_db_and_every_refresh_option():
    """The script takes --db (README runs it so) but its --help, the refresh command's, did not list it."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "leaderboard_refresh.py"
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("Usage: leaderboard_refresh.py [OPTIONS]")
    for option in (
        "--db FILE",
        "--config FILE",
        "--out DIRECTORY",
        "--force",
        "--quiet",
        "--workers",
        "--allow-skips",
        "-h, --help",
    ):
        assert option in done.stdout, option
    assert "$OBSLAWS_DB" in done.stdout


def _number(text: str) -> float | None:
    """A report cell's number, None for an empty one ("–")."""
    try:
        return float(text)
    except ValueError:
        return None
