"""Ctrl-C and SIGTERM that stop a command even when they arrive inside a C extension.

Python runs a signal's handler in the main thread at its next chance, which may be inside a
DuckDB query: DuckDB's client calls the handler there and raises its own "Query interrupted"
(a RuntimeError) in place of the handler's exception, which code that reports a failed job or
figure catches as any other error. A refresh interrupted while its report read the database
then ran to its end and committed. So
the command line's handlers (:func:`handled`) also remember the signal, and :func:`check`
raises it again where a command waits for its workers, commits a transaction or publishes a
report: an interrupted command stops there at the latest, having written nothing.

Outside :func:`handled` (the Python API) nothing is remembered and :func:`check` does nothing:
signals keep the handlers their program chose.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_pending: int | None = None  # the signal a handler of ours received, while a ``handled`` block runs


def _exception(signum: int) -> BaseException:
    """What the signal raises: KeyboardInterrupt for Ctrl-C, as Python's own handler does; for
    SIGTERM (``kill``, ``timeout``, a service manager) an exit with the shell's status 128 + 15."""
    return KeyboardInterrupt() if signum == signal.SIGINT else SystemExit(128 + signum)


def _handler(signum: int, _frame: object) -> None:
    global _pending
    _pending = signum
    raise _exception(signum)


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM handled as above while the block runs, where the process has Python's
    default for them (a signal its parent had ignored, as ``nohup`` does, stays ignored); after
    it, their previous handlers and nothing pending (a program that calls the command line's
    ``main`` in-process keeps its own). Only the main thread may set handlers: elsewhere the
    block changes nothing."""
    global _pending
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
            if signal.getsignal(signum) is default:
                previous[signum] = default
                signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if previous:  # the block that set the handlers (not one nested in it) forgets the signal
            _pending = None


def check() -> None:
    """Raise the signal our handler received, if any (again, where a C extension dropped it)."""
    if _pending is not None:
        raise _exception(_pending)
