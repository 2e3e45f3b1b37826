"""The larger kind's compute folds: the next quarters of FLOPs, and the largest quarter from half
the training data (past a gap, as a compute cut-off's test models are)."""

from __future__ import annotations

import numpy as np
from obslaws_forecast import ForecastFitter
from obslaws_forecast.calibration import fold_group
from obslaws_forecast.inner import inner_folds
from obslaws_forecast.matrix import LogitMatrix

from obslaws.testing import synthetic_data


def test_the_largest_quarter_is_also_predicted_from_the_models_up_to_the_median():
    data = synthetic_data()
    matrix = LogitMatrix.build(data, list(data.targets))
    folds = {f.name: f for f in inner_folds(matrix.models, matrix.observed, len(data.targets))}
    flops = matrix.models["flops"].to_numpy()
    q50, q75 = np.quantile(flops, [0.5, 0.75])
    gap, last = folds["compute >q75 from q50"], folds["compute >q75"]
    assert gap.kind == last.kind == "larger" and fold_group(gap.name) == fold_group(last.name)
    assert np.array_equal(gap.hide, last.hide) and gap.hide.any(axis=1).tolist() == (flops > q75).tolist()
    assert gap.train.tolist() == (flops <= q50).tolist() and last.train.tolist() == (flops <= q75).tolist()
    # its models extrapolate further than the next quarter's: at least 3 times the largest training FLOPs
    assert flops[gap.hide.any(axis=1)].min() / flops[gap.train].max() > flops[last.hide.any(axis=1)].min() / q75


def test_the_gap_fold_serves_the_larger_kind_alone():
    data = synthetic_data()
    fitted = ForecastFitter(poolings=(1.0, 8.0), ranks=(1,), blends=(0.0, 1.0), stack=()).fit(data)
    learned = fitted.learned_parameters()
    gap = "compute >q75 from q50"
    assert learned["inner_folds"][gap] == "larger"
    configs = {k: v for k, v in learned["compared"].items() if ":" not in k}
    assert all(gap in v for v in configs.values())  # every configuration is scored on it
    # the larger kind's held-out check leaves its two groups out (the gap fold with the largest
    # quarter's, whose test cells it shares)
    assert set(learned["compared"]["larger: choose on own folds (held-out fold)"]) == {
        "compute q50-q75",
        "compute >q75",
    }
    out = fitted.predict(data.hide_scores())
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
