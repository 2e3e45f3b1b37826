"""The forecast plugin: the default forecaster, its baselines and the Epoch benchmark-hub reader."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from conftest import SHARED, requires_shared
from obslaws_forecast import BenchmarkMean, ForecastFitter, LogitSVD
from obslaws_forecast.completion import ResidualCompletion, hard_impute
from obslaws_forecast.correlated import CorrelatedRidge
from obslaws_forecast.engine import PlainCompletion
from obslaws_forecast.inner import KINDS, query_kinds, release_days, time_folds
from obslaws_forecast.matrix import LogitMatrix
from obslaws_forecast.scale import from_logit

from obslaws import FitData, Requirements
from obslaws.backtest import CellHoldout, FamilyHoldout, run_backtest
from obslaws.errors import ValidationError
from obslaws.testing import synthetic_data

HUB = SHARED / "epoch-ai" / "benchmark-stitching-2025-12"
INPUTS = ("aux_a", "aux_b", "aux_c")


def small_forecaster(**options) -> ForecastFitter:
    """A forecaster with a small choice grid and no stacked member (test_forecast_stacking.py tests
    those), so that tests stay fast."""
    return ForecastFitter(**{"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), "stack": (), **options})


def test_benchmark_mean_predicts_training_means():
    data = synthetic_data()
    fitted = BenchmarkMean().fit(data)
    out = fitted.predict(data.hide_scores())
    means = data.scores.group_by("benchmark").agg(pl.col("value").mean())
    joined = out.join(means, on="benchmark")
    assert np.allclose(joined["prediction"], joined["value"])


def test_logit_svd_recovers_a_rank_two_logit_matrix():
    rng = np.random.default_rng(0)
    n, j = 60, 8
    logits = 0.6 * rng.normal(size=(n, 2)) @ rng.normal(size=(2, j))  # inside the clipped range
    names = [f"b{k}" for k in range(j)]
    scores = pl.DataFrame(
        [
            {"model_id": f"m{i}", "benchmark": names[k], "value": float(1 / (1 + np.exp(-logits[i, k])))}
            for i in range(n)
            for k in range(j)
        ]
    )
    data = FitData.build(pl.DataFrame({"model_id": [f"m{i}" for i in range(n)]}), scores, targets=names)
    svd = run_backtest(LogitSVD(alpha=1e-3), data, CellHoldout(folds=1)).summary()["pooled"]
    mean = run_backtest(BenchmarkMean(), data, CellHoldout(folds=1)).summary()["pooled"]
    assert svd["mae_pt"] < 1.0 < 5 < mean["mae_pt"]


def test_the_stacked_baseline_is_the_logit_svd_baseline_at_its_rank():
    data = synthetic_data(Requirements(input_benchmarks=INPUTS))
    query = data.hide_scores([data.targets[0]])
    for rank in (1, 2):
        baseline = LogitSVD(rank=rank).fit(data)
        matrix = LogitMatrix.build(data, baseline.benchmarks_)
        plain = PlainCompletion.fit(matrix.z, matrix.observed, rank)
        hidden = LogitMatrix.build(query, baseline.benchmarks_)
        ours = from_logit(plain.predict(hidden.z, hidden.observed)[:, 0], hidden.chance[0])
        theirs = baseline.predict(query).filter(pl.col("benchmark") == data.targets[0])
        assert theirs["model_id"].to_list() == query.models["model_id"].to_list()
        np.testing.assert_allclose(ours, theirs["prediction"].to_numpy(), atol=1e-9)


def test_forecast_beats_the_benchmark_mean_on_unseen_family_groups():
    data = synthetic_data()
    forecast = run_backtest(small_forecaster(), data, FamilyHoldout(n_train=1)).summary()
    mean = run_backtest(BenchmarkMean(), data, FamilyHoldout(n_train=1)).summary()
    assert forecast["average"]["mae_pt"] < 0.5 * mean["average"]["mae_pt"]
    assert 0.5 <= forecast["coverage"] <= 1.0


def test_forecast_uses_a_models_other_scores():
    """An unseen family's scores on other benchmarks reveal its efficiency: errors drop with them."""
    data = synthetic_data(Requirements(input_benchmarks=INPUTS))
    protocol = FamilyHoldout(n_train=0)
    with_inputs = run_backtest(small_forecaster(), data, protocol).summary()["average"]["mae_pt"]
    without = data.hide_scores(INPUTS).with_targets(data.targets)
    without_inputs = run_backtest(small_forecaster(), without, protocol).summary()["average"]["mae_pt"]
    assert with_inputs < 0.7 * without_inputs


