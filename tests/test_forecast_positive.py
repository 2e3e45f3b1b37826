"""The ridge on logits may read only benchmarks that correlate positively with the target: on
logits a negative correlation over the training models is inverse scaling among small models
(TruthfulQA falls as XWinograd rises below 1e23 FLOPs), which reverses past them."""

from __future__ import annotations

import numpy as np
from obslaws_forecast import ForecastFitter
from obslaws_forecast.correlated import CorrelatedRidge
from obslaws_forecast.select import stage2_grid
from test_forecast_logits import _twin_data


def _inverse_pair(seed: int = 0) -> np.ndarray:
    """Logits of a target, a benchmark that falls as the target rises (strongly) and one that
    rises with it (weakly), over 60 training models."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(size=60)
    return np.column_stack([skill, -skill + 0.2 * rng.normal(size=60), skill + 1.5 * rng.normal(size=60)])


def test_positive_reads_only_benchmarks_that_rise_with_the_target():
    z = _inverse_pair()
    observed = np.ones_like(z, dtype=bool)
    query, visible = np.array([[0.0, 3.0, 3.0]]), np.array([[False, True, True]])
    signed = CorrelatedRidge(k=1, intercept=True).fit(z, observed)
    positive = CorrelatedRidge(k=1, intercept=True, positive=True).fit(z, observed)
    assert signed._choice(0, visible[0]) == (1,)  # the stronger, negative correlation
    assert positive._choice(0, visible[0]) == (2,)
    # a model high on both: the negative input predicts it low, the positive one high
    assert signed.predict(query, visible, np.array([0]))[0, 0] < -1.5
    assert positive.predict(query, visible, np.array([0]))[0, 0] > 0.5
    # with only the negative one visible, the positive ridge has nothing to read
    assert np.isnan(positive.predict(query, np.array([[False, True, False]]), np.array([0]))[0, 0])


def test_positive_is_a_stage_two_choice_on_logits_only():
    grid = stage2_grid(("coverage",), (1,), (1.0,), (0.0, 1.0), (False,), (False, True), (False,), (False, True))
    assert any(g["positive"] for g in grid)
    assert all(g["on_logits"] for g in grid if g["positive"])
    assert not any(g["positive"] for g in stage2_grid(("coverage",), (1,), (1.0,), (1.0,), (False,), (True,), (False,)))


def test_the_forecaster_compares_positive_inputs_on_inner_folds():
    fitted = ForecastFitter(poolings=(1.0,), ranks=(1,), alphas=(1.0,), blends=(0.0, 1.0), max_inputs=4)
    learned = fitted.fit(_twin_data()).learned_parameters()
    assert any(label.endswith("positive only") for label in learned["compared"])
    assert all("positive" in c for c in learned["chosen"].values())
    alone = ForecastFitter(
        poolings=(1.0,), ranks=(1,), alphas=(1.0,), blends=(0.0, 1.0), max_inputs=4, ridge_positive=(False,)
    )
    assert not any("positive" in label for label in alone.fit(_twin_data()).learned_parameters()["compared"])
