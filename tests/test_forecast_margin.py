"""Choices with a margin (``margin.py``): a less simple choice must beat the simpler one by more
than the standard error of the inner folds' per-group differences."""

from __future__ import annotations

import numpy as np
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.engine import Config
from obslaws_forecast.margin import complexity, held_out_simplest, simplest_config, simplest_within
from obslaws_forecast.margin_checks import checked_margin
from obslaws_forecast.per_benchmark import held_out_wins
from obslaws_forecast.select import FoldResult, Scoreboard
from obslaws_forecast.stacker import Stacker

from obslaws.errors import FitterError
from obslaws.testing import synthetic_data

FOLDS = ("cut-6m n=0", "cut-6m n=1", "cut-9m n=0", "cut-9m n=1", "cut-12m n=0", "cut-12m n=1")


def test_the_simplest_candidate_within_one_standard_error_of_the_best_is_taken():
    # the second candidate leads by 0.02 on average, but by +0.2 / -0.1 / -0.04 from unit to unit
    noisy = np.array([[5.0, 6.0, 7.0], [4.8, 6.1, 7.04]])
    assert simplest_within(noisy, [1, 1, 1], 0.0) == 1
    assert simplest_within(noisy, [1, 1, 1], 1.0) == 0
    # the same lead on every unit: no noise, so the better one is taken at any margin
    steady = np.array([[5.0, 6.0, 7.0], [4.98, 5.98, 6.98]])
    assert simplest_within(steady, [1, 1, 1], 1.0) == 1
    # one unit: no spread to measure, plain argmin
    assert simplest_within(np.array([[2.0], [1.0]]), [1], 1.0) == 1


def test_an_alternative_rule_replaces_the_default_only_if_it_wins_beyond_the_noise():
    # with two held-out groups and a margin of one standard error: only if it wins on both
    split = {"every fold": {"a": 3.0, "b": 3.0}, "own folds": {"a": 2.0, "b": 3.5}}
    assert held_out_wins(split, "own folds", "every fold")  # mean 2.75 < 3.0
    assert not held_out_wins(split, "own folds", "every fold", margin=1.0)
    both = {"every fold": {"a": 3.0, "b": 3.0}, "own folds": {"a": 2.0, "b": 2.9}}
    assert held_out_wins(both, "own folds", "every fold", margin=1.0)
    # among three rules (simplest first) the simplest within the margin; a rule that held nothing out cannot win
    rules = ("forecast alone", "one weight", "per target")
    held = {"forecast alone": {"a": 3.0, "b": 3.0}, "one weight": {"a": 2.0, "b": 2.8}, "per target": {}}
    assert held_out_simplest(held, rules, 1.0) == "one weight"


def test_simpler_configurations_sort_first():
    plain = Config(pooling=32.0, drift=False, org=False, rank=0, blend=0.0)
    assert complexity(plain) < complexity(Config(pooling=32.0, drift=True, org=False, rank=0, blend=0.0))
    assert complexity(Config(pooling=32.0, drift=False, org=False, rank=0)) < complexity(
        Config(pooling=2.0, drift=False, org=False, rank=0)
    )
    ridge = Config(pooling=8.0, rank=1, blend=0.5)
    assert complexity(ridge) < complexity(Config(pooling=8.0, rank=1, blend=0.5, on_logits=True))
    assert complexity(ridge) < complexity(Config(pooling=8.0, rank=1, blend=0.5, svd=0.25))


def _result(mae: float) -> FoldResult:
    cells = np.full(4, mae)
    return FoldResult(mae, cells / 10, np.zeros(4), np.zeros(4, dtype=int), np.array(["*"] * 4, dtype=object), cells)


def test_a_stage_takes_the_simpler_configuration_where_the_lead_is_noise():
    simple, rich = Config(pooling=32.0, drift=False), Config(pooling=0.5, drift=True)
    board = Scoreboard(dict.fromkeys(FOLDS), dict.fromkeys(FOLDS, "later"), np.zeros(1), np.zeros((0, 1)))
    # the rich one leads by 0.05 on average: by 0.5 on one cut, loses 0.2 and 0.15 on the others
    board.results = {
        simple: [_result(m) for m in (5.0, 5.0, 6.0, 6.0, 7.0, 7.0)],
        rich: [_result(m) for m in (4.5, 4.5, 6.2, 6.2, 7.15, 7.15)],
    }
    assert simplest_config(board, [rich, simple], list(FOLDS), 0.0) == rich
    assert simplest_config(board, [rich, simple], list(FOLDS), 1.0) == simple


