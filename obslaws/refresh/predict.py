"""The refresh's predictions: scores models lack, and new models predicted out of sample."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws.fitting.horizon import horizon_columns
from obslaws.fitting.selection import ReadFitData, usable_data, with_covariates
from obslaws.refresh.config import RefreshConfig
from obslaws.refresh.outcome import FitOutcome, Progress
from obslaws.store.read import load_fit_data

if TYPE_CHECKING:
    from obslaws.refresh.parallel import Timing


def predicting_fit(config: RefreshConfig, fits: list[FitOutcome]) -> FitOutcome | None:
    """The fit that predicts: the report's ``predict_fitter``, else the first one fitted in this run."""
    wanted = config.predict_fitter
    fitted = [f for f in fits if f.instance is not None]
    return next((f for f in fitted if f.fitter == wanted), None) or next(iter(fitted), None)


@dataclass
class PredictionQuery:
    """What the refresh asks its predicting fit: every model that lacks a score of ``benchmarks``,
    with all the scores it has (``query``), and which of ``benchmarks`` each model has (``have``)."""

    query: FitData
    benchmarks: list[str]
    have: pl.DataFrame  # (model_id, benchmark)


@dataclass
class Predicted:
    """The predicting fit's predictions of its ``asked``, made in the worker that fitted it (the
    forecaster fits its stacked members when first asked to predict: there that work runs beside
    the backtests instead of after them): the frame, or the exception that stopped it."""

    asked: PredictionQuery
    frame: pl.DataFrame | None
    error: Exception | None
    timing: Timing

    @classmethod
    def of(cls, asked: PredictionQuery, returned: Any, timing: Timing) -> Predicted:
        """From what :func:`~obslaws.refresh.parallel.fit_job` returned: a frame or an exception."""
        error = returned if isinstance(returned, Exception) else None
        return cls(asked, None if error else returned, error, timing)


def prediction_query(
    conn: duckdb.DuckDBPyConnection, config: RefreshConfig, fit_benchmarks: Sequence[str], needs: Iterable[str]
) -> PredictionQuery | None:
    """The models to predict for a fit of ``fit_benchmarks`` by a fitter that ``needs`` these
    covariates; None where the report's benchmarks are not among them or no model lacks a score."""
    wanted = resolve_benchmarks(config.report.get("predict_benchmarks", "oll-v1"))
    benchmarks = sorted(set(wanted) & set(fit_benchmarks))
    if not benchmarks:
        return None
    # with the scores each model has, so that a fitter that reads them (the forecaster) predicts a
    # model's missing benchmarks from its others; a fitter of covariates alone reads none of them.
    # Its targets hold the headline-setting scores alone, as preferred_scores does.
    everyone = load_fit_data(conn, sorted(fit_benchmarks))
    have = everyone.scores.filter(pl.col("benchmark").is_in(benchmarks)).select("model_id", "benchmark")
    counts = have.group_by("model_id").len()
    complete = set(counts.filter(pl.col("len") == len(benchmarks))["model_id"].to_list())
    everyone = everyone.select_models([m for m in everyone.model_ids if m not in complete])
    query = with_covariates(everyone, sorted(needs))
    return PredictionQuery(query, benchmarks, have) if query.models.height else None


def planned_predictions(
    conn: duckdb.DuckDBPyConnection, config: RefreshConfig, fits: Sequence[tuple[FitOutcome, Any, FitData | None]]
) -> dict[int, PredictionQuery]:
    """Among the planned ``(outcome, fitter or None, data)`` fits, the one that will predict
    (:func:`predicting_fit`'s first choice, if it is to be fitted): its index -> what it will be
    asked (empty where none, or it will be asked nothing)."""
    wanted = config.predict_fitter
    for index, (outcome, fitter, data) in enumerate(fits):
        if outcome.fitter == wanted and fitter is not None and data is not None:
            asked = prediction_query(conn, config, data.targets, fitter.requires.needs)
            return {} if asked is None else {index: asked}
    return {}


def predict_missing(
    conn: duckdb.DuckDBPyConnection, config: RefreshConfig, fits: list[FitOutcome], progress: Progress
) -> pl.DataFrame | None:
    """Predictions, with intervals, for models that lack scores on the report's benchmarks (those
    the predicting fit made in its worker, else made here), stored in ``predictions``."""
    from obslaws.fitting.store import predict_and_store, store_predictions

    fit = predicting_fit(config, fits)
    if fit is None:
        return None
    if fit.predicted is not None:
        asked, where = fit.predicted.asked, f", in its fit's worker in {fit.predicted.timing.seconds:.1f} s"
        if fit.predicted.error is not None:
            raise fit.predicted.error
        frame = store_predictions(conn, fit.fit_id, fit.predicted.frame)
    else:
        asked, where = prediction_query(conn, config, fit.benchmarks, fit.instance.requires.needs), ""
        if asked is None:
            return None
        frame = predict_and_store(conn, fit.instance, fit.fit_id, asked.query)
    missing = frame.filter(pl.col("benchmark").is_in(asked.benchmarks)).join(
        asked.have, on=["model_id", "benchmark"], how="anti"
    )
    models = asked.query.models
    progress(f"      {fit.fitter}: predicted {missing.height} missing scores of {models.height} models{where}")
    # how far past the targets' latest release and below their smallest size each model lies, where
    # the fitter keeps that horizon
    after = horizon_columns(fit.instance.learned_parameters(), models)
    return missing.with_columns(pl.lit(fit.fitter).alias("fitter")).join(after, on="model_id", how="left")


def new_model_check(
    read: ReadFitData, config: RefreshConfig, fits: list[FitOutcome], new_ids: set[str], progress: Progress
) -> pl.DataFrame | None:
    """Predicted vs measured for the models this refresh ingested, from a fit that never saw them."""
    fit = predicting_fit(config, fits)
    if fit is None or not new_ids:
        return None
    data = read(fit.benchmarks, source=fit.source)
    known = data.select_models([m for m in data.model_ids if m not in new_ids])
    fitter = fit.instance.clone().fit(usable_data(fit.instance, known).data)
    query = read(fit.benchmarks)
    query = with_covariates(
        query.select_models([m for m in query.model_ids if m in new_ids]), sorted(fitter.requires.needs)
    )
    if not query.models.height:
        needs = ", ".join(sorted(fitter.requires.needs))
        progress(f"      new models lack what {fitter.name} needs ({needs}): add them under [[models]]")
        return None
    # the measured targets are what the check compares with, so the fitter must not read them
    # (a fitter of scores would complete a model's benchmarks from the very scores it is scored on)
    predicted = fitter.predict(query.hide_scores(fit.benchmarks))
    measured = query.scores.select("model_id", "benchmark", pl.col("value").alias("measured"))
    frame = predicted.join(measured, on=["model_id", "benchmark"], how="left").with_columns(
        pl.lit(fitter.name).alias("fitter")
    )
    progress(f"      {query.models.height} new model(s) predicted out of sample by {fitter.name}")
    return frame
