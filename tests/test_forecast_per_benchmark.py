"""A configuration per target benchmark: kept only where leaving each inner fold out says so."""

from __future__ import annotations

import numpy as np
from obslaws_forecast.engine import Config
from obslaws_forecast.per_benchmark import (
    MIN_CELLS,
    best_per_column,
    choose_per_benchmark,
    column_errors,
    composite,
)
from obslaws_forecast.select import FoldResult, Scoreboard

FOLDS = ("cut-6m n=0", "cut-9m n=0", "cut-12m n=0")
A, B = Config(pooling=1.0), Config(pooling=8.0)


def _result(errors: tuple[float, float], cells: int) -> FoldResult:
    """``cells`` hidden cells per target with the given absolute errors (points)."""
    columns = np.repeat([0, 1], cells)
    cell_errors = np.repeat(np.asarray(errors, dtype=float), cells)
    cats = np.array(["unseen family, no scores"] * 2 * cells, dtype=object)
    return FoldResult(float(cell_errors.mean()), cell_errors / 10, np.zeros(2 * cells), columns, cats, cell_errors)


def _board(errors: dict[Config, list[tuple[float, float]]], cells: int = MIN_CELLS) -> Scoreboard:
    """A scoreboard whose configurations were scored on three time cuts (errors per fold, per target)."""
    board = Scoreboard(dict.fromkeys(FOLDS), dict.fromkeys(FOLDS, "later"), np.zeros(2), np.zeros((0, 2)))
    board.results = {c: [_result(e, cells) for e in per_fold] for c, per_fold in errors.items()}
    return board


def test_each_target_keeps_the_configuration_that_suits_it_on_every_fold():
    board = _board({A: [(1.0, 5.0)] * 3, B: [(5.0, 1.0)] * 3})
    np.testing.assert_allclose(column_errors(board, A, list(FOLDS), 2), [1.0, 5.0])
    chosen, record = choose_per_benchmark(board, [A, B], list(FOLDS), list(FOLDS), 2)
    assert chosen == (A, B)
    assert record["per benchmark"] == {"cut-6m": 1.0, "cut-9m": 1.0, "cut-12m": 1.0}
    assert record["joint"] == {"cut-6m": 3.0, "cut-9m": 3.0, "cut-12m": 3.0}
    mixed = composite(board, chosen, "cut-9m n=0")
    assert mixed.mae == 1.0 and sorted(mixed.columns.tolist()) == [0] * MIN_CELLS + [1] * MIN_CELLS


def test_targets_with_few_cells_keep_the_joint_choice():
    board = _board({A: [(1.0, 5.0)] * 3, B: [(5.0, 1.0)] * 3}, cells=MIN_CELLS - 1)
    assert best_per_column(board, [A, B], list(FOLDS), 2) == (A, A)


def test_a_per_target_choice_that_does_not_hold_on_the_left_out_fold_is_not_kept():
    # which configuration suits each target flips from cut to cut: chosen without the 9-month cut,
    # target 0 takes A and target 1 B, and that pair misses the 9-month cut, which the joint choice (A) does not
    board = _board({A: [(4.0, 2.0), (2.0, 4.0), (1.0, 2.0)], B: [(1.0, 2.0), (4.0, 1.0), (2.0, 2.0)]})
    chosen, record = choose_per_benchmark(board, [A, B], list(FOLDS), list(FOLDS), 2)
    assert chosen is None
    assert record["joint"] == {"cut-6m": 3.0, "cut-9m": 2.5, "cut-12m": 2.0}
    assert record["per benchmark"] == {"cut-6m": 3.0, "cut-9m": 4.0, "cut-12m": 2.0}
