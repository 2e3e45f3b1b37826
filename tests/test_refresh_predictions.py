"""The refresh's predictions of missing scores are made from what each model has: a fitter that
reads a model's other scores (the forecaster, the logit-svd baseline) is given them, and the
default plan predicts with the forecaster, the default for forecasting. Where the predicting fitter
keeps a question horizon, each prediction says how far past the targets' latest release its model
lies and how many times smaller it is than their smallest model, and the report counts those
further ahead than the fitter's time folds tested and those smaller."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import replace

import polars as pl
import pytest
from obslaws_baselines.sigmoid import FlopsSigmoidFamilyFitter
from obslaws_forecast import ForecastFitter, LogitSVD
from test_refresh_schedule import FAST_PLUGINS_ONLY, PLAN

import obslaws
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.errors import FitterError
from obslaws.fitting.selection import with_covariates
from obslaws.fitting.store import fit_and_store
from obslaws.refresh.config import load_config
from obslaws.refresh.outcome import FitOutcome
from obslaws.refresh.parallel import fit_job
from obslaws.refresh.pipeline import refresh
from obslaws.refresh.predict import new_model_check, predict_missing
from obslaws.report.build import _predictions_section
from obslaws.store.query import read_frame
from obslaws.store.read import load_fit_data


def test_a_models_missing_scores_are_predicted_from_the_scores_it_has(registry_db, tmp_path):
    path = tmp_path / "refresh.duckdb"
    shutil.copy(registry_db, path)
    conn = obslaws.connect(path, plugins=False)
    data = load_fit_data(conn, resolve_benchmarks("oll-v1"))
    fitter = LogitSVD()
    fit_id = fit_and_store(conn, fitter, data)
    config = replace(load_config(), report={"predict_fitter": "logit-svd", "predict_benchmarks": "oll-v1"})
    fitted = FitOutcome("logit-svd", "obslaws_forecast", "fitted", fit_id, benchmarks=data.targets, instance=fitter)
    missing = predict_missing(conn, config, [fitted], lambda _line: None)
    # a model with some of its Open LLM Leaderboard v1 scores and not all
    have = data.scores.filter(pl.col("benchmark").is_in(data.targets)).group_by("model_id").len()
    partial = have.filter(pl.col("len") < len(data.targets)).sort("model_id")["model_id"][0]
    predicted = missing.filter(pl.col("model_id") == partial).sort("benchmark")
    assert predicted.height == len(data.targets) - have.filter(pl.col("model_id") == partial)["len"][0]
    cells = predicted.select("model_id", "benchmark")
    own = fitter.predict(data.select_models([partial])).join(cells, on=["model_id", "benchmark"]).sort("benchmark")
    blind = fitter.predict(data.select_models([partial]).hide_scores(data.benchmarks["benchmark"].to_list()))
    blind = blind.join(cells, on=["model_id", "benchmark"]).sort("benchmark")
    assert predicted["prediction"].to_list() == own["prediction"].to_list()  # read from its other scores
    assert predicted["prediction"].to_list() != blind["prediction"].to_list()  # as they were before
    conn.close()


def test_the_default_plan_predicts_with_the_forecaster():
    assert load_config().report["predict_fitter"] == "forecast"


def test_a_plan_that_names_no_report_fitters_gets_the_shipped_plans(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('[backtest]\ntime_split = { benchmarks = "oll-v1", date = "2024-01-01" }\n')
    mine, shipped = load_config(plan), load_config()
    assert mine.report == {}
    assert mine.predict_fitter == shipped.report["predict_fitter"] == shipped.predict_fitter
    assert mine.curve_fitter == shipped.report["curve_fitter"] == shipped.curve_fitter


def test_a_plan_relying_on_the_default_report_fitters_is_refreshed_anew_when_they_change(tmp_path, monkeypatch):
    import obslaws
    import obslaws.refresh.config as plan_module
    from obslaws.refresh.state import state_hash

    relying, naming = tmp_path / "relying.toml", tmp_path / "naming.toml"
    relying.write_text('[backtest]\ntime_split = { benchmarks = "oll-v1", date = "2024-01-01" }\n')
    naming.write_text(relying.read_text() + '[report]\npredict_fitter = "forecast"\ncurve_fitter = "densing"\n')
    conn = obslaws.connect(tmp_path / "x.duckdb")
    plans = {"relying": load_config(relying), "naming": load_config(naming), "shipped": load_config()}
    assert plans["shipped"].hashed_plan() == plans["shipped"].raw  # its hash is that of its text
    before = {name: state_hash(conn, plan.hashed_plan(), {}) for name, plan in plans.items()}
    monkeypatch.setattr(plan_module, "DEFAULT_PREDICT_FITTER", "sloth")  # a later release's default
    after = {name: state_hash(conn, plan.hashed_plan(), {}) for name, plan in plans.items()}
    assert after["relying"] != before["relying"]  # its predictions come from another fitter now
    assert after["naming"] == before["naming"] and after["shipped"] == before["shipped"]
    conn.close()


def test_the_new_model_check_hides_the_new_models_measured_targets(registry_db, tmp_path):
    path = tmp_path / "refresh.duckdb"
    shutil.copy(registry_db, path)
    conn = obslaws.connect(path, plugins=False)
    data = load_fit_data(conn, resolve_benchmarks("oll-v1"))
    have = data.scores.filter(pl.col("benchmark").is_in(data.targets)).group_by("model_id").len()
    new = have.filter(pl.col("len") == len(data.targets)).sort("model_id")["model_id"][-1]
    config = replace(load_config(), report={"predict_fitter": "logit-svd"})
    fitted = FitOutcome("logit-svd", "obslaws_forecast", "fitted", None, benchmarks=data.targets, instance=LogitSVD())
    frame = new_model_check(
        lambda benchmarks, source=None: load_fit_data(conn, benchmarks, source=source),
        config,
        [fitted],
        {new},
        lambda _line: None,
    ).sort("benchmark")
    without = LogitSVD().fit(data.select_models([m for m in data.model_ids if m != new]))
    query = data.select_models([new])
    blind = without.predict(query.hide_scores(data.targets)).sort("benchmark")
    assert frame["prediction"].to_list() == blind["prediction"].to_list()  # from its inputs alone
    measured = query.scores.filter(pl.col("benchmark").is_in(data.targets)).sort("benchmark")
    assert frame.drop_nulls("measured")["measured"].to_list() == measured["value"].to_list()
    leaked = without.predict(query).sort("benchmark")  # as the check read it before: its own targets
    assert leaked["prediction"].to_list() != blind["prediction"].to_list()
    conn.close()


@pytest.fixture(scope="module")
def forecast_missing(registry_db, tmp_path_factory) -> tuple:
    """The refresh's predictions of the registry's missing OLL v1 scores by a small forecaster: the
    fitter, its data and the predictions."""
    path = tmp_path_factory.mktemp("refresh") / "refresh.duckdb"
    shutil.copy(registry_db, path)
    conn = obslaws.connect(path, plugins=False)
    data = load_fit_data(conn, resolve_benchmarks("oll-v1"))
    small = {"poolings": (8.0,), "ranks": (1,), "blends": (0.0,), "stack": (), "stack_larger": (), "stack_anchored": ()}
    fitter = ForecastFitter(**small)
    fit_id = fit_and_store(conn, fitter, data)
    config = replace(load_config(), report={"predict_fitter": "forecast", "predict_benchmarks": "oll-v1"})
    fitted = FitOutcome("forecast", "obslaws_forecast", "fitted", fit_id, benchmarks=data.targets, instance=fitter)
    missing = predict_missing(conn, config, [fitted], lambda _line: None)
    conn.close()
    return fitter, data, missing


def test_the_forecasters_predictions_say_how_far_past_the_targets_each_model_lies(forecast_missing):
    fitter, data, missing = forecast_missing
    latest = dt.date.fromisoformat(fitter.learned_parameters()["question_horizon"]["latest_target_release"])
    dates = data.models.select("model_id", "release_date")
    rows = missing.join(dates, on="model_id").unique("model_id")
    later = rows.filter(pl.col("release_date") > latest)
    assert later.height and later["months_checked"].to_list() == [6.0] * later.height
    expected = ((later["release_date"] - latest).dt.total_days() / 30.44).round(1)
    assert later["months_after_targets"].to_list() == expected.to_list()
    assert rows.filter(pl.col("release_date") <= latest)["months_after_targets"].is_null().all()
    section = "\n".join(_predictions_section(missing.sort(["model_id", "benchmark"])))
    far = missing.filter(pl.col("months_after_targets") > 6)
    assert f"{far['model_id'].n_unique()} of these models ({far.height} scores) were released more than 6" in section


def test_the_forecasters_predictions_say_how_much_smaller_than_the_targets_smallest_model_each_is(forecast_missing):
    """The registry's OLL v1 targets start at Pythia-70M; its 10M-parameter OpenLM models (Gadre et
    al. 2024, scored on other suites) are forecast below that size, which no inner fold checks."""
    fitter, data, missing = forecast_missing
    smallest = fitter.learned_parameters()["question_horizon"]["smallest_target_params"]
    scored = data.scores.filter(pl.col("benchmark").is_in(list(data.targets)))["model_id"].unique().to_list()
    assert smallest == data.models.filter(pl.col("model_id").is_in(scored))["params"].min()
    sizes = missing.join(data.models.select("model_id", "params"), on="model_id").unique("model_id")
    below = sizes.filter(pl.col("params") < smallest)
    assert below.height and below["model_id"].str.starts_with("gadre2024/").all()
    assert below["times_smaller_than_targets"].to_list() == (smallest / below["params"]).round(1).to_list()
    assert sizes.filter(pl.col("params") >= smallest)["times_smaller_than_targets"].is_null().all()
    section = "\n".join(_predictions_section(missing.sort(["model_id", "benchmark"])))
    flagged = missing.filter(pl.col("times_smaller_than_targets").is_not_null())
    counted = f"{flagged['model_id'].n_unique()} of these models ({flagged.height} scores) are smaller than every"
    assert counted in section


@pytest.fixture
def small_refresh(registry_db, tmp_path, monkeypatch) -> tuple:
    """A copy of the registry's database and the cut-down plan of the baselines, predicting with one of them."""
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", FAST_PLUGINS_ONLY)
    path = tmp_path / "refresh.duckdb"
    shutil.copy(registry_db, path)
    (tmp_path / "plan.toml").write_text(PLAN)
    return obslaws.connect(path), load_config(tmp_path / "plan.toml")


