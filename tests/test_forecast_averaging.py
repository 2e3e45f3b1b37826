"""Averaging the top configurations (``averaging.py``): the mean of their logits replaces the single
pick only where leaving each fold group out says it predicts better."""

from __future__ import annotations

import numpy as np
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.averaging import AveragedEngine, averaged, choose_average, ranked
from obslaws_forecast.engine import Config
from obslaws_forecast.scale import from_logit
from obslaws_forecast.select import FoldResult, Scoreboard

from obslaws.errors import FitterError
from obslaws.testing import synthetic_data

FOLDS = ("cut-6m n=0", "cut-9m n=0", "cut-12m n=0")
CELLS = 40


class _Fold:
    """What ``averaged`` reads of a fold's cache: its hidden cells' scoring (``FoldCache.memo``)."""

    def __init__(self, z: np.ndarray, truth: np.ndarray) -> None:
        n = z.size
        self.scoring = (None, None, z, np.zeros(n, dtype=int), np.array(["*"] * n, dtype=object), np.arange(n), truth)

    def memo(self, key, compute):
        return self.scoring


def _board(offsets: dict[Config, tuple[float, ...]], seed: int = 0) -> Scoreboard:
    """Folds of CELLS cells (chance 0) whose logits each configuration predicts as the truth plus
    noise of its own plus its offset on that fold."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.0, (len(FOLDS), CELLS))
    truth = from_logit(z, np.zeros(1))
    caches = {f: _Fold(z[i], truth[i]) for i, f in enumerate(FOLDS)}
    board = Scoreboard(caches, dict.fromkeys(FOLDS, "later"), np.zeros(1), np.zeros((0, 1)))
    for config, shifts in offsets.items():
        board.results[config] = []
        for i, shift in enumerate(shifts):
            logits = z[i] + shift + rng.normal(0.0, 0.6, CELLS)
            errors = 100 * np.abs(from_logit(logits, np.zeros(1)) - truth[i])
            cells = caches[FOLDS[i]].scoring
            board.results[config].append(
                FoldResult(float(errors.mean()), z[i] - logits, logits, cells[3], cells[4], errors, cells[5], truth[i])
            )
    return board


def test_an_average_predicts_the_mean_logits_and_scores_them_as_evaluate_does():
    a, b = Config(pooling=1.0), Config(pooling=8.0)
    board = _board({a: (0.0, 0.0, 0.0), b: (0.0, 0.0, 0.0)})
    mean = averaged(board, (a, b), FOLDS[0])
    first, second = board.results[a][0], board.results[b][0]
    assert np.allclose(mean.logits, (first.logits + second.logits) / 2)
    assert np.allclose(mean.residuals, first.residuals + first.logits - mean.logits)
    assert np.isclose(mean.mae, 100 * np.abs(from_logit(mean.logits, np.zeros(1)) - first.truth).mean())
    # independent noise of the same size: the mean of two errs less than either
    assert mean.mae < min(first.mae, second.mae)
    assert averaged(board, (a,), FOLDS[0]) is first  # one member: its own result, to the bit


def test_the_average_is_kept_only_where_each_held_out_group_says_so():
    configs = [Config(pooling=p) for p in (0.5, 1.0, 2.0, 4.0, 8.0)]
    # five configurations, equal but for their own noise: averaging them beats any single pick
    noisy = _board({c: (0.0, 0.0, 0.0) for c in configs})
    members, errors = choose_average(noisy, configs, list(FOLDS), (3, 5))
    assert members == ranked(noisy, configs, list(FOLDS), 5) and len(members) == 5
    assert set(errors) == {"single pick", "average of 3", "average of 5"} and len(errors["single pick"]) == 3
    assert ranked(noisy, configs, list(FOLDS), 1) == (noisy.best(configs, list(FOLDS)),)
    # one configuration right on every fold, the others off by two logits: the single pick stays
    steady = _board({c: (0.0,) * 3 if i == 0 else (2.0,) * 3 for i, c in enumerate(configs)})
    assert choose_average(steady, configs, list(FOLDS), (3, 5))[0] is None
    assert choose_average(steady, configs, list(FOLDS), ()) == (None, {})  # no size above 1: nothing compared


def test_the_fitter_averages_where_its_folds_say_so_and_records_it():
    data = synthetic_data()
    small = {"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), "stack": (), "stack_larger": ()}
    with pytest.raises(FitterError, match="average_sizes"):
        ForecastFitter(**small, average_sizes=(0, 3)).fit(data)
    fitted = ForecastFitter(**small, average_sizes=(3, 5)).fit(data)
    learned = fitted.learned_parameters()
    assert any(k.endswith("average of 3 (held-out fold)") for k in learned["compared"])
    query = data.hide_scores()
    out = fitted.predict(query)
    assert np.isfinite(out["prediction"].to_numpy()).all()
    for kind, labels in learned["averaged"].items():  # an averaged kind predicts its members' mean logits
        engine = fitted.engines_[kind][0]
        assert isinstance(engine, AveragedEngine) and len(engine.engines) == len(labels) > 1
    # without sizes nothing is compared and the predictions are the default's
    plain = ForecastFitter(**small).fit(data)
    assert not plain.learned_parameters()["averaged"]
    assert not any("average of" in k for k in plain.learned_parameters()["compared"])
    default = ForecastFitter(**small, average_sizes=()).fit(data).predict(query)
    assert plain.predict(query)["prediction"].to_list() == default["prediction"].to_list()
