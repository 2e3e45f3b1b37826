"""Ctrl-C and SIGTERM stop a command even when DuckDB turns them into an ordinary error.

A signal that arrives while a DuckDB query runs reaches Python's handler inside the query; DuckDB
raises "Query interrupted" (a RuntimeError) in its place, which code that reports a failed figure
or job catches like any other error. A refresh interrupted so ran to its end and committed (4 of
6 `kill -INT` and 4 of 7 `kill -TERM` runs of test_refresh.py's plan). The command line's handlers
(``obslaws.interrupts``) remember the signal, and the next commit raises it instead. Whether a
signal sent during a query lands where DuckDB looks for it is a race, so the ``dropped`` cases do
what DuckDB does every time; the ``duckdb`` cases send it during a real query of a few seconds.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

import obslaws

SCRIPT = """
import os, signal, sys, threading, time
import obslaws
from obslaws import interrupts
from obslaws.store.connection import transaction

signum, where = int(sys.argv[2]), sys.argv[3]
with interrupts.handled():  # as the command line's main runs every command
    conn = obslaws.connect(sys.argv[1], plugins=False)
    conn.execute("CREATE TABLE scratch (x INTEGER)")
    try:
        if where == "duckdb":  # a query of seconds; DuckDB turns the signal into its error (or, if it lands
            # before DuckDB looks, Python raises it after the query)
            threading.Timer(0.3, os.kill, (os.getpid(), signum)).start()
            conn.execute("SELECT sum(i) FROM range(3000000000) t(i)").fetchall()
        else:  # what DuckDB does, every time: the handler's exception replaced by an error
            try:
                os.kill(os.getpid(), signum)
                time.sleep(5)
            except BaseException:
                raise RuntimeError("Query interrupted") from None
    except Exception as exc:  # as a report or a job runner catches a failure
        print("caught:", type(exc).__name__, flush=True)
    with transaction(conn):
        conn.execute("INSERT INTO scratch VALUES (1)")
    print("committed", flush=True)
"""


@pytest.mark.parametrize("where", ["dropped", "duckdb"])
@pytest.mark.parametrize(
    ("stop", "status"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)], ids=["TERM", "INT"]
)
def test_a_signal_turned_into_an_error_still_stops_the_next_commit(tmp_path, stop, status, where):
    db = tmp_path / "db.duckdb"
    child = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), str(int(stop)), where], capture_output=True, text=True, timeout=300
    )
    # an uncaught KeyboardInterrupt ends Python by the signal itself (status -2); SIGTERM exits 143
    assert child.returncode == status, child.stdout + child.stderr
    assert "committed" not in child.stdout
    if where == "dropped":
        assert "caught: RuntimeError" in child.stdout
    conn = obslaws.connect(db, plugins=False)
    assert conn.execute("SELECT count(*) FROM scratch").fetchone()[0] == 0
    conn.close()


def test_the_command_line_gives_back_the_handlers_it_found(tmp_path):
    # a program (these tests) that runs ``main`` in-process keeps its own handlers afterwards
    from obslaws import interrupts
    from obslaws.cli import main

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    main(["--db", str(tmp_path / "db.duckdb"), "init"])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert interrupts._pending is None
    interrupts.check()  # outside a command nothing is pending