def _stored(conn, fit_id: str) -> pl.DataFrame:
    query = "SELECT model_id, benchmark, prediction, lower, upper FROM predictions WHERE fit_id = ?"
    return read_frame(conn, query, [fit_id]).sort("model_id", "benchmark")


def test_the_predicting_fits_worker_predicts_what_the_parent_would(small_refresh):
    """The predicting fit's worker predicts the missing scores after fitting (the forecaster's
    stacked members are fitted there, beside the backtests); the parent stores them as it would
    have predicted them itself."""
    conn, config = small_refresh
    lines: list[str] = []
    outcome = refresh(conn, config, workers=2, progress=lines.append, force=True)
    fit = next(f for f in outcome.fits if f.fitter == "flops-sigmoid-family")
    assert fit.predicted is not None and fit.predicted.error is None
    assert fit.predicted.timing.worker != os.getpid()  # in a worker process
    assert any("missing scores" in line and "in its fit's worker" in line for line in lines)
    stored = _stored(conn, fit.fit_id)
    here = fit.instance.predict(fit.predicted.asked.query).sort("model_id", "benchmark")
    assert stored.height == here.height > 0
    assert stored.equals(here.select(stored.columns))
    assert outcome.predictions.height > 0
    assert set(outcome.predictions["benchmark"].unique()) <= set(resolve_benchmarks("oll-v1"))
    conn.close()


