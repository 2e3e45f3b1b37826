"""The baselines plugin: compute sigmoids with shared and family intercepts (Sloth paper)."""

from __future__ import annotations

import os

import duckdb
import numpy as np
import polars as pl
import pytest
from conftest import requires_shared
from obslaws_baselines import FlopsSigmoidFamilyFitter, FlopsSigmoidFitter
from obslaws_baselines.engine import fit_sigmoids

from obslaws import FitData
from obslaws.backtest import run_backtest
from obslaws.fitting.lookup import get_fitters
from obslaws.testing import check_fitter, synthetic_data


def law_data(effects: dict[str, float], slope=0.8, intercept=-1.0, chance=0.25) -> FitData:
    """Scores exactly on y = chance + (1 - chance) sigmoid(intercept + effect_f + slope log(C / 1e21))."""
    rows, scores = [], []
    for family, effect in effects.items():
        for i, flops in enumerate(np.logspace(19, 24, 6)):
            model = f"{family}-{i}"
            rows.append(
                {"model_id": model, "family": family, "family_group": family, "flops": flops, "params": flops / 1e12}
            )
            y = chance + (1 - chance) / (1 + np.exp(-(intercept + effect + slope * np.log(flops / 1e21))))
            scores.append({"model_id": model, "benchmark": "b", "value": float(y)})
    benchmarks = pl.DataFrame({"benchmark": ["b"], "chance": [chance]})
    return FitData.build(pl.DataFrame(rows), pl.DataFrame(scores), None, benchmarks, targets=["b"])


def test_registered_by_the_baselines_plugin():
    fitters = get_fitters()
    assert fitters["flops-sigmoid"].cls is FlopsSigmoidFitter
    assert fitters["flops-sigmoid-family"].cls is FlopsSigmoidFamilyFitter
    assert fitters["flops-sigmoid-family"].plugin == "baselines"


@pytest.mark.parametrize("cls", [FlopsSigmoidFitter, FlopsSigmoidFamilyFitter])
def test_conforms(cls):
    check_fitter(cls(**cls.check_hyperparameters))


def test_shared_intercept_recovers_a_known_law():
    fitter = FlopsSigmoidFitter().fit(law_data({"f": 0.0, "g": 0.0}))
    assert fitter.slope_[0] == pytest.approx(0.8, abs=0.05)
    assert fitter.offsets_[0, 0] == pytest.approx(-1.0, abs=0.1)
    assert fitter.floor_[0] == pytest.approx(0.25, abs=0.02)
    assert fitter.train_mae_[0] < 0.005


def test_family_intercepts_recover_family_efficiency_and_unseen_families_get_the_mean():
    data = law_data({"f": -1.0, "g": 0.0, "h": 1.0})
    fitter = FlopsSigmoidFamilyFitter().fit(data)
    offsets = dict(zip(fitter.families_, fitter.offsets_[0], strict=True))
    assert offsets["g"] - offsets["f"] == pytest.approx(1.0, abs=0.15)
    assert offsets["h"] - offsets["g"] == pytest.approx(1.0, abs=0.15)
    shared = FlopsSigmoidFitter().fit(data)
    assert fitter.train_mae_[0] < shared.train_mae_[0]
    query = FitData.build(
        pl.DataFrame({"model_id": ["new"], "family": ["unseen"], "flops": [1e22]}), None, None, data.benchmarks, ["b"]
    )
    pred = fitter.predict(query)["prediction"][0]
    mean = np.mean(fitter.offsets_[0])
    expected = fitter.floor_[0] + (1 - fitter.floor_[0]) / (1 + np.exp(-(mean + fitter.slope_[0] * np.log(10))))
    assert pred == pytest.approx(expected)


def test_hypothetical_model_uses_6nd_when_flops_are_missing():
    fitter = FlopsSigmoidFitter().fit(law_data({"f": 0.0}))
    query = FitData.build(
        pl.DataFrame({"model_id": ["a", "b"], "params": [1e9, None], "tokens": [1e11, None], "flops": [None, 6e20]}),
        None,
        None,
        None,
        ["b"],
    )
    pred = fitter.predict(query)
    assert pred["prediction"][0] == pytest.approx(pred["prediction"][1])


def test_batched_problems_are_independent():
    """Fitting benchmarks together gives the same answer as one at a time (batching is exact)."""
    rng = np.random.default_rng(0)
    n = 40
    x = rng.uniform(-3, 5, n)
    family = rng.integers(0, 4, n)
    y = np.column_stack([0.25 + 0.75 / (1 + np.exp(-(0.7 * x - 1 + 0.3 * family))), 1 / (1 + np.exp(-(0.5 * x - 2)))])
    y = np.clip(y + rng.normal(0, 0.01, y.shape), 0, 1)
    observed = np.ones_like(y, dtype=bool)
    observed[3, 1] = False
    chance = np.array([0.25, 0.0])
    both = fit_sigmoids(x, family, 4, y, observed, chance, patience=200)
    for j in range(2):
        one = fit_sigmoids(x, family, 4, y[:, [j]], observed[:, [j]], chance[[j]], patience=200)
        assert one.slope[0] == pytest.approx(both.slope[j], rel=1e-9)
        assert one.train_mae[0] == pytest.approx(both.train_mae[j], rel=1e-9)
        assert one.lr[0] == both.lr[j]


