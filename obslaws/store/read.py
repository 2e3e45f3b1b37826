"""Reading the shared table into FitData for fitters (fitters never touch SQL)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from obslaws.data import FitData
from obslaws.errors import ObslawsError
from obslaws.store.query import read_frame, scalar


def load_fit_data(
    conn: duckdb.DuckDBPyConnection,
    targets: Sequence[str] | None = None,
    *,
    source: str | None = None,
    include_checkpoints: bool = False,
) -> FitData:
    """The shared table as a :class:`FitData`.

    Parameters
    ----------
    targets:
        Benchmarks to predict; default all benchmarks with scores.
    source:
        Use only the scores of this source (for example ``sloth-data-v2`` to run on exactly
        a paper's data), and only the models it scores. Default: the preferred score per pair
        (``preferred_scores`` view).
    include_checkpoints:
        Keep intermediate training checkpoints (rows with ``checkpoint_of``).
    """
    if source is None:
        scores = read_frame(conn, "SELECT model_id, benchmark, value, stderr FROM preferred_scores")
    else:
        if not scalar(conn, "SELECT count(*) FROM sources WHERE source_id = ?", [source]):
            raise ObslawsError(f"unknown source {source!r}; see: obslaws sql 'SELECT source_id FROM sources'")
        scores = read_frame(
            conn,
            "SELECT s.model_id, s.benchmark, s.value, s.stderr FROM scores s "
            "JOIN benchmarks b USING (benchmark) "
            "WHERE s.source_id = ? AND s.metric = b.metric AND s.n_shots = b.n_shots",
            [source],
        )
    models = read_frame(conn, "SELECT * FROM model_features ORDER BY model_id")
    if not include_checkpoints:
        models = models.filter(~pl.col("is_checkpoint"))
    if source is not None:
        models = models.filter(pl.col("model_id").is_in(scores["model_id"].unique().to_list()))
    scores = scores.filter(pl.col("model_id").is_in(models["model_id"].to_list()))
    losses = read_frame(conn, "SELECT model_id, dataset, value, unit, tokens_seen FROM losses").filter(
        pl.col("model_id").is_in(models["model_id"].to_list())
    )
    benchmarks = read_frame(
        conn, "SELECT benchmark, metric, n_shots, chance, n_items FROM benchmarks ORDER BY benchmark"
    )
    if targets is None:
        targets = sorted(scores["benchmark"].unique().to_list())
    unknown = sorted(set(targets) - set(benchmarks["benchmark"].to_list()))
    if unknown:
        raise ObslawsError(f"unknown benchmark(s) {unknown}; see: obslaws sql 'SELECT benchmark FROM benchmarks'")
    return FitData.build(models.drop("is_checkpoint"), scores, losses, benchmarks, targets)
