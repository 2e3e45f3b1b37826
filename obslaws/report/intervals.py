"""The report's MAE intervals: each backtest's MAE resampled over its test models' families."""

from __future__ import annotations

import duckdb
import polars as pl

from obslaws.backtest.harness import PROTOCOLS
from obslaws.backtest.uncertainty import cluster_labels, mae_interval
from obslaws.store.query import read_frame


def mae_intervals(conn: duckdb.DuckDBPyConnection, summaries: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """Per backtest id of ``summaries`` (id -> its stored summary): the MAE's 90% family-bootstrap
    interval, from the summary, or recomputed from its cells in ``backtests`` with its protocol's
    averaging where the summary predates it."""
    out = {i: tuple(s["mae_interval_pt"]) for i, s in summaries.items() if s.get("mae_interval_pt")}
    missing = [i for i in summaries if i not in out]
    if not missing:
        return out
    cells = read_frame(
        conn,
        "SELECT backtest_id, split, model_id, benchmark, truth, prediction FROM backtests "
        "WHERE list_contains($ids, backtest_id)",
        {"ids": missing},
    )
    models = read_frame(conn, "SELECT model_id, family FROM models")
    cells = cells.with_columns(pl.Series("cluster", cluster_labels(cells, models)))
    for (backtest_id,), own in cells.partition_by("backtest_id", as_dict=True).items():
        protocol = PROTOCOLS.get(summaries[backtest_id].get("protocol"))
        if protocol is not None and own.height:
            interval = mae_interval(own, protocol.averaging, own["cluster"].to_numpy())
            out[backtest_id] = (interval.lower, interval.upper)
    return out


def interval_text(interval: tuple[float, float] | None) -> str | None:
    """``[lower, upper]`` in points, for a table cell."""
    return None if interval is None else f"[{interval[0]:.2f}, {interval[1]:.2f}]"
