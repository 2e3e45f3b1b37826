"""Tokens counted only up to the training models' largest tokens-per-parameter ratio (version 20):
the cap moves only queries trained further past their size than any training model, it keeps a
missing size or token count missing, and an inner fold shaped like that question chooses it. Where
it is taken, the inner folds cap their own queries at their own training ratio (version 21)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from obslaws_forecast.design import ModelTable
from obslaws_forecast.inner import InnerFold
from obslaws_forecast.token_cap import MIN_QUERIES, capped, fold_tables, log_ratio, ratio_fold, scored_ratio
from test_forecast import small_forecaster

from obslaws import FitData

SATURATION = np.log(200.0)  # tokens per parameter beyond which the synthetic law gains nothing
UNITS = np.log(1e12 / 1e9)  # ModelTable's log D and log N are of D / 1e12 and N / 1e9


def per_param(tokens_per_param: float) -> float:
    """A tokens-per-parameter ratio as ``log_ratio`` measures it (log D - log N in ModelTable's units)."""
    return float(np.log(tokens_per_param) - UNITS)


def _models(ratios: np.ndarray, sizes: np.ndarray) -> pl.DataFrame:
    """One model per (ratio, size), each its own family, a day apart."""
    return pl.DataFrame(
        {
            "model_id": [f"m{i}" for i in range(ratios.size)],
            "family": [f"f{i}" for i in range(ratios.size)],
            "family_group": [f"f{i}" for i in range(ratios.size)],
            "params": sizes,
            "tokens": sizes * ratios,
            "flops": 6 * sizes * sizes * ratios,
            "release_date": [dt.date(2022, 1, 1) + dt.timedelta(days=i) for i in range(ratios.size)],
            "instruct": [False] * ratios.size,
        }
    )


def _saturating_data(n: int = 80, seed: int = 0) -> FitData:
    """A law that rises with size and with tokens per parameter up to 200, then stays flat."""
    rng = np.random.default_rng(seed)
    ratios = np.exp(rng.uniform(np.log(20), np.log(20_000), n))
    sizes = np.exp(rng.uniform(np.log(1e8), np.log(1e10), n))
    models = _models(ratios, sizes)
    logit = 0.8 * np.log(sizes / 1e9) + 0.9 * np.minimum(np.log(ratios), SATURATION) - 4.0
    scores = pl.DataFrame(
        {
            "model_id": models["model_id"],
            "benchmark": "target",
            "value": 1 / (1 + np.exp(-(logit + 0.05 * rng.normal(size=n)))),
        }
    )
    return FitData.build(models, scores, targets=["target"])


def test_capped_lowers_only_what_is_past_the_ratio_and_keeps_missing_values_missing():
    models = _models(np.array([10.0, 100.0, 1000.0, 1000.0, 1000.0]), np.full(5, 1e9))
    models = models.with_columns(
        pl.when(pl.col("model_id") == "m3").then(None).otherwise(pl.col("params")).alias("params"),
        pl.when(pl.col("model_id") == "m4").then(None).otherwise(pl.col("tokens")).alias("tokens"),
        pl.when(pl.col("model_id") == "m4").then(None).otherwise(pl.col("flops")).alias("flops"),
    )
    table = ModelTable.of(models)
    out = capped(table, per_param(100.0))
    assert np.allclose(out.raw["log_d"][:3], np.log([10e9, 100e9, 100e9]) - np.log(1e12))
    assert np.isnan(out.raw["log_n"][3]) and out.raw["log_d"][3] == table.raw["log_d"][3]  # no size: as it was
    assert np.isnan(out.raw["log_d"][4])  # no tokens: still missing, not the cap
    assert out.raw["log_n"] is table.raw["log_n"] and table.raw["log_d"][2] > out.raw["log_d"][2]
    only = capped(table, per_param(100.0), np.array([1]))
    assert np.array_equal(only.raw["log_d"], table.raw["log_d"], equal_nan=True)  # m1 is within the cap


def test_the_ratio_fold_trains_up_to_the_third_quartile_and_hides_above_the_ninth_decile():
    table = ModelTable.of(_models(np.geomspace(10, 10_000, 60), np.full(60, 1e9)))
    observed = np.ones((60, 2), dtype=bool)
    train, hide = ratio_fold(table, observed, k=1)
    ratio = log_ratio(table)
    q75, q90 = np.quantile(ratio, [0.75, 0.9])
    assert np.array_equal(train, ratio <= q75)
    assert np.array_equal(hide[:, 0], ratio > q90) and not hide[:, 1].any()  # targets only
    assert hide.any(axis=1).sum() >= MIN_QUERIES
    small = ModelTable.of(_models(np.geomspace(10, 10_000, 4 * MIN_QUERIES - 1), np.full(4 * MIN_QUERIES - 1, 1e9)))
    assert ratio_fold(small, np.ones((small.n, 1), dtype=bool), k=1) is None


def test_the_fold_chooses_the_cap_for_a_saturating_law_and_it_moves_only_further_trained_queries():
    data = _saturating_data()
    fitted = small_forecaster().fit(data)
    said = fitted.learned_parameters()["token_cap"]
    assert said["offered"] and said["cap"] and said["mae_capped"] < said["mae_plain"]
    assert said["queries"] >= MIN_QUERIES
    assert said["inner_folds_capped"] >= 1  # the inner folds posed their over-trained queries capped too
    largest = float((data.models["tokens"] / data.models["params"]).max())
    assert fitted.ratio_cap_ == pytest.approx(per_param(largest))

    def query(ratio: float) -> FitData:
        return FitData.build(
            _models(np.array([ratio]), np.array([1e9])), benchmarks=data.benchmarks, targets=["target"]
        )

    def predicted(model, ratio: float) -> float:
        return float(model.predict(query(ratio))["prediction"][0])

    at_cap = predicted(fitted, largest)
    assert predicted(fitted, 10 * largest) == pytest.approx(at_cap, abs=1e-12)  # nothing more past the cap
    plain = small_forecaster(token_caps=(False,)).fit(data)
    assert plain.learned_parameters()["token_cap"] == {"cap": False, "offered": False}
    assert predicted(plain, 10 * largest) > at_cap + 0.01  # the line, carried on
    assert predicted(plain, 100.0) == predicted(fitted, 100.0)  # within the cap: the same fit, the same bits


def test_each_inner_fold_caps_its_own_queries_at_its_own_training_ratio():
    ratios = np.array([10.0, 20.0, 40.0, 1000.0, 30.0])
    table = ModelTable.of(_models(ratios, np.full(5, 1e9)))
    hide = np.zeros((5, 1), dtype=bool)
    hide[[3, 4], 0] = True
    train = np.array([True, True, True, False, False])
    past = InnerFold("past", train, hide, "later")
    within = InnerFold("within", train, np.where(np.arange(5)[:, None] == 4, True, False), "later")
    tables = fold_tables(table, [past, within])
    assert tables["within"] is table  # its one query (30) is within the fold's ratio (40): the same work
    capped_d = tables["past"].raw["log_d"]
    assert capped_d[3] == pytest.approx(table.raw["log_n"][3] + per_param(40.0))  # 1000 -> 40 per parameter
    assert np.array_equal(np.delete(capped_d, 3), np.delete(table.raw["log_d"], 3))  # nothing else moves


def test_models_with_inputs_alone_move_neither_the_cap_nor_the_ratio_fold():
    # m3 trained 1000 tokens per parameter but has inputs alone (no target score): the cap, the inner
    # folds' caps and the ratio fold's quantiles are the models' with a target score
    ratios = np.array([10.0, 20.0, 40.0, 1000.0, 30.0])
    table = ModelTable.of(_models(ratios, np.full(5, 1e9)))
    observed = np.ones((5, 2), dtype=bool)
    observed[3, 0] = False  # its input (column 1) only
    assert scored_ratio(table, observed, k=1) == pytest.approx(per_param(40.0))
    hide = np.zeros((5, 2), dtype=bool)
    hide[4, 0] = True
    train = np.array([True, True, False, True, False])  # the 40 model is the fold's query's peer, not trained
    fold = InnerFold("f", train, hide, "later")
    # without m3 the fold's training ratio is 20: its query (30) is capped there; with m3 it would not be
    capped_d = fold_tables(table, [fold], observed[:, :1].any(axis=1))["f"].raw["log_d"]
    assert capped_d[4] == pytest.approx(table.raw["log_n"][4] + per_param(20.0))
    assert fold_tables(table, [fold])["f"] is table  # counted with m3 (1000): nothing past it
    many = np.geomspace(10, 10_000, 80)
    wide = ModelTable.of(_models(many, np.full(80, 1e9)))
    inputs_alone = np.ones((80, 2), dtype=bool)
    inputs_alone[-20:, 0] = False  # the 20 most trained have no target score
    train, hide = ratio_fold(wide, inputs_alone, k=1)
    q75, q90 = np.quantile(log_ratio(wide)[:60], [0.75, 0.9])
    assert np.array_equal(hide[:, 0], (log_ratio(wide) > q90) & inputs_alone[:, 0])
    assert np.array_equal(train, log_ratio(wide) <= q75)
