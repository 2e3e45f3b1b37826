"""The level of the `cells` kind's conformal quantile, from its coarser folds (version 27).

The kind calibrates on quarter folds, every other choice reads the halves; a query's fit lacks none
of the matrix. The level is the one whose widths on the halves cover the quarters' cells closest to
the nominal level (``calibration.transferred_level``): the same step, measured inside the training
data, applied once more to the quarters' own widths."""

from __future__ import annotations

import numpy as np
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.calibration import LEVEL_RECORD, transferred_level
from obslaws_forecast.select import FoldResult, conformal_widths, width_for

from obslaws.testing import synthetic_data

LEVEL = 0.9
SMALL = {"poolings": (8.0,), "ranks": (1,), "blends": (0.0,), "stack": (), "stack_larger": (), "stack_anchored": ()}


def _result(scale: float, seed: int, cells: int = 600) -> FoldResult:
    """A fold's hidden cells in the middle of the scale, logit errors ~ N(0, ``scale``)."""
    rng = np.random.default_rng(seed)
    logits = np.zeros(cells)
    cats = np.array(["seen family, scores"] * cells, dtype=object)
    return FoldResult(1.0, rng.normal(scale=scale, size=cells), logits, rng.integers(0, 3, cells), cats)


def _level(fine_scale: float, coarse_scale: float) -> tuple[float, dict[str, float]]:
    fine = [_result(fine_scale, seed) for seed in range(4)]
    coarse = [_result(coarse_scale, seed) for seed in (10, 11)]
    return transferred_level(
        fine,
        coarse,
        LEVEL,
        1.0,
        lambda rs, at, p: conformal_widths("*", rs, at, p),
        lambda ws, cat, j: width_for(ws, "*", cat, j),
    )


def _coverage_at(level: float, errors: float) -> float:
    """The share of N(0, ``errors``) cells inside the ``level`` quantile of |N(0, 1)|."""
    width = np.quantile(np.abs(np.random.default_rng(1).normal(size=200_000)), level)
    return float(np.mean(np.abs(np.random.default_rng(2).normal(scale=errors, size=200_000)) <= width))


def test_the_same_errors_on_both_keep_about_the_nominal_level():
    level, record = _level(1.0, 1.0)
    assert abs(level - LEVEL) <= 0.02
    assert abs(record[f"level={level:.2f}"] - LEVEL) < 0.02


def test_coarser_folds_with_larger_errors_lower_the_level_by_the_step_they_show():
    # the halves' errors 1.3 times the quarters': their 90% widths cover about 0.97 of the quarters'
    # cells; the level whose widths cover 0.90 is that of |N| at 1.645 / 1.3, about 0.79
    level, record = _level(1.0, 1.3)
    assert record[f"level={LEVEL:.2f}"] > 0.96
    assert 0.76 <= level <= 0.82
    assert abs(record[f"level={level:.2f}"] - LEVEL) < 0.02
    # one step on, where the query's errors are 1.3 times smaller again, the quarters' widths at that
    # level cover about the nominal share (at the nominal level: about 0.97)
    assert abs(_coverage_at(level, 1 / 1.3) - LEVEL) < 0.03
    assert _coverage_at(LEVEL, 1 / 1.3) > 0.96


def test_coarser_folds_with_smaller_errors_raise_the_level():
    level, _ = _level(1.0, 0.9)
    assert level > LEVEL


def test_the_level_stays_within_its_span_and_without_coarser_folds_at_the_nominal():
    level, record = _level(1.0, 2.0)  # a step no level within the span can match
    assert level == pytest.approx(0.75)
    assert min(float(name.split("=")[1]) for name in record) == pytest.approx(0.75)
    assert transferred_level([_result(1.0, 0)], [], LEVEL, 1.0, None, None) == (LEVEL, {})


def test_the_cells_kind_records_its_level_and_narrows_only_its_own_widths():
    data = synthetic_data()
    nominal = ForecastFitter(transfer_level=False, **SMALL).fit(data)
    moved = ForecastFitter(**SMALL).fit(data)
    learned = moved.learned_parameters()
    record = learned["compared"][f"cells: {LEVEL_RECORD}"]
    chosen = min(record, key=lambda name: abs(record[name] - LEVEL))
    assert learned["interval_level"].get("cells", LEVEL) == pytest.approx(float(chosen.split("=")[1]))
    assert f"cells: {LEVEL_RECORD}" not in nominal.learned_parameters()["compared"]
    assert not nominal.learned_parameters()["interval_level"]
    before, after = nominal.selection_.widths, moved.selection_.widths
    assert {k: w for k, w in before.items() if k[0] != "cells"} == {k: w for k, w in after.items() if k[0] != "cells"}
    level = learned["interval_level"].get("cells", LEVEL)
    cells = [k for k in before if k[0] == "cells"]
    assert cells and all((after[k] <= before[k]) == (level <= LEVEL) for k in cells)
    assert moved.predict(data)["prediction"].equals(nominal.predict(data)["prediction"])  # widths, not predictions
