"""Parsing the next batch of results files in a worker process while this one is written.

Writing a batch is mostly DuckDB (inserts, commit), parsing is Python. A
thread cannot overlap the two: DuckDB's Python client takes the GIL back between the steps of
a query, so a Python thread parsing beside a write stalls it. A worker process has its own
interpreter, so on two cores the parse of batch k + 1 hides behind the write of batch k.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from obslaws.errors import ValidationError
from obslaws.ingest.guards import guarded_parse
from obslaws.ingest.lm_eval_results import ParsedRun, parse_file, prepare
from obslaws.ingest.task_map import TaskMap
from obslaws.ingest.types import Problem

# Below this many files a worker is not worth starting.
MIN_FILES = 1000

_task_map: TaskMap | None = None  # the worker's, set by _start


def _start(task_map: TaskMap, parent: int) -> None:
    global _task_map
    _task_map = task_map
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """End this worker when its parent dies, even by kill -9 (which runs no cleanup in the parent).

    Linux delivers SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG); elsewhere, and in
    case the parent died before the call, a thread notices the worker was re-parented.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the watcher below covers it
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="obslaws-parent-watch", daemon=True).start()


def parse_many(paths: Sequence[Path], task_map: TaskMap | None = None) -> list[ParsedRun | Problem]:
    """Each file parsed and prepared, or the problem that skips it (picklable, unlike ValidationError)."""
    task_map = task_map or _task_map
    assert task_map is not None
    out: list[ParsedRun | Problem] = []
    for path in paths:
        try:
            out.append(guarded_parse(str(path), lambda path=path: prepare(parse_file(path), task_map)))
        except ValidationError as exc:
            out.append(Problem(exc.file, exc.field, exc.problem))
    return out


def parsed_batches(batches: Sequence[Sequence[Path]], task_map: TaskMap) -> Iterator[list[ParsedRun | Problem]]:
    """``parse_many`` of each batch, in order; batch k + 1 is parsed in a worker while the
    caller handles batch k. Close the iterator (``contextlib.closing``) to stop the worker."""
    if len(batches) < 2 or sum(map(len, batches)) < MIN_FILES:
        for paths in batches:
            yield parse_many(paths, task_map)
        return
    # fork, not spawn: spawn re-runs the caller's main module (which breaks a script without an
    # ``if __name__ == "__main__"`` guard) and re-imports obslaws. The child only parses JSON
    # and never touches the parent's DuckDB connection or its threads.
    # The worker gets task_map by fork, not pickled: plugins' mappings need not pickle.
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("fork"), initializer=_start, initargs=(task_map, os.getpid())
    )
    try:
        ahead: Future[list[ParsedRun | Problem]] = pool.submit(parse_many, batches[1])
        yield parse_many(batches[0], task_map)  # here, while the worker starts and parses batch 1
        for k in range(1, len(batches)):
            parsed = ahead.result()
            if k + 1 < len(batches):
                ahead = pool.submit(parse_many, batches[k + 1])
            yield parsed
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
