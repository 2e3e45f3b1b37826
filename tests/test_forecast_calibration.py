"""How the forecaster's interval widths follow the predicted score: chosen on held-out inner folds."""

from __future__ import annotations

import numpy as np
from obslaws_forecast.calibration import choose_power, held_out_coverage
from obslaws_forecast.scale import spread
from obslaws_forecast.select import FoldResult, conformal_widths, width_for

LEVEL = 0.9


def _results(true_power: float) -> dict[str, FoldResult]:
    """Three time cuts, each predicting at another score level (middle, floor, in between), with
    logit errors ~ 1 / spread ** ``true_power`` (1: errors in points the same at every level;
    0.5: errors in points ~ sqrt(p (1 - p)), binomial-like)."""
    rng = np.random.default_rng(0)
    out = {}
    for name, logit in (("cut-6m n=0", 0.0), ("cut-9m n=0", -3.3), ("cut-12m n=0", -2.0)):
        logits = np.full(400, logit)
        s = spread(logits)
        residuals = rng.normal(size=400) / s**true_power
        cats = np.array(["unseen family, no scores"] * 400, dtype=object)
        out[name] = FoldResult(1.0, residuals, logits, np.zeros(400, dtype=int), cats)
    return out


def _choose(results):
    return choose_power(
        results,
        LEVEL,
        lambda rs, p: conformal_widths("*", rs, LEVEL, p),
        lambda ws, cat, j: width_for(ws, "*", cat, j),
    )


def test_power_one_is_kept_where_it_covers_the_held_out_folds():
    power, record = _choose(_results(1.0))
    assert power == 1.0
    assert np.mean(list(record["power=1"].values())) >= LEVEL
    assert set(record["power=1"]) == {"cut-6m", "cut-9m", "cut-12m"}


def test_a_smaller_power_is_taken_where_power_one_falls_short():
    results = _results(0.5)
    short = held_out_coverage(
        results,
        LEVEL,
        1.0,
        lambda rs, p: conformal_widths("*", rs, LEVEL, p),
        lambda ws, cat, j: width_for(ws, "*", cat, j),
    )
    assert np.mean(list(short.values())) < 0.85  # widths learnt at the floor miss the middle
    power, record = _choose(results)
    assert power == 0.5
    assert abs(np.mean(list(record["power=0.5"].values())) - LEVEL) < 0.05
