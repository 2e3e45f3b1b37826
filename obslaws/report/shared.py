"""The report's like-for-like column: each fitter's MAE on the cells every fitter of a protocol scored."""

from __future__ import annotations

import polars as pl

from obslaws.backtest.harness import PROTOCOLS
from obslaws.backtest.shared import shared_mae


def shared_maes(cells: pl.DataFrame, summaries: dict[str, dict]) -> tuple[dict[str, float | None], int]:
    """Per backtest id of ``summaries`` (id -> its stored summary, one protocol and option set):
    its MAE on the cells all of them scored (``cells``: their rows of ``backtests``), with its
    protocol's averaging; and how many cells those are. Empty where every backtest scored the same
    cells (their own MAE says it all)."""
    if len(summaries) < 2:
        return {}, 0
    by_id = {i: own for (i,), own in cells.partition_by("backtest_id", as_dict=True).items() if i in summaries}
    protocol = PROTOCOLS.get(next(iter(summaries.values())).get("protocol"))
    maes, n_shared = shared_mae(by_id, protocol.averaging if protocol is not None else "cell")
    if all(s.get("n_cells") == n_shared for s in summaries.values()):
        return {}, n_shared
    return maes, n_shared
