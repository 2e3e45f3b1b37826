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
    unstated_inputs: bool = True,
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
    unstated_inputs:
        For benchmarks that are not ``targets`` (the inputs a fitter may read), a model without a
        score at the headline setting takes its score at the headline metric whose shots its source
        does not state (``n_shots = -1``), if it has one (``unstated_scores``). Targets only ever
        hold headline-setting scores, so a backtest's truth is unchanged.
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
    benchmarks = read_frame(
        conn, "SELECT benchmark, metric, n_shots, chance, n_items FROM benchmarks ORDER BY benchmark"
    )
    if targets is None:
        targets = sorted(scores["benchmark"].unique().to_list())
    if unstated_inputs:
        scores = with_unstated_inputs(scores, unstated_scores(conn, source), targets)
    models = read_frame(conn, "SELECT * FROM model_features ORDER BY model_id")
    if not include_checkpoints:
        models = models.filter(~pl.col("is_checkpoint"))
    if source is not None:
        models = models.filter(pl.col("model_id").is_in(scores["model_id"].unique().to_list()))
    scores = scores.filter(pl.col("model_id").is_in(models["model_id"].to_list()))
    losses = read_frame(conn, "SELECT model_id, dataset, value, unit, tokens_seen FROM losses").filter(
        pl.col("model_id").is_in(models["model_id"].to_list())
    )
    unknown = sorted(set(targets) - set(benchmarks["benchmark"].to_list()))
    if unknown:
        raise ObslawsError(f"unknown benchmark(s) {unknown}; see: obslaws sql 'SELECT benchmark FROM benchmarks'")
    return FitData.build(models.drop("is_checkpoint"), scores, losses, benchmarks, targets)


def unstated_scores(conn: duckdb.DuckDBPyConnection, source: str | None = None) -> pl.DataFrame:
    """Per (model, benchmark), the score at the benchmark's headline metric whose source does not
    state its shots (``n_shots = -1``; a model card's table that points to its harness's
    configuration), from the highest-priority source as ``preferred_scores`` ranks them (of
    ``source`` alone, where given): ``model_id, benchmark, value, stderr``."""
    where = "AND s.source_id = ?" if source is not None else ""
    return read_frame(
        conn,
        "SELECT model_id, benchmark, value, stderr FROM ("
        " SELECT s.model_id, s.benchmark, s.value, s.stderr, row_number() OVER ("
        "  PARTITION BY s.model_id, s.benchmark"
        "  ORDER BY src.priority, s.evaluated_at DESC NULLS LAST, s.source_id) AS rank_"
        " FROM scores s JOIN benchmarks b USING (benchmark) JOIN sources src USING (source_id)"
        f" WHERE s.metric = b.metric AND s.n_shots = -1 AND b.n_shots <> -1 {where}"
        ") WHERE rank_ = 1",
        [source] if source is not None else None,
    )


def with_unstated_inputs(scores: pl.DataFrame, unstated: pl.DataFrame, targets: Sequence[str]) -> pl.DataFrame:
    """``scores`` and, for the benchmarks outside ``targets``, the ``unstated`` scores of the pairs
    ``scores`` lacks: an input read at an unstated setting is better than none (InternLM2's card
    gives its GSM8K and MMLU only so), while a target's truth stays at its headline setting."""
    extra = unstated.filter(~pl.col("benchmark").is_in(list(targets))).join(
        scores.select("model_id", "benchmark"), on=["model_id", "benchmark"], how="anti"
    )
    if extra.is_empty():
        return scores
    return pl.concat([scores, extra.select(scores.columns).cast(dict(scores.schema))])
