"""The selection's scores of many configurations at once are those it makes one by one, to the bit."""

from __future__ import annotations

import numpy as np
from obslaws_forecast.engine import Config
from obslaws_forecast.select import FoldResult, Scoreboard
from obslaws_forecast.sums import row_means, row_sums


def test_row_sums_round_as_the_reduction_of_each_row_alone():
    rng = np.random.default_rng(0)
    for n, rows in [(n, rows) for n in (*range(1, 20), 64, 129, 300) for rows in (1, 7, 50)]:
        # magnitudes spread over six decades, so that the order of additions shows in the last bits
        m = rng.uniform(0, 10, size=(rows, n)) * 10.0 ** rng.integers(-3, 3, size=(rows, n))
        alone = np.array([np.add.reduce(row) for row in m])
        assert np.array_equal(row_sums(m), alone)
        picked = np.hstack([m, m])[:, rng.permutation(2 * n)[:n]]  # as the scores pick folds: other memory order
        assert np.array_equal(row_sums(picked), np.array([np.add.reduce(row) for row in picked]))
        assert np.array_equal(row_means(m), np.array([np.mean(row) for row in m]))


def test_best_is_the_first_lowest_score_among_the_candidates():
    rng = np.random.default_rng(1)
    folds = [f"cut-{k}" for k in range(5)] + ["compute a", "compute b", "cells 1/2"]
    kinds = dict(zip(folds, ["later"] * 5 + ["larger"] * 2 + ["cells"], strict=True))
    board = Scoreboard(dict.fromkeys(folds), kinds, np.zeros(1), np.zeros((0, 1)))
    configs = [Config(pooling=float(p), rank=r) for p in range(40) for r in (1, 2)]
    for c in configs:
        maes = rng.uniform(1, 9, len(folds)) * 10.0 ** rng.integers(-2, 2, len(folds))
        board.results[c] = [FoldResult(float(e), *[np.zeros(0)] * 4) for e in maes]
    board.results[configs[7]] = board.results[configs[3]]  # a tie: the earlier one wins
    for subset in (folds, folds[:5], folds[2:7], folds[::-1], ["cells 1/2"]):
        scores = [board.score(c, subset) for c in configs]
        assert board.best(configs, subset) == configs[int(np.argmin(scores))]
        assert board.best(configs[::-1], subset) == configs[::-1][int(np.argmin(scores[::-1]))]
