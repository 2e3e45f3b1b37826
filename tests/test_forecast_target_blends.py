"""A blend per target for the `later` kind: kept only where leaving each of its fold groups out says so."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
from obslaws_forecast.engine import Config
from obslaws_forecast.per_benchmark import MIN_CELLS
from obslaws_forecast.select import FoldResult, Scoreboard
from obslaws_forecast.target_blends import BLENDS, best_blends, blend_candidates, choose_target_blends
from test_forecast import small_forecaster

from obslaws import FitData

FOLDS = ("cut-6m n=0", "cut-6m n=1", "cut-9m n=0", "cut-12m n=0")
KIND = Config(pooling=2.0, rank=0, blend=0.5, on_logits=True)


def later_data(seed: int = 0) -> FitData:
    """Twelve families of four sizes released over three years. ``follows`` is a model's latent skill
    on top of what its size predicts, which ``twin`` (every model has it) reads almost exactly;
    ``alone`` is its size plus noise of its own, which ``twin`` does not see."""
    rng = np.random.default_rng(seed)
    models, rows = [], []
    for f in range(12):
        for i, params in enumerate((1e9, 3e9, 7e9, 13e9)):
            model_id = f"fam{f}-{i}"
            models.append(
                {
                    "model_id": model_id,
                    "family": f"fam{f}",
                    "params": params,
                    "tokens": 2e12,
                    "flops": 6 * params * 2e12,
                    "release_date": dt.date(2021, 1, 1) + dt.timedelta(days=90 * f + 10 * i),
                    "instruct": False,
                }
            )
            size, skill = 0.8 * np.log(params / 3e9), rng.normal()
            values = {"follows": size + skill, "twin": size + skill, "alone": size + 0.8 * rng.normal()}
            values |= {f"other{j}": size + skill + rng.normal() for j in range(3)}
            rows += [
                {"model_id": model_id, "benchmark": b, "value": float(1 / (1 + np.exp(-v - 0.03 * rng.normal())))}
                for b, v in values.items()
            ]
    return FitData.build(pl.DataFrame(models), pl.DataFrame(rows), targets=["follows", "alone"])


def _result(errors: tuple[float, float], cells: int) -> FoldResult:
    """``cells`` hidden cells per target with the given absolute errors (points)."""
    columns = np.repeat([0, 1], cells)
    cell_errors = np.repeat(np.asarray(errors, dtype=float), cells)
    cats = np.array(["unseen family, scores"] * 2 * cells, dtype=object)
    return FoldResult(float(cell_errors.mean()), cell_errors / 10, np.zeros(2 * cells), columns, cats, cell_errors)


def _board(errors: dict[float, list[tuple[float, float]]], cells: int = 10) -> Scoreboard:
    """A scoreboard with the kind's configuration at each blend scored on four time folds (errors
    per fold, per target)."""
    board = Scoreboard(dict.fromkeys(FOLDS), dict.fromkeys(FOLDS, "later"), np.zeros(2), np.zeros((0, 2)))
    board.results = {replace(KIND, blend=b): [_result(e, cells) for e in per_fold] for b, per_fold in errors.items()}
    return board


def _errors(best: dict[int, float], folds: int = len(FOLDS)) -> dict[float, list[tuple[float, float]]]:
    """Per blend: target j errs 1 point at its ``best[j]`` blend and 1 + 4 x the distance elsewhere."""
    return {b: [tuple(1.0 + 4 * abs(b - best[j]) for j in (0, 1))] * folds for b in BLENDS}


def test_each_target_takes_the_blend_that_suits_it_on_the_kinds_folds():
    board = _board(_errors({0: 1.0, 1: 0.5}))
    chosen, record = choose_target_blends(board, (KIND, KIND), list(FOLDS), 2)
    assert chosen is not None and [c.blend for c in chosen] == [1.0, 0.5]
    assert all(replace(c, blend=KIND.blend) == KIND for c in chosen)  # only the blend moves
    # the groups: a time cut's n = 0 and n = 1 together; the kind's blend errs 3 on target 0, 1 on target 1
    assert record["kind's blend"] == {"cut-6m": 2.0, "cut-9m": 2.0, "cut-12m": 2.0}
    assert record["blend per target"] == {"cut-6m": 1.0, "cut-9m": 1.0, "cut-12m": 1.0}


def test_cells_are_counted_over_the_kinds_folds_together():
    # 10 cells per fold is fewer than per_benchmark's 20 on every fold, but 40 over the four folds
    board = _board(_errors({0: 1.0, 1: 0.5}), cells=10)
    assert 4 * 10 >= MIN_CELLS > 10
    assert [c.blend for c in best_blends(board, blend_candidates((KIND, KIND), BLENDS), list(FOLDS), 2)] == [1.0, 0.5]
    few = _board(_errors({0: 1.0, 1: 0.5}), cells=MIN_CELLS // 4 - 1)
    assert best_blends(few, blend_candidates((KIND, KIND), BLENDS), list(FOLDS), 2) == (KIND, KIND)


def test_blends_that_do_not_hold_on_the_left_out_group_are_not_kept():
    # target 0's best blend flips from cut to cut: chosen without a cut, it misses that cut
    errors = _errors({0: 0.5, 1: 0.5})
    for fold, b in ((0, 1.0), (1, 1.0), (2, 0.25), (3, 0.25)):
        errors[b][fold] = (0.0, 1.0)
    errors[0.5] = [(2.0, 1.0)] * len(FOLDS)
    chosen, record = choose_target_blends(_board(errors), (KIND, KIND), list(FOLDS), 2)
    assert chosen is None
    assert np.mean(list(record["blend per target"].values())) >= np.mean(list(record["kind's blend"].values()))


def test_a_configuration_without_the_ridge_has_no_blend_to_choose():
    plain = replace(KIND, blend=0.0)
    assert blend_candidates((plain, KIND), BLENDS) == []
    chosen, record = choose_target_blends(_board(_errors({0: 1.0, 1: 0.5})), (plain, KIND), list(FOLDS), 2)
    assert chosen is None and record == {"kind's blend": {}, "blend per target": {}}


def test_the_forecaster_records_the_later_kinds_blends_and_keeps_them_only_where_they_win():
    data = later_data()
    fitted = small_forecaster(ranks=(), blends=(0.5,)).fit(data)
    learned = fitted.learned_parameters()
    own = learned["compared"]["later: blend per target (held-out fold)"]
    kinds = learned["compared"]["later: kind's blend (held-out fold)"]
    assert set(own) == set(kinds) == {"cut-6m", "cut-9m", "cut-12m"}
    blends = {t: label.split("blend=")[1].split()[0] for t, label in learned["chosen_per_benchmark"]["later"].items()}
    # the target that follows its twin takes the ridge alone; the one without a twin keeps less of it
    assert blends["follows"] == "1" and blends["alone"] != "1"
    assert np.mean(list(own.values())) < np.mean(list(kinds.values()))
    # the other kinds compare no blend per target
    others = ("cells:", "larger:", "inside:")
    assert not any(k.startswith(others) and "blend per target" in k for k in learned["compared"])
