"""Repeated draws of the random inner folds (``inner_draws``): the family groups and the cell halves
drawn more than once, every choice reading the mean over the draws, and a rule that leaves a fold
group out leaving it out against its own draw's other groups alone (another draw's folds test the
same cells: learning a choice on them and testing it on the group would score it on its own data)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.calibration import fold_group, other_draw, without
from obslaws_forecast.inner import inner_folds
from obslaws_forecast.matrix import LogitMatrix

from obslaws.errors import FitterError
from obslaws.testing import synthetic_data

SMALL = {"poolings": (8.0,), "ranks": (1,), "blends": (0.0,), "stack": (), "stack_larger": (), "stack_anchored": ()}


def _folds(draws: int, seed: int = 0) -> dict[str, object]:
    data = synthetic_data()
    matrix = LogitMatrix.build(data, list(data.targets))
    folds = inner_folds(matrix.models, matrix.observed, len(data.targets), seed=seed, draws=draws)
    return {f.name: f for f in folds}


def test_a_second_draw_adds_its_own_family_groups_and_cell_halves_and_keeps_the_first():
    one, two = _folds(1), _folds(2)
    added = [name for name in two if name not in one]
    assert added == [
        "groups 1/3 draw 2",
        "groups 2/3 draw 2",
        "groups 3/3 draw 2",
        "cells 1/2 draw 2",
        "cells 2/2 draw 2",
    ]
    for name, fold in one.items():  # the first draw is the single draw's folds, to the bit
        assert np.array_equal(fold.hide, two[name].hide) and np.array_equal(fold.train, two[name].train), name
    assert {two[name].kind for name in added} == {"inside", "cells"}
    # a new draw, not a copy: other families share a fold, other cells share a half
    assert not np.array_equal(two["groups 1/3"].hide, two["groups 1/3 draw 2"].hide)
    assert not np.array_equal(two["cells 1/2"].hide, two["cells 1/2 draw 2"].hide)
    # each draw's halves are complementary and each draw's groups test every family group once at most
    assert not (two["cells 1/2 draw 2"].hide & two["cells 2/2 draw 2"].hide).any()
    tested = sum(two[f"groups {k}/3 draw 2"].hide.any(axis=1).astype(int) for k in (1, 2, 3))
    assert tested.max() == 1


def test_a_held_out_group_is_judged_against_its_own_draws_other_groups_only():
    names = list(_folds(2))
    rest = without(names, fold_group("groups 2/3 draw 2"))
    assert "groups 1/3 draw 2" in rest and "groups 3/3 draw 2" in rest
    assert not any(n.startswith("groups") and "draw 2" not in n for n in rest)  # the first draw tests its cells
    assert "cells 1/2" in rest and "cut-6m n=0" in rest  # other sets and the placed folds stay
    first = without(names, "groups 2/3")  # the first draw's group likewise: the second draw's groups go
    assert [n for n in first if n.startswith("groups")] == ["groups 1/3", "groups 3/3"]
    assert other_draw("cells 1/2", "cells 2/2 draw 2") and not other_draw("cells 1/2", "cells 2/2")
    assert not other_draw("cut-6m n=0", "cut-6m n=1") and not other_draw("groups 1/3", "cells 1/2 draw 2")


def test_the_fitter_reads_every_draw_and_records_it():
    data = synthetic_data()
    fitted = ForecastFitter(inner_draws=2, **SMALL).fit(data)
    folds = fitted.learned_parameters()["inner_folds"]
    assert folds["groups 3/3 draw 2"] == "inside" and folds["cells 2/2 draw 2"] == "cells"
    predicted = fitted.predict(data.hide_scores(data.targets))
    assert predicted.select(pl.all_horizontal(pl.col("prediction", "lower", "upper").is_finite())).to_series().all()
    # the second draw's folds are scored: the inside kind's choice reads six family-group folds
    compared = fitted.learned_parameters()["compared"]
    assert any("groups 2/3 draw 2" in row for row in compared.values())


@pytest.mark.parametrize("bad", [0, 1.5])
def test_a_draw_count_below_one_or_fractional_is_refused_by_name(bad):
    with pytest.raises(FitterError, match=f"inner_draws must be a whole number >= 1, not {bad}"):
        ForecastFitter(inner_draws=bad, **SMALL).fit(synthetic_data())
