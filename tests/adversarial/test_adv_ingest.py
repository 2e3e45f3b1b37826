"""Hostile and malformed inputs to the ingestors: each is named, contained, and nothing impossible is stored.

Every input here is generated in the test (cheap: a 100,000-deep JSON array is 200 kB, a file
with 200,000 task names 6 MB) and read by the real parsers into a real DuckDB file.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import obslaws
from obslaws.ingest.cards import ingest_cards
from obslaws.ingest.context import IngestContext
from obslaws.ingest.guards import BenchmarkBudget
from obslaws.ingest.leaderboard import ingest_leaderboard
from obslaws.ingest.lm_eval_ingest import ingest_lm_eval

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "lm_eval" / "lm_eval_0.4.13_tiny-64.json"


def results_file(path: Path, results: dict, pretrained: str = "acme/adv-1b") -> Path:
    """A minimal lm-eval 0.4 results file."""
    data = {"results": results, "config": {"model_args": f"pretrained={pretrained}"}, "lm_eval_version": "0.4.13"}
    path.write_text(json.dumps(data))
    return path


def count(conn, sql: str) -> int:
    return conn.execute(sql).fetchall()[0][0]


# -- item 1: one guarded parse -----------------------------------------------------------------


def test_deeply_nested_and_undecodable_files_are_skipped_by_name_and_the_rest_lands(tmp_path, conn):
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy(TINY, folder / "good.json")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "latin1.json").write_bytes(b'{"results": {"caf\xe9": {"acc": 0.5}}}')
    report = ingest_lm_eval(IngestContext(conn), [folder])
    problems = {Path(p.file).name: p.problem for p in report.skipped}
    assert set(problems) == {"deep.json", "latin1.json"}
    assert "nested too deeply" in problems["deep.json"]
    assert "UTF-8" in problems["latin1.json"] or "JSON" in problems["latin1.json"]
    assert report.files == 1
    assert count(conn, "SELECT count(*) FROM scores") == 2  # good.json's tiny_mc acc and acc_norm


def test_cli_exit_status_is_1_when_a_file_is_skipped_and_0_with_allow_skips(tmp_path, db_file, capsys, cli):
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy(TINY, folder / "good.json")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert cli(["--db", str(db_file), "ingest", "lm-eval", str(folder), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "deep.json: nested too deeply" in captured.out and "exit status 1" in captured.err
    assert cli(["--db", str(db_file), "ingest", "lm-eval", str(folder), "--no-progress", "--allow-skips"]) == 0
    (folder / "good.json").unlink()
    # Every input skipped: non-zero whatever --allow-skips says.
    assert cli(["--db", str(db_file), "ingest", "lm-eval", str(folder), "--no-progress", "--allow-skips"]) == 1


# -- item 3: a cap on new benchmarks ------------------------------------------------------------


def test_a_file_with_200000_task_names_adds_no_benchmark(tmp_path, conn):
    path = results_file(tmp_path / "many.json", {f"task_{i}": {"acc,none": 0.5} for i in range(200_000)})
    before = count(conn, "SELECT count(*) FROM benchmarks")
    report = ingest_lm_eval(IngestContext(conn), [path])
    assert [p.file for p in report.skipped] == [str(path)]
    assert "200,000 new benchmarks" in report.skipped[0].problem
    assert "--max-new-benchmarks-per-file" in report.skipped[0].problem
    assert count(conn, "SELECT count(*) FROM benchmarks") == before
    assert count(conn, "SELECT count(*) FROM sources") == 0


def test_the_caps_per_file_and_per_run_can_be_raised(tmp_path, conn, db_file, cli):
    first = results_file(tmp_path / "a.json", {f"a_{i}": {"acc,none": 0.5} for i in range(30)})
    second = results_file(tmp_path / "b.json", {f"b_{i}": {"acc,none": 0.5} for i in range(30)}, "acme/adv-2b")
    report = ingest_lm_eval(IngestContext(conn), [first, second], budget=BenchmarkBudget(per_file=40, per_run=50))
    assert report.files == 1 and [p.file for p in report.skipped] == [str(second)]
    assert "past the 50 one ingest may add" in report.skipped[0].problem
    args = ["--db", str(db_file), "ingest", "lm-eval", str(first), str(second), "--no-progress"]
    assert cli([*args, "--max-new-benchmarks-per-file", "20"]) == 1
    assert cli([*args, "--max-new-benchmarks-per-file", "40", "--max-new-benchmarks", "60"]) == 0
    conn = obslaws.connect(db_file, plugins=False)
    assert count(conn, "SELECT count(*) FROM benchmarks WHERE regexp_matches(benchmark, '^[ab]_[0-9]+$')") == 60
    conn.close()


# -- item 4: values validated by unit and range --------------------------------------------------


def test_impossible_values_are_rejected_per_file_and_key_and_never_stored(tmp_path, conn):
    path = tmp_path / "bad_values.json"
    path.write_text(
        '{"results": {"t_pct": {"acc,none": 85.1}, "t_neg": {"acc,none": -0.2}, "t_nan": {"acc,none": NaN},'
        ' "t_inf": {"acc,none": Infinity}, "t_str": {"acc,none": "0.5"}, "t_list": {"acc,none": [0.5]},'
        ' "t_se": {"acc,none": 0.4, "acc_stderr,none": -0.01}, "t_ok": {"acc,none": 0.6, "acc_stderr,none": "N/A"},'
        ' "t_bleu": {"bleu,none": 31.5}, "t_ppl": {"word_perplexity,none": 804.1}},'
        ' "config": {"model_args": "pretrained=acme/adv-1b"}, "lm_eval_version": "0.4.13"}'
    )
    report = ingest_lm_eval(IngestContext(conn), [path])
    assert report.files == 1 and not report.skipped
    rejected = {p.key: p.problem for p in report.rejected}
    assert set(rejected) == {f"results.t_{t}.acc,none" for t in ("pct", "neg", "nan", "inf", "str", "list", "se")}
    assert all(p.file == str(path) for p in report.rejected)
    assert "outside [0, 1]" in rejected["results.t_pct.acc,none"]
    assert "not finite" in rejected["results.t_nan.acc,none"]
    assert "written as text" in rejected["results.t_str.acc,none"]
    assert "a list" in rejected["results.t_list.acc,none"]
    assert "stderr" in rejected["results.t_se.acc,none"]
    assert conn.execute("SELECT benchmark, value, stderr FROM scores").fetchall() == [("t_ok", 0.6, None)]
    losses = sorted(conn.execute("SELECT dataset, unit, value FROM losses").fetchall())
    assert losses == [("t_bleu", "bleu", 31.5), ("t_ppl", "word_perplexity", 804.1)]  # declared, not fractions
    assert "7 value(s) rejected, not stored:" in report.lines()


def test_a_results_file_whose_only_value_is_rejected_writes_nothing_and_exits_1(tmp_path, db_file, cli):
    """It used to write a source, a model, a family and an eval_runs row with no score (exit 1 for the value)."""
    bad = results_file(tmp_path / "bad.json", {"t_pct": {"acc,none": 85.1}}, pretrained="acme/only-bad-1b")
    good = results_file(tmp_path / "good.json", {"t_ok": {"acc,none": 0.6}}, pretrained="acme/good-1b")
    conn = obslaws.connect(db_file, plugins=False)
    tables = ("sources", "models", "families", "model_aliases", "eval_runs", "scores", "losses", "benchmarks")
    before = {t: count(conn, f"SELECT count(*) FROM {t}") for t in tables}
    report = ingest_lm_eval(IngestContext(conn), [bad, good])
    assert report.files == 1
    assert [(p.file, p.problem) for p in report.skipped] == [
        (str(bad), "no value could be stored (1 rejected); nothing written")
    ]
    assert [p.key for p in report.rejected] == ["results.t_pct.acc,none"]
    assert count(conn, "SELECT count(*) FROM models WHERE model_id LIKE '%only-bad%'") == 0
    assert count(conn, "SELECT count(*) FROM families WHERE family LIKE '%only-bad%'") == 0
    assert conn.execute("SELECT count(*) FROM eval_runs WHERE path = ?", [str(bad)]).fetchall() == [(0,)]
    assert count(conn, "SELECT count(*) FROM eval_runs") == before["eval_runs"] + 1  # the good file's run
    after = {t: count(conn, f"SELECT count(*) FROM {t}") for t in tables}
    conn.close()
    assert cli(["--db", str(db_file), "ingest", "lm-eval", str(bad), "--no-progress"]) == 1
    conn = obslaws.connect(db_file, plugins=False)
    assert {t: count(conn, f"SELECT count(*) FROM {t}") for t in tables} == after
    conn.close()


def test_a_negative_card_value_is_rejected_not_a_constraint_crash(tmp_path, conn):
    card = tmp_path / "README.md"
    card.write_text(
        "---\nlicense: mit\nmodel-index:\n- name: acme/x\n  results:\n  - task: {type: text-generation}\n"
        "    dataset: {name: My task, type: my_task}\n    metrics:\n    - {type: acc, value: -0.2}\n---\n# x\n"
    )
    report = ingest_cards(IngestContext(conn), [card], model_id="acme/x")
    assert report.files == 1 and any("-0.2" in p.problem for p in report.skipped)
    assert count(conn, "SELECT count(*) FROM scores") == 0


# -- item 6: model identity of local paths ---------------------------------------------------------


def test_two_local_checkpoints_named_final_are_two_models(tmp_path, conn):
    alice = results_file(tmp_path / "alice.json", {"t": {"acc,none": 0.5}}, "/data/alice/run1/final")
    bob = results_file(tmp_path / "bob.json", {"t": {"acc,none": 0.7}}, "/data/bob/run7/final")
    ingest_lm_eval(IngestContext(conn), [alice, bob])
    rows = conn.execute("SELECT model_id, value FROM scores ORDER BY model_id").fetchall()
    assert rows == [("/data/alice/run1/final", 0.5), ("/data/bob/run7/final", 0.7)]


# -- item 7 and 12: option values ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["-5", "0", "x"])
def test_batch_size_below_one_is_a_usage_error_naming_the_option(db_file, value, capsys, cli):
    assert cli(["--db", str(db_file), "ingest", "lm-eval", str(TINY), "--batch-size", value]) == 2
    assert "--batch-size" in capsys.readouterr().err


# -- item 8: cards, each on its own ------------------------------------------------------------------


def test_an_unreadable_card_is_skipped_by_name_and_the_good_one_lands(tmp_path, conn):
    good = FIXTURES / "cards" / "instruct-mistral-dolly"
    bad = tmp_path / "bad" / "README.md"
    bad.parent.mkdir()
    bad.write_bytes(b"---\nlicense: \xff\xfe\n---\n")
    report = ingest_cards(IngestContext(conn), [good, bad])
    assert report.files == 1
    assert [p.file for p in report.skipped] == [str(bad)]
    assert count(conn, "SELECT count(*) FROM sources") == 1


def test_card_hub_id_then_local_path_reads_the_path_as_that_models_card(conn):
    card = FIXTURES / "cards" / "instruct-mistral-dolly" / "README.md"
    report = ingest_cards(IngestContext(conn), ["acme/dolly-7b", card])  # offline: no hub call
    assert report.files == 1 and not [p for p in report.skipped if p.key is None]
    assert conn.execute("SELECT model_id FROM models").fetchall() == [("acme/dolly-7b",)]


@pytest.mark.parametrize("missing", ["./nowhere/README.md", "my-model/README.md"])
def test_card_hub_id_then_a_mistyped_path_names_the_path_and_asks_no_hub(conn, monkeypatch, missing):
    """It used to fetch the hub id instead (OfflineError here), never naming the missing file."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    report = ingest_cards(IngestContext(conn), ["acme/dolly-7b", missing])
    assert report.files == 0
    assert [str(p) for p in report.skipped] == [f"{missing}: no such file or directory (the card of acme/dolly-7b)"]
    assert conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]


