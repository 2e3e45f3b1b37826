"""The refresh's predictions: scores models lack, and new models predicted out of sample."""

from __future__ import annotations

import duckdb
import polars as pl

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.fitting.horizon import horizon_columns
from obslaws.fitting.selection import ReadFitData, usable_data, with_covariates
from obslaws.refresh.config import RefreshConfig
from obslaws.refresh.outcome import FitOutcome, Progress
from obslaws.store.read import load_fit_data


def predicting_fit(config: RefreshConfig, fits: list[FitOutcome]) -> FitOutcome | None:
    """The fit that predicts: the report's ``predict_fitter``, else the first one fitted in this run."""
    wanted = config.report.get("predict_fitter", "sloth")
    fitted = [f for f in fits if f.instance is not None]
    return next((f for f in fitted if f.fitter == wanted), None) or next(iter(fitted), None)


def predict_missing(
    conn: duckdb.DuckDBPyConnection, config: RefreshConfig, fits: list[FitOutcome], progress: Progress
) -> pl.DataFrame | None:
    """Predictions, with intervals, for models that lack scores on the report's benchmarks."""
    from obslaws.fitting.store import predict_and_store

    fit = predicting_fit(config, fits)
    if fit is None:
        return None
    wanted = resolve_benchmarks(config.report.get("predict_benchmarks", "oll-v1"))
    benchmarks = sorted(set(wanted) & set(fit.benchmarks))
    if not benchmarks:
        return None
    # with the scores each model has, so that a fitter that reads them (the forecaster) predicts a
    # model's missing benchmarks from its others; a fitter of covariates alone reads none of them.
    # Its targets hold the headline-setting scores alone, as preferred_scores does.
    everyone = load_fit_data(conn, sorted(fit.benchmarks))
    have = everyone.scores.filter(pl.col("benchmark").is_in(benchmarks)).select("model_id", "benchmark")
    counts = have.group_by("model_id").len()
    complete = set(counts.filter(pl.col("len") == len(benchmarks))["model_id"].to_list())
    everyone = everyone.select_models([m for m in everyone.model_ids if m not in complete])
    query = with_covariates(everyone, sorted(fit.instance.requires.needs))
    if not query.models.height:
        return None
    frame = predict_and_store(conn, fit.instance, fit.fit_id, query)
    missing = frame.filter(pl.col("benchmark").is_in(benchmarks)).join(have, on=["model_id", "benchmark"], how="anti")
    progress(f"      {fit.fitter}: predicted {missing.height} missing scores of {query.models.height} models")
    # how far past the targets' latest release and below their smallest size each model lies, where
    # the fitter keeps that horizon
    after = horizon_columns(fit.instance.learned_parameters(), query.models)
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
