"""The report's figures drawn on several processes while the page is assembled.

Each PNG is drawn from plain data by a function of :mod:`obslaws.report.plots` and depends on
nothing else, so the predicted-vs-actual figures (one per backtest, about a second of CPU
each) can be drawn side by side instead of one after another on the parent's core while the
other idles at the end of a refresh. The page's text does not wait for them; the report is
complete when the :class:`FigurePool` block ends.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
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

    def draw(self, function: Callable[..., Any], *args: Any) -> None:
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

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: object) -> None:
        for function, args in self.held:
            function(*args)
        if self.pool is None:
            return
        try:
            for future in self.pending:
                future.result()
        finally:
            if self.shared is None:
                self.pool.shutdown(cancel_futures=True)