def test_forecast_records_what_its_inner_folds_compared():
    data = synthetic_data()
    orgs = pl.when(pl.col("family").is_in(["fam0", "fam1"])).then(pl.lit("org a")).otherwise(pl.lit("org b"))
    data = replace(data, models=data.models.with_columns(orgs.alias("organization")))
    fitted = small_forecaster().fit(data)
    learned = fitted.learned_parameters()
    assert set(learned["chosen"]) == {"all", "cells", "later", "larger", "inside", "anchored"}
    assert all(c["pooling"] in (1.0, 8.0) for c in learned["chosen"].values())
    folds = learned["inner_folds"]
    # every kind has folds of its own but the anchored kind, which borrows the later kind's n = 1 cuts
    assert {folds["cut-6m n=0"], folds["compute >q75"], folds["groups 1/3"], folds["cells 2/2"]} == set(KINDS) - {
        "anchored"
    }
    configs = {k: v for k, v in learned["compared"].items() if ":" not in k}
    assert all(set(v) == set(folds) for v in configs.values())
    # the organisation level and the stacked logit-svd baseline are choices of the inner folds
    assert any("org=on" in k for k in configs) and any("org=off" in k for k in configs)
    assert any("svd=0.5" in k for k in configs)
    # the stacked baseline's rank: compared by the cells kind only, the baseline's 2 for the others
    assert any("svd_rank=1" in k for k in configs)
    assert all(c["svd_rank"] == 2 for kind, c in learned["chosen"].items() if kind != "cells")
    # each kind's own folds against every fold, judged by leaving each own fold out
    assert set(learned["chosen_by"]) == set(KINDS) and learned["chosen_by"].pop("anchored") == "as inside"
    assert set(learned["chosen_by"].values()) <= {"own folds", "every fold"}
    assert "later: choose on own folds (held-out fold)" in learned["compared"]
    # a configuration per target only where leaving each fold out prefers it to the joint one
    assert "later: per benchmark (held-out fold)" in learned["compared"]

    # (or, for the later kind, a blend per target where leaving each fold out prefers it)
    def wins(kind: str, rule: str, other: str) -> bool:
        own, base = (learned["compared"].get(f"{kind}: {r} (held-out fold)") or {} for r in (rule, other))
        return bool(own) and np.mean(list(own.values())) < np.mean(list(base.values()))

    for kind, per_target in learned["chosen_per_benchmark"].items():
        if kind == "anchored":  # the inside kind's
            assert per_target == learned["chosen_per_benchmark"]["inside"]
            continue
        assert set(per_target) == set(data.targets)
        assert wins(kind, "per benchmark", "joint") or wins(kind, "blend per target", "kind's blend")
    out = fitted.predict(data.hide_scores())
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()


def test_inner_time_folds_train_before_each_cut_and_test_the_next_six_months():
    data = synthetic_data()
    days = release_days(data.models)
    families = data.models["family"].to_numpy()
    folds = time_folds(data.models, min_train=8)
    assert {name for name, _, _ in folds} >= {"cut-6m n=0", "cut-9m n=1", "cut-12m n=0"}
    for name, train, test in folds:
        months = int(name.split("-")[1].split("m")[0])
        cut = np.nanmax(days) - months * 30.44
        assert (days[test] >= cut).all() and (days[test] < cut + 6 * 30.44).all()
        anchors = train & (days >= cut)
        if name.endswith("n=0"):
            assert not anchors.any()
        else:  # one anchor, its smallest, per family first seen after the cut; none of them tested
            assert len(set(families[anchors])) == anchors.sum()
            assert not set(families[anchors]) & set(families[train & (days < cut)])


