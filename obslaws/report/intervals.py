"""The report's MAE intervals: each backtest's MAE resampled over its test models' families."""

from __future__ import annotations

import duckdb

from obslaws.backtest.harness import PROTOCOLS
from obslaws.backtest.uncertainty import Interval, mae_interval
from obslaws.store.query import read_frame


def mae_intervals(conn: duckdb.DuckDBPyConnection, summaries: dict[str, dict]) -> dict[str, Interval]:
    """Per backtest id of ``summaries`` (id -> its stored summary): the MAE's 90% family-bootstrap
    interval, recomputed from its cells in ``backtests`` with its protocol's averaging."""
    cells = read_frame(
        conn,
        "SELECT b.backtest_id, b.split, b.model_id, b.benchmark, b.truth, b.prediction, "
        "coalesce(nullif(m.family, ''), b.model_id) AS cluster "
        "FROM backtests b LEFT JOIN models m USING (model_id) WHERE list_contains($ids, b.backtest_id)",
        {"ids": list(summaries)},
    )
    out = {}
    for (backtest_id,), own in cells.partition_by("backtest_id", as_dict=True).items():
        protocol = PROTOCOLS.get(summaries[backtest_id].get("protocol"))
        if protocol is not None and own.height:
            out[backtest_id] = mae_interval(own, protocol.averaging, own["cluster"].to_numpy())
    return out


def interval_text(interval: Interval | None) -> str | None:
    """``[lower, upper]`` in points, for a table cell."""
    return None if interval is None else f"[{interval.lower:.2f}, {interval.upper:.2f}]"