def test_a_prediction_that_fails_in_the_fits_worker_is_reported_and_writes_nothing(small_refresh, monkeypatch):
    conn, config = small_refresh

    def refuse(self, query):
        raise FitterError(f"{self.name}: refused to predict (a test)")

    monkeypatch.setattr(FlopsSigmoidFamilyFitter, "_predict", refuse)  # one worker: the fit runs here
    lines: list[str] = []
    outcome = refresh(conn, config, workers=1, progress=lines.append, force=True)
    fit = next(f for f in outcome.fits if f.fitter == "flops-sigmoid-family")
    assert fit.status == "fitted" and isinstance(fit.predicted.error, FitterError)
    assert "      predictions skipped: flops-sigmoid-family: refused to predict (a test)" in lines
    assert outcome.predictions is None and _stored(conn, fit.fit_id).height == 0
    assert outcome.refresh_id is not None  # the rest of the refresh went on
    assert any(b.status == "done" for b in outcome.backtests if b.fitter == "flops-sigmoid")
    conn.close()


class _CompletesWhenAsked(FlopsSigmoidFamilyFitter):
    """A fitter that, as the forecaster does with its stacked members, completes itself the first
    time it is asked to predict (and says so in its learned parameters)."""

    def _predict(self, query):
        self.asked_ = True
        return super()._predict(query)

    def learned_parameters(self) -> dict:
        return super().learned_parameters() | {"asked": getattr(self, "asked_", False)}


def test_the_fit_a_worker_returns_is_the_fits_alone_though_it_predicted_after_it(registry_db):
    conn = obslaws.connect(registry_db, plugins=False, read_only=True)
    data = with_covariates(load_fit_data(conn, resolve_benchmarks("oll-v1")), ["family", "flops"])
    conn.close()
    fitted, _, (frame, timing) = fit_job(_CompletesWhenAsked(), data, data)
    assert timing.seconds >= 0 and frame.height > 0
    assert fitted.learned_parameters() == _CompletesWhenAsked().fit(data).learned_parameters()
    assert fitted.learned_parameters()["asked"] is False  # as `obslaws fit` stores it
    assert frame.equals(fitted.predict(data))