# -- item 12 and 13: leaderboard dumps -------------------------------------------------------------

V2_EXPORT_COLUMNS = [
    "id",
    "model_name",
    "model_sha",
    "model_precision",
    "model_type",
    "model_average_score",
    *(
        f"evaluations_{b}_{k}"
        for b in ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")
        for k in ("name", "value", "normalized_score")
    ),
    "metadata_upload_date",
    "metadata_submission_date",
    "metadata_base_model",
    "metadata_hub_license",
    "metadata_params_billions",
]


def v2_export(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, V2_EXPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def export_row(name: str, submitted: str, bbh: float) -> dict:
    row = {
        "id": f"{name}_bfloat16",
        "model_name": name,
        "model_type": "🟢 pretrained",
        "metadata_params_billions": "7.2",
    }
    for bench, value in (
        ("ifeval", 0.31),
        ("bbh", bbh),
        ("math", 0.05),
        ("gpqa", 0.29),
        ("musr", 0.41),
        ("mmlu_pro", 0.33),
    ):
        row[f"evaluations_{bench}_value"] = value
        row[f"evaluations_{bench}_normalized_score"] = round(value * 100, 2)
    row["metadata_submission_date"] = submitted
    row["metadata_hub_license"] = "apache-2.0"
    return row


def test_the_v2_export_layout_is_detected_and_read(conn):
    path = FIXTURES / "leaderboard" / "oll_v2_export.csv"
    report = ingest_leaderboard(IngestContext(conn), [path])  # no --format: detected
    assert report.files == 1 and not report.skipped
    scores = dict(
        conn.execute("SELECT benchmark || '/' || metric, value FROM scores WHERE model_id = 'acme/base-7b'").fetchall()
    )
    assert len(scores) == 12
    assert scores["leaderboard_bbh/acc_norm"] == pytest.approx(0.4467)  # the newer row wins
    assert scores["leaderboard_bbh/oll_v2_normalized"] == pytest.approx(0.222347)
    assert scores["leaderboard_ifeval/inst_prompt_strict_acc_mean"] == pytest.approx(0.2478)
    models = conn.execute("SELECT model_id, variant, params_total, license FROM models ORDER BY 1").fetchall()
    assert models == [
        ("acme/base-7b", "base", 7.24e9, "apache-2.0"),
        ("acme/chat-7b", "instruct", 7.24e9, "apache-2.0"),
    ]


def test_a_dump_whose_only_row_is_rejected_leaves_no_sources_row_and_exits_1(tmp_path, db_file, cli):
    path = v2_export(tmp_path / "bad.csv", [export_row("acme/base-7b", "2024-06-01", 46.0)])  # points, not a fraction
    assert cli(["--db", str(db_file), "ingest", "leaderboard", str(path)]) == 1
    conn = obslaws.connect(db_file, plugins=False)
    assert count(conn, "SELECT count(*) FROM sources") == 0
    conn.close()
    other = tmp_path / "other.csv"
    other.write_text("name,score\nx,1\n")
    assert cli(["--db", str(db_file), "ingest", "leaderboard", str(other), "--format", "oll-v2"]) == 1


def test_bbh_has_an_item_count_so_the_noise_floor_covers_it():
    with (ROOT / "registry" / "benchmarks.csv").open() as handle:
        items = {row["benchmark"]: row["n_items"] for row in csv.DictReader(handle)}
    assert items["leaderboard_bbh"] == "5761"
    assert all(items[b] for b in items if b.startswith("leaderboard_") and b.count("_") == 1)


# -- item 11: the prefetch worker dies with its parent ---------------------------------------------

PREFETCH = """
import sys, time
from pathlib import Path
from obslaws.ingest.prefetch import parsed_batches
from obslaws.ingest.task_map import TaskMap
files = sorted(Path(sys.argv[1]).glob("*.json"))
batches = [files[i : i + 600] for i in range(0, len(files), 600)]
it = parsed_batches(batches, TaskMap())
next(it)
print("parsing ahead", flush=True)
time.sleep(120)
"""


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_prefetch_worker_dies_with_a_killed_ingest(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    text = TINY.read_text()
    for i in range(1200):
        (folder / f"r{i:04d}.json").write_text(text)
    parent = subprocess.Popen([sys.executable, "-c", PREFETCH, str(folder)], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        assert parent.stdout.readline().strip() == "parsing ahead"
        workers = _children(parent.pid)
        assert workers, "the worker process was started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(w) for w in workers), "the worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in workers:  # never leave one behind, even when the test fails
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
