"""A time, compute or family-group fold asks its question of a target only where its training
models hold enough of that target's scores. A benchmark that began to be run recently (Swallow's
suite from mid-2024) has a handful of scores, or none, before an early time cut: a fold that hid its
later cells would ask "predict this benchmark from almost nothing", a question the final fit,
trained on every score, never meets, and its errors would choose configurations and widen every
interval. The cell halves train on half of every target's scores by design and ask every target."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
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


def _folds(data: FitData, per_target: bool = True) -> tuple[list, np.ndarray]:
    matrix = LogitMatrix.build(data, list(data.targets))
    folds = inner_folds(matrix.models, matrix.observed, len(data.targets), min_train=MIN_TRAIN, per_target=per_target)
    return folds, matrix.observed


def test_a_fold_hides_a_target_only_where_its_training_models_hold_enough_of_its_scores():
    data, _, column = _late_target()
    folds, observed = _folds(data)
    assert {"cut-6m n=0", "cut-12m n=0", "groups 1/3", "cells 1/2"} <= {f.name for f in folds}
    for fold in folds:
        assert fold.hide[:, :column].any(), fold.name  # the other targets are still asked
        if fold.kind == "cells":  # every target, from the other half of its scores
            assert fold.hide[:, column].any(), fold.name
            continue
        trained_on = observed[fold.train].sum(axis=0)
        assert (trained_on[fold.hide.any(axis=0)] >= MIN_TRAIN).all(), fold.name
    # the 12-month cuts train on no score of the late target, so they do not ask it
    cuts = [f for f in folds if f.name.startswith("cut-12m")]
    assert cuts and not any(f.hide[:, column].any() for f in cuts)


def test_version_22_asked_every_target_of_every_fold():
    data, _, column = _late_target()
    folds, observed = _folds(data, per_target=False)
    cut = next(f for f in folds if f.name == "cut-12m n=0")
    assert cut.hide[:, column].any() and observed[cut.train, column].sum() < MIN_TRAIN


def test_a_fit_whose_time_folds_skip_a_target_still_predicts_and_bounds_it():
    data, late, _ = _late_target()
    fitted = ForecastFitter(poolings=(8.0,), ranks=(1,), blends=(0.0,), stack=()).fit(data)
    predicted = fitted.predict(data.hide_scores(data.targets)).filter(pl.col("benchmark") == late)
    assert predicted.height == data.models.height
    assert predicted.select(pl.all_horizontal(pl.col("prediction", "lower", "upper").is_finite())).to_series().all()
    assert (predicted["lower"] <= predicted["prediction"]).all()
    assert (predicted["prediction"] <= predicted["upper"]).all()
