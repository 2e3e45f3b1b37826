"""Recency weights in the ridge on logits, a choice per target of the `later` kind's blends."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from obslaws_forecast.covariate import recency
from obslaws_forecast.design import ModelTable
from obslaws_forecast.engine import Config, logit_ridge
from obslaws_forecast.select import Scoreboard
from obslaws_forecast.target_blends import BLENDS, blend_candidates, choose_target_blends
from test_forecast import small_forecaster
from test_forecast_target_blends import _result, later_data

FOLDS = ("cut-6m n=0", "cut-6m n=1", "cut-9m n=0", "cut-12m n=0")
KIND = Config(pooling=2.0, rank=0, blend=0.5, on_logits=True)


def _table(years: list[float]) -> ModelTable:
    n = len(years)
    empty = np.array([""] * n, dtype=object)
    return ModelTable({"years": np.array(years, dtype=float)}, empty, empty, empty, empty)


def test_weights_halve_with_each_half_life_of_age_and_an_undated_model_weighs_as_the_median():
    weights = recency(_table([0.0, 1.0, 2.0, np.nan]), 1.0)
    assert np.allclose(weights[:3], [0.25, 0.5, 1.0])
    assert np.isclose(weights[3], 0.5)  # the median age of the dated ones: one year
    assert np.allclose(recency(_table([np.nan, np.nan]), 1.0), 1.0)  # none dated: no weighting


def test_the_ridge_on_logits_with_recency_follows_the_latest_models():
    # the target read 2 logits above its twin three years before the latest release, at it since
    rng = np.random.default_rng(0)
    twin = rng.normal(size=80)
    years = np.r_[np.zeros(40), np.full(40, 3.0)]
    target = twin + np.where(years < 1, 2.0, 0.0) + 0.01 * rng.normal(size=80)
    z, observed = np.column_stack([target, twin]), np.ones((80, 2), dtype=bool)
    query, seen = np.array([[0.0, 0.0]]), np.array([[False, True]])
    plain = logit_ridge(KIND, z, observed, _table(list(years)), 1).predict(query, seen, np.arange(1))[0, 0]
    recent = logit_ridge(replace(KIND, recency=0.5), z, observed, _table(list(years)), 1)
    assert 0.8 < plain < 1.2  # the two periods' lines averaged
    assert abs(recent.predict(query, seen, np.arange(1))[0, 0]) < 0.1  # 3 years: weight 1 / 64


def test_recency_is_offered_only_where_the_ridge_reads_logits():
    residual = replace(KIND, on_logits=False)
    candidates = blend_candidates((KIND, residual), BLENDS, (0.0, 1.0))
    assert len(candidates) == 1 + 2 * len(BLENDS)
    assert {c[0].recency for c in candidates} == {0.0, 1.0}
    assert {c[1].recency for c in candidates} == {0.0}
    assert blend_candidates((KIND, residual), BLENDS) == candidates[: 1 + len(BLENDS)]  # no recency: as before


def test_each_target_takes_recency_where_it_predicts_the_kinds_folds_better():
    board = Scoreboard(dict.fromkeys(FOLDS), dict.fromkeys(FOLDS, "later"), np.zeros(2), np.zeros((0, 2)))
    # target 0 errs 1 point with recency, 3 without; target 1 the other way round; the blend does not matter
    board.results = {
        replace(KIND, blend=b, recency=h): [_result((3.0 - 2 * h, 1.0 + 2 * h), 10)] * len(FOLDS)
        for b in BLENDS
        for h in (0.0, 1.0)
    }
    chosen, record = choose_target_blends(board, (KIND, KIND), list(FOLDS), 2, recencies=(0.0, 1.0))
    assert chosen is not None and [c.recency for c in chosen] == [1.0, 0.0]
    assert record["blend per target"] == {"cut-6m": 1.0, "cut-9m": 1.0, "cut-12m": 1.0}
    unchosen, _ = choose_target_blends(board, (KIND, KIND), list(FOLDS), 2)  # without recency: nothing to gain
    assert unchosen is None


def test_the_forecaster_scores_the_later_kinds_blends_with_recency_on_its_time_folds():
    options = {"ranks": (), "blends": (0.5,), "ridge_logits": (True,)}
    learned = small_forecaster(**options).fit(later_data()).learned_parameters()
    scored = [label for label in learned["compared"] if label.endswith("recency=1y")]
    assert scored and all("on logits" in label for label in scored)
    folds = set(learned["compared"][scored[0]])
    assert {f for f, kind in learned["inner_folds"].items() if kind == "later"} <= folds
    off = small_forecaster(**options, blend_recencies=(0.0,)).fit(later_data()).learned_parameters()
    assert not any("recency" in label for label in off["compared"])


def test_recency_counts_from_the_latest_model_with_a_target_score():
    # a model with inputs alone two years later would age every scored model alike: it is not the reference
    scored = np.array([True, True, True, False])
    weights = recency(_table([0.0, 1.0, 2.0, 4.0]), 1.0, scored)
    assert np.allclose(weights, [0.25, 0.5, 1.0, 1.0])  # the later one weighs as the latest scored
    assert np.allclose(recency(_table([0.0, 1.0, 2.0, 4.0]), 1.0)[:3], [1 / 16, 1 / 8, 1 / 4])
