"""The CLI and the database file under misuse: read-only by default, no silent new files,
readers that are never blocked, option values that name the option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import obslaws
from obslaws.store.snapshot import publish_snapshot, snapshot_path


@pytest.fixture
def db_file(db_file: Path) -> Path:
    """The shared fresh database, with one source row to read."""
    conn = obslaws.connect(db_file, plugins=False)
    conn.execute("INSERT INTO sources (source_id, kind, citation) VALUES ('s1', 'test', 'a test source')")
    conn.close()
    return db_file


# -- item 9: obslaws sql -----------------------------------------------------------------------------


def test_sql_is_read_only_unless_write(db_file, capsys, cli):
    assert cli(["--db", str(db_file), "sql", "DROP TABLE scores"]) == 1
    assert "--write" in capsys.readouterr().err
    conn = obslaws.connect(db_file, plugins=False)
    assert conn.execute("SELECT count(*) FROM scores").fetchall() == [(0,)]
    conn.close()
    assert cli(["--db", str(db_file), "sql", "--write", "DELETE FROM sources WHERE source_id = 's1'"]) == 0
    conn = obslaws.connect(db_file, plugins=False)
    assert conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]
    conn.close()


@pytest.mark.parametrize("text", ["", "  \n", "-- only a comment\n"])
def test_a_query_with_no_statement_is_a_usage_error(db_file, capsys, cli, monkeypatch, text):
    """`obslaws sql -` on an empty file (or `sql ""`) printed nothing and exited 0, as if it had run."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert cli(["--db", str(db_file), "sql", "-"]) == 2
    assert "standard input has no SQL statement" in capsys.readouterr().err
    assert cli(["--db", str(db_file), "sql", text]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT count(*) AS n FROM sources WHERE source_id = $s"))
    assert cli(["--db", str(db_file), "sql", "-", "-p", "s=s1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "1"]


def test_a_mistyped_db_is_an_error_and_creates_nothing(tmp_path, capsys, cli):
    missing = tmp_path / "typo.duckdb"
    for args in (["sql", "SELECT 1"], ["models"], ["ingest", "lm-eval", str(tmp_path)]):
        assert cli(["--db", str(missing), *args]) == 1
        assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


HOLD = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
time.sleep(60)
"""


def _hold(path: Path, mode: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "holding"
    return process


def test_two_readers_do_not_collide(db_file, capsys, cli):
    reader = _hold(db_file, "ro")
    try:
        assert cli(["--db", str(db_file), "sql", "SELECT count(*) AS n FROM sources", "--format", "csv"]) == 0
        assert capsys.readouterr().out == "n\n1\n"
    finally:
        reader.kill()
        reader.wait()


def test_while_a_writer_holds_the_file_sql_reads_the_published_snapshot(db_file, capsys, cli):
    conn = obslaws.connect(db_file, plugins=False)
    copy = publish_snapshot(conn, db_file)
    conn.close()
    assert copy == snapshot_path(db_file) == db_file.with_name("fresh.snapshot.duckdb")
    writer = _hold(db_file, "rw")
    try:
        assert cli(["--db", str(db_file), "sql", "SELECT count(*) AS n FROM sources", "--format", "csv"]) == 0
        captured = capsys.readouterr()
        assert captured.out == "n\n1\n" and "reading the snapshot" in captured.err
        assert cli(["--db", str(db_file), "sql", "--snapshot", "SELECT count(*) AS n FROM sources"]) == 0
        assert cli(["--db", str(db_file), "sql", "--write", "SELECT 1"]) == 1  # a writer needs the file itself
        assert "lock" in capsys.readouterr().err.lower()
    finally:
        writer.kill()
        writer.wait()


def test_publishing_a_snapshot_replaces_it_whole(db_file):
    conn = obslaws.connect(db_file, plugins=False)
    publish_snapshot(conn, db_file)
    conn.execute("INSERT INTO sources (source_id, kind, citation) VALUES ('s2', 'test', 'another')")
    publish_snapshot(conn, db_file)
    conn.close()
    snap = obslaws.connect(snapshot_path(db_file), read_only=True, plugins=False)
    assert snap.execute("SELECT count(*) FROM sources").fetchall() == [(2,)]
    snap.close()
    assert [p.name for p in db_file.parent.iterdir() if p.name.endswith(".tmp")] == []


# -- item 12: option values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["backtest", "flops-sigmoid", "--benchmarks", ""], "--benchmarks"),
        (["fit", "flops-sigmoid", "--benchmarks", " "], "--benchmarks"),
        (["backtest", "flops-sigmoid", "--protocol", "time-split", "--date", "2024-13-01"], "--date"),
        (["backtest", "flops-sigmoid", "--n-train", "-1"], "--n-train"),
        (["predict", "flops-sigmoid", "--params", "-7e9"], "--params"),
        (["refresh", "--workers", "0"], "--workers"),
        (["eval", "some/model", "--tasks", "x", "--batch-size", "-3"], "--batch-size"),
        (["eval", "some/model", "--tasks", "x", "--limit", "-1"], "--limit"),
    ],
)
def test_bad_option_values_are_usage_errors_naming_the_option(db_file, args, option, capsys, cli):
    assert cli(["--db", str(db_file), *args]) == 2
    assert option in capsys.readouterr().err
