"""Which inner folds a kind's interval widths come from: its own, or the wider of its own and every
fold's, chosen by leaving each of its fold groups out; and how many cells a width needs."""

from __future__ import annotations

import numpy as np
from obslaws_forecast import ForecastFitter
from obslaws_forecast.calibration import WIDTHS_FROM, choose_every_fold, held_out_coverage
from obslaws_forecast.inner import KINDS
from obslaws_forecast.select import MIN_CELLS, FoldResult, conformal_widths, wider_widths, width_for

from obslaws.testing import synthetic_data

LEVEL = 0.9
CAT = "unseen family, scores"


def _fold(rng: np.random.Generator, scale: float, cells: int = 300, benchmarks: int = 2) -> FoldResult:
    """Residuals ~ N(0, scale) at the middle of the scale (spread 1/4) on ``benchmarks`` benchmarks."""
    return FoldResult(
        1.0,
        rng.normal(scale=scale, size=cells),
        np.zeros(cells),
        np.arange(cells) % benchmarks,
        np.array([CAT] * cells, dtype=object),
    )


def _rules():
    return (lambda rs, p: conformal_widths("*", rs, LEVEL, p), lambda ws, cat, j: width_for(ws, "*", cat, j))


def test_a_kind_takes_every_folds_widths_where_its_own_folds_miss_a_shifted_group():
    rng = np.random.default_rng(0)
    # the third family group errs three times as much as the other two: widths from those miss it
    own = {"groups 1/3": _fold(rng, 1.0), "groups 2/3": _fold(rng, 1.0), "groups 3/3": _fold(rng, 3.0)}
    # the time folds (other kinds' folds, the kind's configuration on them) err as much as the third group
    every = {**own, "cut-6m n=0": _fold(rng, 3.0), "cut-9m n=0": _fold(rng, 3.0)}
    alone = held_out_coverage(own, LEVEL, 1.0, *_rules())
    assert alone["groups 3/3"] < 0.6
    wider, record = choose_every_fold(own, every, LEVEL, 1.0, *_rules())
    assert wider
    assert record["own folds"] == alone
    assert min(record["own and every fold"].values()) > min(alone.values()) + 0.2


def test_a_kind_keeps_its_own_widths_where_every_folds_would_cover_far_more_than_asked():
    rng = np.random.default_rng(1)
    own = {f"groups {k}/3": _fold(rng, 1.0) for k in (1, 2, 3)}
    every = {**own, "compute >q75": _fold(rng, 5.0), "cut-6m n=0": _fold(rng, 5.0)}
    wider, record = choose_every_fold(own, every, LEVEL, 1.0, *_rules())
    assert not wider
    assert min(record["own and every fold"].values()) > 0.97
    assert abs(min(record["own folds"].values()) - LEVEL) < 0.06


def test_a_kind_with_one_fold_group_keeps_its_own_widths():
    rng = np.random.default_rng(2)
    own = {"cut-6m n=0": _fold(rng, 1.0), "cut-6m n=1": _fold(rng, 1.0)}  # one group: one test window
    wider, record = choose_every_fold(own, {**own, "groups 1/3": _fold(rng, 3.0)}, LEVEL, 1.0, *_rules())
    assert not wider and record["own folds"] == {}


def test_a_width_needs_thirty_cells_else_it_is_its_categorys():
    rng = np.random.default_rng(3)
    # benchmark 0: 40 cells, benchmark 1: 25 (too few for a width of its own), one category
    fold = _fold(rng, 1.0, cells=65)
    fold.columns[:] = np.r_[np.zeros(40, dtype=int), np.ones(25, dtype=int)]
    widths = conformal_widths("later", [fold], LEVEL)
    assert MIN_CELLS == 30
    assert ("later", CAT, 0) in widths and ("later", CAT, 1) not in widths
    assert width_for(widths, "later", CAT, 1) == widths[("later", CAT, -1)]


def test_the_wider_widths_are_each_cells_wider_of_the_two():
    own = {("later", "*", -1): 0.2, ("later", CAT, -1): 0.3, ("later", CAT, 0): 0.1}
    other = {("later", "*", -1): 0.25, ("later", CAT, -1): 0.2, ("later", "seen family, scores", -1): 0.5}
    both = wider_widths("later", own, other)
    for cat in (CAT, "seen family, scores", "seen family, no scores"):
        for j in (0, 1):
            assert width_for(both, "later", cat, j) == max(
                width_for(own, "later", cat, j), width_for(other, "later", cat, j)
            )


def test_a_fit_records_which_folds_each_kinds_widths_come_from():
    data = synthetic_data()
    fitted = ForecastFitter(poolings=(1.0, 8.0), ranks=(1,), blends=(0.0, 1.0)).fit(data)
    learned = fitted.learned_parameters()
    sources = learned["interval_widths_from"]
    assert set(sources) == set(KINDS)
    # on this data the held-out groups decide both ways (the later kind keeps its own widths)
    assert set(sources.values()) == {"own folds", "own and every fold"}
    for kind, source in sources.items():
        record = learned["compared"][f"{kind}: {WIDTHS_FROM}"]
        own, both = (min(record[rule].values()) for rule in ("own folds", "own and every fold"))
        assert source == ("own and every fold" if abs(both - LEVEL) <= abs(own - LEVEL) else "own folds")
        assert both >= own  # wider widths cover at least as much of every held-out group
    out = fitted.predict(data.hide_scores())
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
