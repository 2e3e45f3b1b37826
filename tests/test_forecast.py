"""The forecast plugin: the default forecaster, its baselines and the Epoch benchmark-hub reader."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest
from conftest import SHARED, requires_shared
from obslaws_forecast import BenchmarkMean, ForecastFitter, LogitSVD

from obslaws import FitData, Requirements
from obslaws.backtest import CellHoldout, FamilyHoldout, run_backtest
from obslaws.errors import ValidationError
from obslaws.testing import synthetic_data

HUB = SHARED / "epoch-ai" / "benchmark-stitching-2025-12"
INPUTS = ("aux_a", "aux_b", "aux_c")


def small_forecaster(**options) -> ForecastFitter:
    """A forecaster with a small choice grid, so that tests stay fast."""
    return ForecastFitter(**{"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), **options})


def test_benchmark_mean_predicts_training_means():
    data = synthetic_data()
    fitted = BenchmarkMean().fit(data)
    out = fitted.predict(data.hide_scores())
    means = data.scores.group_by("benchmark").agg(pl.col("value").mean())
    joined = out.join(means, on="benchmark")
    assert np.allclose(joined["prediction"], joined["value"])


def test_logit_svd_recovers_a_rank_two_logit_matrix():
    rng = np.random.default_rng(0)
    n, j = 60, 8
    logits = 0.6 * rng.normal(size=(n, 2)) @ rng.normal(size=(2, j))  # inside the clipped range
    names = [f"b{k}" for k in range(j)]
    scores = pl.DataFrame(
        [
            {"model_id": f"m{i}", "benchmark": names[k], "value": float(1 / (1 + np.exp(-logits[i, k])))}
            for i in range(n)
            for k in range(j)
        ]
    )
    data = FitData.build(pl.DataFrame({"model_id": [f"m{i}" for i in range(n)]}), scores, targets=names)
    svd = run_backtest(LogitSVD(alpha=1e-3), data, CellHoldout(folds=1)).summary()["pooled"]
    mean = run_backtest(BenchmarkMean(), data, CellHoldout(folds=1)).summary()["pooled"]
    assert svd["mae_pt"] < 1.0 < 5 < mean["mae_pt"]


def test_forecast_beats_the_benchmark_mean_on_unseen_family_groups():
    data = synthetic_data()
    forecast = run_backtest(small_forecaster(), data, FamilyHoldout(n_train=1)).summary()
    mean = run_backtest(BenchmarkMean(), data, FamilyHoldout(n_train=1)).summary()
    assert forecast["average"]["mae_pt"] < 0.5 * mean["average"]["mae_pt"]
    assert 0.5 <= forecast["coverage"] <= 1.0


def test_forecast_uses_a_models_other_scores():
    """An unseen family's scores on other benchmarks reveal its efficiency: errors drop with them."""
    data = synthetic_data(Requirements(input_benchmarks=INPUTS))
    protocol = FamilyHoldout(n_train=0)
    with_inputs = run_backtest(small_forecaster(), data, protocol).summary()["average"]["mae_pt"]
    without = data.hide_scores(INPUTS).with_targets(data.targets)
    without_inputs = run_backtest(small_forecaster(), without, protocol).summary()["average"]["mae_pt"]
    assert with_inputs < 0.7 * without_inputs


def test_forecast_records_what_its_inner_folds_compared():
    data = synthetic_data()
    fitted = small_forecaster().fit(data)
    learned = fitted.learned_parameters()
    assert learned["chosen"]["pooling"] in (1.0, 8.0)
    assert "time>70%" in learned["inner_folds"] and "cells 1/2" in learned["inner_folds"]
    assert all(set(v) == set(learned["inner_folds"]) for v in learned["compared"].values())
    out = fitted.predict(data.hide_scores())
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()


def test_forecast_predicts_models_without_covariates():
    data = synthetic_data()
    bare = data.models.select("model_id").head(3)
    query = FitData.build(bare, benchmarks=data.benchmarks, targets=data.targets)
    out = small_forecaster().fit(data).predict(query)
    assert out.height == 3 * len(data.targets) and out["prediction"].is_finite().all()


@requires_shared()
def test_epoch_hub_reads_shares_with_dates():
    from obslaws_forecast.epoch_hub import load_hub

    data = load_hub(HUB)
    assert data.models.height > 300 and len(data.targets) > 30
    assert data.scores["value"].is_between(0, 1).all()
    assert {"epoch_mmlu", "epoch_gpqa_diamond", "epoch_gsm8k"} <= set(data.targets)
    assert data.models["release_date"].is_not_null().mean() > 0.8


@requires_shared()
def test_epoch_hub_bad_score_names_file_row_and_field(tmp_path):
    from obslaws_forecast.epoch_hub import load_hub

    folder = tmp_path / "hub"
    shutil.copytree(HUB, folder)
    path = folder / "external_benchmark_mmlu.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace("70.8%", "seventy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"external_benchmark_mmlu.csv.*row 3.*EM"):
        load_hub(folder)