def test_the_stacked_weight_stays_lower_where_a_higher_one_leads_by_noise():
    # three time cuts; the forecaster errs by +10 points, the member by -12 on two cuts (half and half:
    # 1 point) and by +20 on the third (half and half: 15): chosen without either of the first two,
    # weight 0.5 predicts it far better than the forecaster alone, chosen without the third it
    # predicts that worse; held-out differences -9, -9, +5: a mean of -4.3 against a standard error of 4.7
    rng = np.random.default_rng(0)
    results, predictions = {}, {}
    for fold, member_error in zip(FOLDS[::2], (-12.0, -12.0, 20.0), strict=True):
        truth = rng.uniform(0.3, 0.7, 50)
        own = truth + 0.10
        logits, columns = np.log(own / (1 - own)), np.zeros(50, dtype=int)
        errors = 100 * np.abs(own - truth)
        cats = np.array(["unseen family, no scores"] * 50, dtype=object)
        z = np.log(truth / (1 - truth))
        results[fold] = FoldResult(
            float(errors.mean()), z - logits, logits, columns, cats, errors, np.arange(50), truth
        )
        predictions[fold] = (truth + member_error / 100)[None, :, None]
    plain = Stacker(("member",), predictions, np.zeros(1), guard=False)
    plain.stack("later", dict(results))
    assert plain.weights["later"].tolist() == [[0.5]] and plain.record["later"]["rule"] == "one weight"
    margins = {"rule_margin": 1.0, "weight_margin": 1.0}
    margined = Stacker(("member",), predictions, np.zeros(1), guard=False, checked=False, **margins)
    margined.stack("later", dict(results))
    assert margined.weights["later"].tolist() == [[0.0]] and margined.record["later"]["rule"] == "forecast alone"
    # checked one level up: without the third cut both rules agree on 0.5; without either of the
    # others, two cuts remain, one to choose on: no spread, the margin changes nothing; so a tie,
    # and plain argmin stays
    checked = Stacker(("member",), predictions, np.zeros(1), guard=False, **margins)
    checked.stack("later", dict(results))
    assert checked.weights["later"].tolist() == [[0.5]]
    record = checked.record["later"]["weights: plain / with margin (held-out fold)"]
    assert record["plain"] == record["with margin"] and set(record["plain"]) == {"cut-6m", "cut-9m", "cut-12m"}


def test_a_margin_is_kept_only_where_leaving_each_group_out_says_it_predicts_better():
    folds = list(FOLDS)
    # the margin's choice, made without a group, errs less there on two of three groups and more on one
    better = {"cut-6m": (3.0, 2.0), "cut-9m": (3.0, 2.5), "cut-12m": (3.0, 3.2)}
    table: dict = {}
    assert checked_margin(folds, lambda g, m: better[g][m > 0], 1.0, table, "later: stages") == 1.0
    assert table["later: stages: plain / with margin (held-out fold)"]["with margin"]["cut-12m"] == 3.2
    worse = {g: (b, a) for g, (a, b) in better.items()}
    assert checked_margin(folds, lambda g, m: worse[g][m > 0], 1.0, {}, "later: stages") == 0.0
    # a tie keeps plain argmin; two groups leave one to choose on, so nothing is computed
    assert checked_margin(folds, lambda g, m: 3.0, 1.0, {}, "later: stages") == 0.0
    two: dict = {}
    assert checked_margin(folds[:4], lambda g, m: better[g][m > 0], 1.0, two, "later: stages") == 0.0 and not two


def test_the_fitter_checks_its_margin_and_records_its_choices():
    data = synthetic_data()
    small = {"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), "stack": (), "stack_larger": ()}
    with pytest.raises(FitterError, match="choice_margin"):
        ForecastFitter(**small, choice_margin=-1.0).fit(data)
    with pytest.raises(FitterError, match="margin_choices"):
        ForecastFitter(**small, choice_margin=1.0, margin_choices=("everything",)).fit(data)
    fitted = ForecastFitter(**small, choice_margin=1.0).fit(data)
    learned = fitted.learned_parameters()
    assert set(learned["chosen_by"]) >= {"cells", "later", "larger", "inside"}
    # each kind with three fold groups or more checked its margins one level up (margin_checks.py)
    checks = [k for k in learned["compared"] if k.endswith("plain / with margin (held-out fold)")]
    assert {"later: stages", "later: own folds or every fold", "all: stages"} <= {k.split(": plain")[0] for k in checks}
    # without a margin nothing is checked and the predictions are the default's
    plain = ForecastFitter(**small).fit(data)
    assert not any("with margin" in k for k in plain.learned_parameters()["compared"])
    out = fitted.predict(data.hide_scores())
    assert np.isfinite(out["prediction"].to_numpy()).all()
