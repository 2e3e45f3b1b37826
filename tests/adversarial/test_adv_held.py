"""What held before issue 14 and must keep holding: kill -9, lock conflicts, a full disk, a
corrupt file and an unsafe YAML tag lose or half-write nothing."""

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
from obslaws.ingest.cards import ingest_cards
from obslaws.ingest.context import IngestContext

ROOT = Path(__file__).resolve().parents[2]
TINY = json.loads((ROOT / "tests" / "fixtures" / "lm_eval" / "lm_eval_0.4.13_tiny-64.json").read_text())


def many_results(folder: Path, n: int) -> Path:
    """``n`` distinct result files (one model each): 2 scores and 3 losses per file."""
    folder.mkdir()
    for i in range(n):
        data = {**TINY, "config": {**TINY["config"], "model_args": f"pretrained=acme/held-{i}"}}
        (folder / f"r{i:04d}.json").write_text(json.dumps(data))
    return folder


def tables(path: Path) -> dict[str, int]:
    conn = obslaws.connect(path, read_only=True, plugins=False)
    out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("sources", "scores", "losses")}
    conn.close()
    return out


def test_kill_9_during_an_ingest_lands_whole_files_only_and_the_rerun_completes(tmp_path, db_file):
    folder = many_results(tmp_path / "results", 600)
    command = [sys.executable, "-m", "obslaws", "--db", str(db_file), "ingest", "lm-eval", str(folder)]
    process = subprocess.Popen([*command, "--batch-size", "50", "--no-progress"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and not db_file.with_suffix(".duckdb.wal").exists():
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    landed = tables(db_file)
    assert landed["scores"] == 2 * landed["sources"] and landed["losses"] == 3 * landed["sources"]
    assert subprocess.run([*command, "--no-progress"], capture_output=True, timeout=300).returncode == 0
    assert tables(db_file) == {"sources": 600, "scores": 1200, "losses": 1800}


HOLD = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def test_a_second_writer_gets_a_one_line_error_and_changes_nothing(tmp_path, db_file, capsys, cli):
    folder = many_results(tmp_path / "results", 3)
    writer = subprocess.Popen([sys.executable, "-c", HOLD, str(db_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "holding"
        assert cli(["--db", str(db_file), "ingest", "lm-eval", str(folder), "--no-progress"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("Error: cannot open database") and "lock" in err and "\n" not in err
    finally:
        writer.kill()
        writer.wait()
    assert tables(db_file)["sources"] == 0


def test_a_corrupt_database_file_is_named_and_left_as_it_was(tmp_path, capsys, cli):
    path = tmp_path / "corrupt.duckdb"
    junk = b"not a duckdb file " * 1000
    path.write_bytes(junk)
    assert cli(["--db", str(path), "sql", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and err.count("\n") == 1
    assert path.read_bytes() == junk


DISK_FULL = """
import resource, signal, sys
from obslaws.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG) instead
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
main(["--db", sys.argv[1], "ingest", "lm-eval", sys.argv[3], "--no-progress", "--batch-size", "1000"])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_during_an_ingest_writes_nothing_of_the_batch(tmp_path, db_file):
    folder = many_results(tmp_path / "results", 300)
    before = tables(db_file)
    limit = 4096  # the write-ahead log cannot grow past 4 kB
    command = [sys.executable, "-c", DISK_FULL, str(db_file), str(limit), str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert result.stderr.startswith("Error:"), result.stderr[-2000:]
    assert tables(db_file) == before


def test_an_unsafe_yaml_tag_in_a_card_runs_nothing(tmp_path, conn):
    marker = tmp_path / "pwned"
    card = tmp_path / "README.md"
    card.write_text(f'---\nlicense: !!python/object/apply:os.system ["touch {marker}"]\n---\n# card\n')
    report = ingest_cards(IngestContext(conn), [card], model_id="acme/unsafe")
    assert not marker.exists()
    assert report.skipped or report.files == 1
    assert os.path.exists(card)
