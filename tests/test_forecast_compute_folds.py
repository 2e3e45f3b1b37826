"""The larger kind's compute folds: the next quarters of FLOPs, and the largest quarter from half
the training data (past a gap, as a compute cut-off's test models are), without its test models'
families (their smaller models would bridge the gap with a family effect)."""

from __future__ import annotations

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
from obslaws_forecast.calibration import fold_group
from obslaws_forecast.inner import inner_folds
from obslaws_forecast.matrix import LogitMatrix

from obslaws.data import FitData
from obslaws.testing import synthetic_data

GAP = "compute >q75 from q50"


def _data() -> FitData:
    """Synthetic families where the largest quarter holds both families with smaller models below
    the median (fam3) and families seen only at the top (fam4, fam5), and some families stay below
    it (fam0-fam2): every family of the default synthetic data spans every size, so a gap fold
    without its test models' families would have nothing to train on."""
    data = synthetic_data(n_families=6)
    top = pl.col("family_group").is_in(["fam4", "fam5"])
    keep = data.models.filter(pl.when(top).then(pl.col("params") >= 3e9).otherwise(pl.col("params") < 7e9))
    return data.select_models(keep["model_id"])


def _folds(data: FitData, **options) -> tuple[dict, LogitMatrix]:
    matrix = LogitMatrix.build(data, list(data.targets))
    folds = inner_folds(matrix.models, matrix.observed, len(data.targets), **options)
    return {f.name: f for f in folds}, matrix


def test_the_largest_quarter_is_also_predicted_from_the_models_up_to_the_median():
    folds, matrix = _folds(_data())
    flops = matrix.models["flops"].to_numpy()
    families = matrix.models["family"].to_numpy()
    q50, q75 = np.quantile(flops, [0.5, 0.75])
    gap, last = folds[GAP], folds["compute >q75"]
    assert gap.kind == last.kind == "larger" and fold_group(gap.name) == fold_group(last.name)
    assert np.array_equal(gap.hide, last.hide) and gap.hide.any(axis=1).tolist() == (flops > q75).tolist()
    assert last.train.tolist() == (flops <= q75).tolist()
    # up to the median, less every model of a family the largest quarter holds
    tested = set(families[flops > q75])
    assert gap.train.tolist() == [f <= q50 and fam not in tested for f, fam in zip(flops, families, strict=True)]
    # which removes a family's smaller models the largest quarter's fold keeps (fam3's)
    assert (last.train & ~gap.train & (flops <= q50)).any()
    # its models extrapolate further than the next quarter's: at least 3 times the largest training FLOPs
    assert flops[gap.hide.any(axis=1)].min() / flops[gap.train].max() > flops[last.hide.any(axis=1)].min() / q75


def test_version_13s_gap_fold_kept_the_test_models_families():
    data = _data()
    new, matrix = _folds(data)
    old, _ = _folds(data, gap_new_families=False)
    flops = matrix.models["flops"].to_numpy()
    assert old[GAP].train.tolist() == (flops <= np.quantile(flops, 0.5)).tolist()
    assert (old[GAP].train & ~new[GAP].train).any() and not (new[GAP].train & ~old[GAP].train).any()
    assert all(
        np.array_equal(new[f].train, old[f].train) and np.array_equal(new[f].hide, old[f].hide) for f in new if f != GAP
    )


def test_a_gap_fold_left_without_training_models_is_not_made():
    # every synthetic family spans every size: all of them reach the largest quarter
    folds, _ = _folds(synthetic_data())
    assert GAP not in folds and "compute >q75" in folds
    assert GAP in _folds(synthetic_data(), gap_new_families=False)[0]


def test_the_gap_fold_serves_the_larger_kind_alone():
    data = _data()
    fitted = ForecastFitter(poolings=(1.0, 8.0), ranks=(1,), blends=(0.0, 1.0), stack=()).fit(data)
    learned = fitted.learned_parameters()
    assert learned["inner_folds"][GAP] == "larger"
    configs = {k: v for k, v in learned["compared"].items() if ":" not in k}
    assert all(GAP in v for v in configs.values())  # every configuration is scored on it
    # the larger kind's held-out check leaves its two groups out (the gap fold with the largest
    # quarter's, whose test cells it shares)
    assert set(learned["compared"]["larger: choose on own folds (held-out fold)"]) == {
        "compute q50-q75",
        "compute >q75",
    }
    out = fitted.predict(data.hide_scores())
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()


def test_the_fitter_passes_the_choice_of_gap_fold_to_its_inner_folds():
    data, options = _data(), dict(poolings=(1.0,), ranks=(1,), blends=(0.0,), stack=(), stack_larger=())
    scores = {}
    for flag in (True, False):
        compared = ForecastFitter(gap_new_families=flag, **options).fit(data).learned_parameters()["compared"]
        scores[flag] = {k: v for k, v in compared.items() if ":" not in k}
    assert scores[True].keys() == scores[False].keys()
    for config, folds in scores[True].items():
        assert folds[GAP] != scores[False][config][GAP]  # the gap fold trains on other models
        assert {f: v for f, v in folds.items() if f != GAP} == {
            f: v for f, v in scores[False][config].items() if f != GAP
        }
