"""The report's figures drawn on several processes while the page is assembled.

Each PNG is drawn from plain data by a function of :mod:`obslaws.report.plots` and depends on
nothing else, so the predicted-vs-actual figures (one per protocol, 0.5-1 s of CPU each) can
be drawn side by side instead of one after another on the parent's core while the other idles
at the end of a refresh. The page's text does not wait for them; the report is
complete when the :class:`FigurePool` block ends.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from obslaws.refresh.parallel import Workers


class FigurePool:
    """``draw(function, *args)`` on ``workers`` spawned processes; with one worker, or a single
    figure in all, here (starting processes would cost more than it saves). Given ``shared``
    (a refresh's :class:`~obslaws.refresh.parallel.Workers`), on those from the first figure.

    Use as a context manager: leaving it waits for every figure and raises the first failure.
    """

    def __init__(self, workers: int, shared: Workers | None = None) -> None:
        self.workers = workers if shared is None else shared.count
        # a refresh's running workers (obslaws.refresh.parallel.Workers): used at once, not shut down
        self.shared = shared
        self.pool: ProcessPoolExecutor | None = None
        self.held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []  # until a second figure comes
        self.pending: list[Future[Any]] = []
        self.copies: list[tuple[Future[Any], Path, Path]] = []  # drawn ahead: (future, drawn to, wanted at)

    def draw(self, function: Callable[..., Any], *args: Any) -> None:
        """Draw ``function(*args)``; its last argument is the PNG's path."""
        if self._drawn_ahead(function, args):
            return
        if self.workers <= 1:
            function(*args)
            return
        self.held.append((function, args))
        if self.pool is None and self.shared is not None:
            self.pool = self.shared.pool()
        if len(self.held) < 2 and self.pool is None:
            return
        if self.pool is None:
            from obslaws.refresh.parallel import start_pool

            self.pool = start_pool(self.workers)
        self.pending += [self.pool.submit(f, *a) for f, a in self.held]
        self.held = []

    def _drawn_ahead(self, function: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        """Whether the refresh queued this very figure (:func:`draw_ahead`); then it is copied in."""
        if self.shared is None or not args:
            return False
        wanted = Path(args[-1])
        early = self.shared.ahead.get(wanted.name)
        if early is None or early[0] is not function or not _same(early[1], args[:-1]):
            return False
        del self.shared.ahead[wanted.name]
        self.copies.append((early[2], early[3], wanted))
        return True

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: object) -> None:
        for function, args in self.held:
            function(*args)
        for future, drawn, wanted in self.copies:
            future.result()
            shutil.copyfile(drawn, wanted)
            shutil.rmtree(drawn.parent, ignore_errors=True)
        if self.pool is None:
            return
        try:
            for future in self.pending:
                future.result()
        finally:
            if self.shared is None:
                self.pool.shutdown(cancel_futures=True)


def draw_ahead(shared: Workers, function: Callable[..., Any], *args: Any, name: str) -> None:
    """Queue ``function(*args, path)`` on a refresh's workers before its report is built (a
    predicted-vs-actual figure once its protocol's backtests are written, so that the workers
    draw it while the parent writes the rest); the report's :class:`FigurePool` copies the PNG
    in when it asks for the figure ``name`` with equal arguments, else draws its own."""
    pool = shared.pool()
    if pool is None:
        return
    path = Path(tempfile.mkdtemp(prefix="obslaws-figure-")) / name  # removed with the workers
    shared.ahead[name] = (function, args, pool.submit(function, *args, path), path)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal arguments (data frames by value)."""
    import polars as pl

    def equal(x: Any, y: Any) -> bool:
        if isinstance(x, pl.DataFrame) or isinstance(y, pl.DataFrame):
            return isinstance(x, pl.DataFrame) and isinstance(y, pl.DataFrame) and x.equals(y)
        return bool(x == y)

    return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
