"""How the forecaster's intervals map back near the floor and the ceiling, chosen on held-out inner
folds by the interval score. On the logit scale a width learnt in the middle of the scale becomes,
where the spread is floored, a step that spans nearly the whole scale (a model predicted at 1% of
GSM8K bounded by 0-97%); on the score scale it stays the width it was learnt as. Which one a kind
takes is what its held-out fold groups say: the score scale where predictions at the floor stay
there, the logit scale where they jump."""

from __future__ import annotations

import numpy as np
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.bounds import LOGIT, MAPPING_RECORD, NEAR, bounds, choose_mapping, interval_score
from obslaws_forecast.scale import to_logit
from obslaws_forecast.select import FoldResult, conformal_widths, width_for

from obslaws.testing import synthetic_data

LEVEL = 0.9
CAT = "seen family, scores"
FLOOR = float(to_logit(np.array(0.01), np.array(0.0)))


def _bounds(z: float, width: float, near: bool) -> tuple[float, float]:
    lower, upper = bounds(np.array([z]), np.array([width]), np.array([1.0]), np.array([0.0]), near)
    return float(lower[0]), float(upper[0])


def test_near_the_floor_a_width_learnt_mid_scale_maps_to_points_not_to_the_whole_scale():
    logit = _bounds(FLOOR, 0.25, near=False)
    score = _bounds(FLOOR, 0.25, near=True)
    assert logit[1] > 0.95  # 25 points learnt mid-scale: a logit step from 1% to beyond 95%
    assert score == pytest.approx((0.0, 0.26))  # 1% + 25 points, clipped at the floor
    assert logit[0] > 0.0 and score[0] == 0.0  # a score at the floor lies below every logit interval
    # away from the bounds the two mappings are one, to the bit
    z = np.linspace(-3.0, 3.0, 25)
    width = np.full(z.size, 0.1)
    same = [bounds(z, width, np.full(z.size, 0.75), np.full(z.size, 0.25), near) for near in (False, True)]
    assert np.array_equal(same[0][0], same[1][0]) and np.array_equal(same[0][1], same[1][1])


def test_the_interval_score_is_the_width_plus_twenty_times_each_miss():
    lower, upper = np.array([0.2, 0.2, 0.2]), np.array([0.4, 0.4, 0.4])
    scores = interval_score(lower, upper, np.array([0.3, 0.1, 0.5]), LEVEL)
    assert scores == pytest.approx([0.2, 0.2 + 20 * 0.1, 0.2 + 20 * 0.1])


def _folds(floor_truth: float) -> dict[str, FoldResult]:
    """Three time cuts, each with 300 mid-scale cells (logit errors ~ N(0, 0.8)) and 60 predicted at
    1%, whose truths are ``floor_truth`` (0: they stay at the floor; 0.6: they jump)."""
    rng = np.random.default_rng(0)
    out = {}
    for name in ("cut-6m n=0", "cut-9m n=0", "cut-12m n=0"):
        logits = np.concatenate([np.zeros(300), np.full(60, FLOOR)])
        mid = 1.0 / (1.0 + np.exp(-rng.normal(scale=0.8, size=300)))
        truth = np.concatenate([mid, np.full(60, floor_truth)])
        residuals = to_logit(truth, np.zeros(truth.size)) - logits
        cats = np.array([CAT] * truth.size, dtype=object)
        errors = 100 * np.abs(1.0 / (1.0 + np.exp(-logits)) - truth)
        out[name] = FoldResult(
            float(errors.mean()), residuals, logits, np.zeros(truth.size, dtype=int), cats, errors, truth=truth
        )
    return out


def _choose(results: dict[str, FoldResult]) -> tuple[str, dict]:
    return choose_mapping(
        results,
        LEVEL,
        1.0,
        lambda rs, p: conformal_widths("*", rs, LEVEL, p),
        lambda ws, cat, j: width_for(ws, "*", cat, j),
        np.array([0.0]),
    )


def test_folds_whose_floor_predictions_stay_at_the_floor_choose_the_score_scale():
    mapping, record = _choose(_folds(0.0))
    assert mapping == NEAR
    assert set(record[LOGIT]) == {"cut-6m", "cut-9m", "cut-12m"}
    assert all(record[NEAR][g] < record[LOGIT][g] for g in record[LOGIT])


def test_folds_whose_floor_predictions_jump_keep_the_logit_scale():
    mapping, record = _choose(_folds(0.6))
    assert mapping == LOGIT
    assert all(record[LOGIT][g] < record[NEAR][g] for g in record[LOGIT])


def test_results_without_truths_or_with_one_fold_group_keep_the_logit_scale():
    bare = {f: FoldResult(r.mae, r.residuals, r.logits, r.columns, r.categories) for f, r in _folds(0.0).items()}
    assert _choose(bare)[0] == LOGIT
    assert _choose({"cut-6m n=0": _folds(0.0)["cut-6m n=0"]})[0] == LOGIT


def test_a_fit_records_each_kind_s_mapping_and_bounds_its_predictions():
    data = synthetic_data()
    fitted = ForecastFitter(poolings=(8.0,), ranks=(1,), blends=(0.0,), stack=()).fit(data)
    learned = fitted.learned_parameters()
    assert set(learned["interval_mapping"]) == set(learned["spread_power"])
    assert set(learned["interval_mapping"].values()) <= {LOGIT, NEAR}
    assert any(key.endswith(MAPPING_RECORD) for key in learned["compared"])
    predicted = fitted.predict(data.hide_scores(data.targets))
    assert (predicted["lower"] <= predicted["prediction"]).all()
    assert (predicted["prediction"] <= predicted["upper"]).all()
