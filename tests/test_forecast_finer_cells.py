"""The `cells` kind's own folds (``finer_cells``, 4 since version 26): each hides a quarter of
every model's target cells, so the rest of the matrix is nearly as complete as a query's, and the
kind chooses and calibrates on those alone; every other choice (``all``, the other kinds) still
reads the halves. (A per-target rule of another kind chooses among every configuration scored,
which the cells kind's search may add to: on the registry's current data that moved one rolling
forecast, docs/forecasting.md; on the synthetic data here a query of another kind is unmoved.)"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.inner import inner_folds, kind_folds, own_only
from obslaws_forecast.matrix import LogitMatrix

from obslaws.errors import FitterError
from obslaws.testing import synthetic_data

SMALL = {"poolings": (8.0,), "ranks": (1,), "blends": (0.0,), "stack": (), "stack_larger": (), "stack_anchored": ()}


def _folds(finer: int) -> dict[str, object]:
    data = synthetic_data()
    matrix = LogitMatrix.build(data, list(data.targets))
    folds = inner_folds(matrix.models, matrix.observed, len(data.targets), finer_cells=finer)
    return {f.name: f for f in folds}


def test_the_finer_folds_split_every_models_cells_in_four_and_leave_the_halves_as_they_were():
    halves, finer = _folds(0), _folds(4)
    added = [name for name in finer if name not in halves]
    assert added == [f"cells {k}/4 finer" for k in (1, 2, 3, 4)]
    for name, fold in halves.items():
        assert np.array_equal(fold.hide, finer[name].hide) and np.array_equal(fold.train, finer[name].train), name
    parts = np.stack([finer[name].hide for name in added])
    assert (parts.sum(axis=0) <= 1).all()  # complementary
    assert np.array_equal(parts.any(axis=0), finer["cells 1/2"].hide | finer["cells 2/2"].hide)  # the same cells
    assert all(finer[name].train.all() and own_only(name) for name in added)


def test_the_cells_kind_reads_the_finer_folds_alone_and_every_other_choice_the_halves():
    folds = _folds(4)
    own = kind_folds({name: f.kind for name, f in folds.items()})
    assert own["cells"] == [f"cells {k}/4 finer" for k in (1, 2, 3, 4)]
    every = [name for name in folds if not own_only(name)]
    assert "cells 1/2" in every and not any("finer" in name for name in every)
    assert own["inside"] == [name for name, f in folds.items() if f.kind == "inside"]


def test_a_query_of_another_kind_is_predicted_as_without_them_and_the_cells_kind_calibrates_on_them():
    data = synthetic_data()
    plain = ForecastFitter(finer_cells=0, **SMALL).fit(data)
    finer = ForecastFitter(finer_cells=4, **SMALL).fit(data)
    assert finer.learned_parameters()["inner_folds"]["cells 3/4 finer"] == "cells"
    newcomer = data.select_models(data.model_ids[:3]).hide_scores(data.targets)
    renamed = newcomer.models.with_columns(
        model_id=pl.Series([f"new-{i}" for i in range(3)]), family=pl.lit("new"), family_group=pl.lit("new")
    )
    stranger = replace(newcomer, models=renamed, scores=newcomer.scores.clear())
    assert "cells" not in finer.query_kinds_of(stranger.models).tolist()
    assert finer.predict(stranger).equals(plain.predict(stranger))  # to the bit
    # the cells kind's widths are chosen on the quarters' held-out groups, not the halves'
    coverage = finer.learned_parameters()["compared"]["cells: held-out coverage of the widths"]
    assert set(next(iter(coverage.values()))) == {f"cells {k}/4 finer" for k in (1, 2, 3, 4)}
    plain_coverage = plain.learned_parameters()["compared"]["cells: held-out coverage of the widths"]
    assert set(next(iter(plain_coverage.values()))) == {"cells 1/2", "cells 2/2"}


@pytest.mark.parametrize("bad", [-1, 2.5])
def test_a_negative_or_fractional_part_count_is_refused_by_name(bad):
    with pytest.raises(FitterError, match=f"finer_cells must be a whole number >= 0, not {bad}"):
        ForecastFitter(finer_cells=bad, **SMALL).fit(synthetic_data())