def test_learning_rate_is_chosen_by_training_error():
    data = law_data({"f": 0.0, "g": 0.5})
    fitter = FlopsSigmoidFitter(learning_rates=(0.1, 0.01, 0.001), n_iter_no_change=100).fit(data)
    errors = {
        lr: FlopsSigmoidFitter(learning_rates=(lr,), n_iter_no_change=100).fit(data).train_mae_[0]
        for lr in (0.1, 0.01, 0.001)
    }
    assert fitter.train_mae_[0] == pytest.approx(min(errors.values()))
    assert fitter.lr_[0] == min(errors, key=errors.get)


def test_intervals_contain_predictions_and_are_measured_in_backtests():
    result = run_backtest(FlopsSigmoidFitter(n_iter_no_change=100), synthetic_data(), "family-holdout")
    cells = result.cells
    assert (cells["lower"] <= cells["prediction"]).all() and (cells["prediction"] <= cells["upper"]).all()
    assert 0 <= result.summary()["coverage"] <= 1


def test_learned_parameters_are_json():
    import json

    fitter = FlopsSigmoidFamilyFitter(n_iter_no_change=100).fit(synthetic_data())
    learned = json.loads(json.dumps(fitter.learned_parameters()))
    assert set(learned["synthetic_mc"]["family_intercepts"]) == set(fitter.families_)


# -- reproduction of the Sloth paper (docs/sloth-paper.md), n = 1 ----------------------------------

PUBLISHED = {
    "flops-sigmoid": {"oll-v2": 4.9, "oll-v1": 7.8, "oll-all": 6.1},
    "flops-sigmoid-family": {"oll-v2": 3.8, "oll-v1": 4.9, "oll-all": 4.1},
}


def _paper_per_benchmark(fitter: str, benchmark_set: str) -> dict[str, float]:
    from obslaws.backtest.paper import PAPER_METHODS, paper_errors

    col = "abserr_" + PAPER_METHODS[fitter]
    rows = paper_errors().filter((pl.col("set") == benchmark_set) & (pl.col("n_train") == 1))
    per = rows.group_by("benchmark", "test_group").agg(pl.col(col).mean()).group_by("benchmark").agg(pl.col(col).mean())
    return {b: 100 * v for b, v in per.iter_rows()}


@requires_shared()
def test_reproduces_the_papers_per_benchmark_errors_on_its_csv():
    """On data_v2.csv as the paper used it, each benchmark's MAE matches the paper's to 0.1 point."""
    from obslaws.backtest.paper import sloth_fit_data

    result = run_backtest(
        FlopsSigmoidFitter(), sloth_fit_data(), "family-holdout", benchmarks="oll-v2", n_train=1, groups="sloth-paper"
    )
    summary = result.summary()
    for bench, mae in _paper_per_benchmark("flops-sigmoid", "oll-v2").items():
        assert summary["benchmarks"][bench]["mae_pt"] == pytest.approx(mae, abs=0.1), bench


def _registry_conn(registry_db):
    return duckdb.connect(str(registry_db), read_only=True)


@pytest.mark.parametrize("name", ["flops-sigmoid", "flops-sigmoid-family"])
def test_reproduces_the_paper_on_registry_source_v2(registry_db, name):
    """On the registry's sloth-data-v2 source, OLL v2, n = 1: within 0.5 points of the paper."""
    from obslaws.store.read import load_fit_data

    conn = _registry_conn(registry_db)
    try:
        data = load_fit_data(conn, None, source="sloth-data-v2")
    finally:
        conn.close()
    result = run_backtest(
        get_fitters().create(name), data, "family-holdout", benchmarks="oll-v2", n_train=1, groups="sloth-paper"
    )
    assert result.summary()["average"]["mae_pt"] == pytest.approx(PUBLISHED[name]["oll-v2"], abs=0.5)
    assert result.summary()["n_groups"] == 12


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("OBSLAWS_SLOW"), reason="set OBSLAWS_SLOW=1 (scripts/bench/bench_baselines.py runs it too)"
)
@pytest.mark.parametrize("benchmark_set", ["oll-v1", "oll-all"])
@pytest.mark.parametrize("name", ["flops-sigmoid", "flops-sigmoid-family"])
def test_reproduces_the_paper_on_registry_source_v1_and_all(registry_db, name, benchmark_set):
    from obslaws.store.read import load_fit_data

    conn = _registry_conn(registry_db)
    try:
        data = load_fit_data(conn, None, source="sloth-data-v2")
    finally:
        conn.close()
    result = run_backtest(
        get_fitters().create(name), data, "family-holdout", benchmarks=benchmark_set, n_train=1, groups="sloth-paper"
    )
    assert result.summary()["average"]["mae_pt"] == pytest.approx(PUBLISHED[name][benchmark_set], abs=0.5)
