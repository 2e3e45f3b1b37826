"""An inner fold asks its question of a target only where its training models hold enough of that
target's scores. A benchmark that began to be run recently (Swallow's suite from mid-2024) has a
handful of scores, or none, before an early time cut: a fold that hid its later cells would ask
"predict this benchmark from almost nothing", a question the final fit, trained on every score,
never meets, and its errors would choose configurations and widen every interval."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from obslaws_forecast import inner
from obslaws_forecast.inner import inner_folds
from obslaws_forecast.matrix import LogitMatrix

from obslaws import FitData
from obslaws.testing import synthetic_data

MIN_TRAIN = 8


def _late_target() -> tuple[FitData, str, int]:
    """Synthetic data whose last target is scored only by the 12 latest models."""
    data = synthetic_data()
    late = data.targets[-1]
    latest = data.models.sort("release_date").tail(12)["model_id"].to_list()
    early = (pl.col("benchmark") == late) & ~pl.col("model_id").is_in(latest)
    return replace(data, scores=data.scores.filter(~early)), late, len(data.targets) - 1


def _folds(data: FitData) -> tuple[list, np.ndarray]:
    matrix = LogitMatrix.build(data, list(data.targets))
    return inner_folds(matrix.models, matrix.observed, len(data.targets), min_train=MIN_TRAIN), matrix.observed


def test_a_fold_hides_a_target_only_where_its_training_models_hold_enough_of_its_scores():
    data, _, column = _late_target()
    folds, observed = _folds(data)
    names = {f.name for f in folds}
    assert {"cut-6m n=0", "cut-12m n=0", "groups 1/3", "cells 1/2"} <= names
    asked = 0
    for fold in folds:
        trained_on = (observed[fold.train] & ~fold.hide[fold.train]).sum(axis=0)
        # every column a fold hides has enough training scores; the others are still asked
        assert (trained_on[fold.hide.any(axis=0)] >= MIN_TRAIN).all(), fold.name
        assert fold.hide[:, :column].any(), fold.name
        asked += bool(fold.hide[:, column].any())
    # the early time cuts train on no score of the late target, so they do not ask it; folds that
    # train on most of its scores (the cell halves, or family groups) still do
    cuts = [f for f in folds if f.name.startswith("cut-12m")]
    assert cuts and not any(f.hide[:, column].any() for f in cuts)
    assert 0 < asked < len(folds)


def test_version_22_asked_every_target_of_every_fold(monkeypatch: pytest.MonkeyPatch):
    data, _, column = _late_target()
    monkeypatch.setattr(inner, "PER_TARGET_MIN", False)
    folds, observed = _folds(data)
    cut = next(f for f in folds if f.name == "cut-12m n=0")
    assert cut.hide[:, column].any() and observed[cut.train, column].sum() < MIN_TRAIN


def test_a_fit_whose_time_folds_skip_a_target_still_predicts_and_bounds_it():
    from obslaws_forecast import ForecastFitter

    data, late, _ = _late_target()
    fitted = ForecastFitter(poolings=(8.0,), ranks=(1,), blends=(0.0,), stack=()).fit(data)
    predicted = fitted.predict(data.hide_scores(data.targets)).filter(pl.col("benchmark") == late)
    assert predicted.height == data.models.height
    assert predicted.select(pl.all_horizontal(pl.col("prediction", "lower", "upper").is_finite())).to_series().all()
    assert (predicted["lower"] <= predicted["prediction"]).all()
    assert (predicted["prediction"] <= predicted["upper"]).all()
