"""The sigmoid baselines' batched ``fit_many`` equals fitting each fold on its own.

The engine adds in order, so padding a fold to the largest one changes no bit; the tolerances
only leave room for a platform's last-bit differences (a flipped early-stopping step would move
parameters by far more).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from obslaws_baselines import FlopsSigmoidFamilyFitter, FlopsSigmoidFitter

from obslaws.testing import synthetic_data


def _folds() -> tuple[list, list]:
    """Train and held-out data of unequal folds: fold k holds out the first k + 1 families."""
    data = synthetic_data()
    families = sorted(data.models["family"].unique().to_list())
    trains, tests = [], []
    for k in (0, 2, 5):
        held = families[: k + 1]
        in_held = data.models["family"].is_in(held)
        trains.append(data.select_models(data.models.filter(~in_held)["model_id"]))
        tests.append(data.select_models(data.models.filter(in_held)["model_id"]))
    return trains, tests


@pytest.mark.parametrize(
    "fitter",
    [
        FlopsSigmoidFitter(n_iter_no_change=100),
        FlopsSigmoidFamilyFitter(n_iter_no_change=100),
        FlopsSigmoidFamilyFitter(n_iter_no_change=100, learn_floor=False, learning_rates=(0.1, 0.01)),
    ],
    ids=["shared", "family", "family-fixed-floor"],
)
def test_fit_many_equals_fitting_each_fold(fitter):
    trains, tests = _folds()
    batched = list(fitter.fit_many(trains))
    assert len(batched) == len(trains) and not fitter.is_fitted()
    for train, test, many in zip(trains, tests, batched, strict=True):
        one = fitter.clone().fit(train)
        assert one.families_ == many.families_
        assert np.array_equal(one.lr_, many.lr_) and np.array_equal(one.steps_, many.steps_)
        for attr in ("slope_", "offsets_", "floor_", "train_mae_", "half_width_"):
            np.testing.assert_allclose(getattr(many, attr), getattr(one, attr), rtol=1e-12, atol=1e-15)
        expected, got = one.predict(test), many.predict(test)
        assert expected.height == got.height == test.models.height * len(train.targets)
        for column in ("prediction", "lower", "upper"):
            np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12, atol=1e-15)
        assert expected["prediction"].round(4).equals(got["prediction"].round(4))
        assert many.learned_parameters()["targets"] == list(train.targets)


def test_fit_many_of_no_folds_and_failures_name_the_fitter():
    assert list(FlopsSigmoidFitter().fit_many([])) == []
    trains, _ = _folds()
    tiny = trains[0].select_models(trains[0].models["model_id"].head(2))
    with pytest.raises(Exception, match="flops-sigmoid: 2 training models"):
        FlopsSigmoidFitter(n_iter_no_change=50).fit_many([trains[0], tiny])


def test_per_fold_fit_still_fits_and_refits_cleanly():
    trains, tests = _folds()
    fitter = FlopsSigmoidFamilyFitter(n_iter_no_change=100).fit(trains[2])
    first = fitter.predict(tests[2])
    assert first["prediction"].is_finite().all()
    fitter.fit(trains[0]).fit(trains[2])
    assert fitter.predict(tests[2]).equals(first)
    assert set(first["model_id"]) == set(tests[2].models["model_id"])
    assert first.filter(pl.col("lower") > pl.col("prediction")).height == 0