def test_query_models_are_routed_to_the_kind_of_question_they_pose():
    trained = np.array([True, False, False, False, False])
    days = np.array([900.0, 1200.0, 900.0, 900.0, np.nan])
    flops = np.array([1e20, 1e20, 1e25, 1e20, 1e25])
    kinds = query_kinds(trained, days, flops, latest_day=1000.0, largest_flops=1e24)
    assert kinds.tolist() == ["cells", "later", "larger", "inside", "larger"]


def test_intervals_cover_about_ninety_percent_of_later_releases():
    data = synthetic_data()
    summary = run_backtest(small_forecaster(), data, "time-split", date="2023-06-01").summary()
    mean = run_backtest(BenchmarkMean(), data, "time-split", date="2023-06-01").summary()
    assert 0.7 <= summary["coverage"] <= 1.0
    assert summary["average"]["mae_pt"] < 0.5 * mean["average"]["mae_pt"]


def test_batched_completion_matches_one_ridge_per_model():
    rng = np.random.default_rng(1)
    residuals = rng.normal(size=(30, 6))
    observed = rng.random((30, 6)) < 0.6
    observed[0] = False
    completion = ResidualCompletion(rank=2, alpha=0.5).fit(residuals, observed)
    out = completion.predict(residuals, observed)
    v, m = completion.factors_, completion.offsets_
    for i in range(30):
        seen = observed[i]
        u = np.linalg.solve(v[seen].T @ v[seen] + 0.5 * np.eye(2), v[seen].T @ (residuals[i, seen] - m[seen]))
        assert np.allclose(out[i], m + v @ u)


def test_hard_impute_on_a_full_matrix_is_its_leading_singular_subspace():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 7))
    offsets, factors = hard_impute(x, np.ones(x.shape, dtype=bool), rank=2)
    _, s, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    assert np.allclose(offsets, x.mean(axis=0))
    assert np.allclose(np.abs(factors), np.abs(vt[:2].T * s[:2] / np.sqrt(40)))


def test_forecast_predicts_models_without_covariates():
    data = synthetic_data()
    bare = data.models.select("model_id").head(3)
    query = FitData.build(bare, benchmarks=data.benchmarks, targets=data.targets)
    out = small_forecaster().fit(data).predict(query)
    assert out.height == 3 * len(data.targets) and out["prediction"].is_finite().all()


@requires_shared()
def test_epoch_hub_reads_shares_with_dates():
    from obslaws_forecast.epoch_hub import load_hub

    data = load_hub(HUB)
    assert data.models.height > 300 and len(data.targets) > 30
    assert data.scores["value"].is_between(0, 1).all()
    assert {"epoch_mmlu", "epoch_gpqa_diamond", "epoch_gsm8k"} <= set(data.targets)
    assert data.models["release_date"].is_not_null().mean() > 0.8


@requires_shared()
def test_epoch_hub_bad_score_names_file_row_and_field(tmp_path):
    from obslaws_forecast.epoch_hub import load_hub

    folder = tmp_path / "hub"
    shutil.copytree(HUB, folder)
    path = folder / "external_benchmark_mmlu.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace("70.8%", "seventy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"external_benchmark_mmlu.csv.*row 3.*EM"):
        load_hub(folder)


def test_the_weighted_ridge_follows_the_models_away_from_the_floor():
    """Where the target sits at its floor its residuals are noise: weighted by p (1 - p), the
    ridge on a correlated benchmark keeps the slope the models in the middle of the scale show."""
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    floor = np.arange(n) < 150
    target = np.where(floor, rng.normal(size=n), x)  # the floor models' target residual is unrelated noise
    residuals = np.column_stack([target, x])
    observed = np.ones((n, 2), dtype=bool)
    weights = np.column_stack([np.where(floor, 0.03, 0.25), np.full(n, 0.25)])
    query = np.array([[0.0, 1.0]])
    seen = np.array([[False, True]])
    plain = CorrelatedRidge().fit(residuals, observed).predict(query, seen, np.array([0]))[0, 0]
    weighted = CorrelatedRidge().fit(residuals, observed, weights).predict(query, seen, np.array([0]))[0, 0]
    # the slope is the share of the weight the middle models carry: 50 of 200 unweighted, 12.5 of 17 weighted
    assert abs(plain - 50 / 200) < 0.1 and abs(weighted - 12.5 / 17) < 0.1
