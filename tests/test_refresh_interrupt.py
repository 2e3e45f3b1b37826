"""A refresh stopped by Ctrl-C or an error ends its workers' running jobs instead of waiting for them.

`kill -INT` of a refresh during its backtests printed "Aborted." 4.5 minutes later: leaving the
``with`` block shut the pool down waiting for the batches already running, whose results the
rolled-back transaction throws away.
"""

from __future__ import annotations

import contextlib
import threading
import time

from obslaws.refresh.parallel import Runner, Workers


def _leaves_promptly(block) -> bool:  # noqa: ANN001 - a context manager factory
    """Whether leaving ``block`` on a KeyboardInterrupt returns while a job that never ends still runs."""

    def interrupted() -> None:
        with contextlib.suppress(KeyboardInterrupt), block() as pool:
            job = pool.submit(time.sleep, 3600)
            while not job.running():
                time.sleep(0.05)
            raise KeyboardInterrupt

    thread = threading.Thread(target=interrupted, daemon=True)
    thread.start()
    thread.join(120)  # a guard against waiting the hour, not a speed figure
    return not thread.is_alive()


@contextlib.contextmanager
def _shared():  # noqa: ANN202
    with Workers(2) as workers:
        yield workers.pool()


@contextlib.contextmanager
def _owned():  # noqa: ANN202
    with Runner(2, 2) as runner:
        yield runner.pool


def test_an_interrupt_ends_the_shared_workers_running_jobs() -> None:
    assert _leaves_promptly(_shared)


def test_an_interrupt_ends_a_runners_own_workers_running_jobs() -> None:
    assert _leaves_promptly(_owned)


WAITER = """
import signal, sys, threading, time
from obslaws.refresh.parallel import Runner, waiting
# The signal goes to another thread, as it may to the pool's: only the main thread runs handlers.
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
try:
    with Runner(2, 2) as runner:
        result = waiting(runner.pool.submit(time.sleep, 3600))
        print("waiting", flush=True)
        result()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_a_signal_to_another_thread_interrupts_the_wait_for_a_job() -> None:
    """`kill -INT` reached a pool thread; the main thread slept in future.result() until the batch ended."""
    import os
    import signal
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", WAITER], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        os.kill(child.pid, signal.SIGINT)
        assert child.wait(120) == 0  # a guard against waiting the hour, not a speed figure
        assert child.stdout.read().strip() == "interrupted"
    finally:
        child.kill()
