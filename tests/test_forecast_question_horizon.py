"""A query is later or larger than the models with a target score. Models with inputs alone that
were released after them, or trained with more compute (the refresh's database holds 2025-2026
models scored only on other suites), move neither the inner folds' time cuts and compute quantiles
nor the line between the kinds of question. A training model with inputs alone is asked the question
its date and compute pose, not the `cells` question of a model with some of its targets scored.
`obslaws predict` says when a query is dated further past the targets' latest release than the time
folds looked ahead."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from obslaws_forecast import ForecastFitter
from obslaws_forecast.inner import inner_folds
from obslaws_forecast.matrix import LogitMatrix

import obslaws
from obslaws import FitData, Requirements
from obslaws.testing import synthetic_data

INPUTS = ("aux_a", "aux_b")


def _data() -> tuple[FitData, list[str]]:
    """Synthetic data whose eight latest and four largest models keep their input scores alone."""
    data = synthetic_data(Requirements(input_benchmarks=INPUTS))
    models = data.models
    alone = set(models.sort("release_date").tail(8)["model_id"]) | set(models.sort("flops").tail(4)["model_id"])
    without_targets = pl.col("model_id").is_in(list(alone)) & pl.col("benchmark").is_in(list(data.targets))
    return replace(data, scores=data.scores.filter(~without_targets)), sorted(alone)


def _folds(data: FitData) -> tuple[dict, list[str]]:
    matrix = LogitMatrix.build(data, [*data.targets, *INPUTS])
    folds = inner_folds(matrix.models, matrix.observed, len(data.targets))
    return {f.name: f for f in folds}, matrix.models["model_id"].to_list()


def test_time_cuts_and_compute_quantiles_are_placed_among_the_models_with_a_target_score():
    data, alone = _data()
    scored = data.models.filter(~pl.col("model_id").is_in(alone))["model_id"]
    folds, ids = _folds(data)
    reference, reference_ids = _folds(data.select_models(scored))
    rows = [ids.index(m) for m in reference_ids]  # the scored models' rows in the fuller matrix
    forward = {name: f for name, f in reference.items() if f.kind in ("later", "larger")}
    assert {"cut-6m n=0", "cut-12m n=0", "compute >q75"} <= set(forward)
    for name, fold in forward.items():
        assert folds[name].kind == fold.kind
        assert np.array_equal(folds[name].hide[rows], fold.hide), name
        assert np.array_equal(folds[name].train[rows], fold.train), name
        # the models with inputs alone are tested on nothing
        assert not folds[name].hide[[ids.index(m) for m in alone]].any()


def test_a_query_after_the_targets_latest_model_is_a_later_one_and_one_past_their_compute_larger():
    data, alone = _data()
    fitted = ForecastFitter(poolings=(8.0,), ranks=(1,), blends=(0.0,), stack=()).fit(data)
    scored = data.models.filter(~pl.col("model_id").is_in(alone))
    latest, largest = scored["release_date"].max(), scored["flops"].max()
    # the models with inputs alone reach further on both counts, so these are inside their range
    assert data.models["release_date"].max() > latest + dt.timedelta(days=1)
    assert data.models["flops"].max() > 1.5 * largest
    query = scored.head(2).with_columns(
        model_id=pl.Series(["next", "bigger"]),
        family=pl.Series(["new-a", "new-b"]),
        release_date=pl.Series([latest + dt.timedelta(days=1), scored["release_date"].min()]),
        flops=pl.Series([scored["flops"].min(), 1.5 * largest]),
    )
    assert fitted.query_kinds_of(query).tolist() == ["later", "larger"]
    # a training model is a `cells` question where it has target scores; one with inputs alone
    # poses the question its date says (the latest are later than every scored model)
    latest_alone = data.models.filter(pl.col("model_id").is_in(alone)).sort("release_date").tail(1)
    assert fitted.query_kinds_of(pl.concat([scored.head(1), latest_alone])).tolist() == ["cells", "later"]
    learned = fitted.learned_parameters()
    assert {"cut-6m n=0", "compute >q75"} <= set(learned["inner_folds"])
    horizon = learned["question_horizon"]  # what a user reads to know where the forecast extrapolates
    assert horizon["latest_target_release"] == latest.isoformat()
    assert horizon["largest_target_flops"] == largest and horizon["time_folds_test_months_ahead"] == 6


def test_predict_notes_a_query_dated_past_what_the_time_folds_tested(registry_db, tmp_path, cli, capsys):
    path = tmp_path / "registry.duckdb"
    shutil.copy(registry_db, path)
    small = [f"{k}=[{v}]" for k, v in (("poolings", "8.0"), ("ranks", "1"), ("blends", "0.0"))]
    small += [f"{k}=[]" for k in ("stack", "stack_larger", "stack_anchored")]
    args = ["--db", str(path), "predict", "forecast", *(x for o in small for x in ("-o", o))]
    args += ["--params", "7e9", "--tokens", "2e12", "--benchmarks", "oll-v1", "--format", "json"]
    assert cli([*args, "--date", "2027-01-01", "--name", "far"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["predictions"]  # the notes go to standard error, the JSON stays whole
    conn = obslaws.connect(path, plugins=False)
    learned = conn.execute("SELECT learned FROM fits WHERE fitter = 'forecast'").fetchall()
    conn.close()
    latest = dt.date.fromisoformat(json.loads(learned[0][0])["question_horizon"]["latest_target_release"])
    months = round((dt.date(2027, 1, 1) - latest).days / 30.44)
    assert (
        f"note: far is released {months} months after the latest model with a target score ({latest})" in captured.err
    )
    near = (latest + dt.timedelta(days=60)).isoformat()
    assert cli([*args, "--date", near, "--name", "near"]) == 0
    assert "note:" not in capsys.readouterr().err  # within the folds' 6 months: nothing to say
    # a model smaller than every model with a target score (OLL v1's smallest: 70M parameters)
    tiny = [a if a != "7e9" else "7e6" for a in args]
    assert cli([*tiny, "--date", near, "--name", "tiny"]) == 0
    err = capsys.readouterr().err
    assert "note: tiny has 10.1 times fewer parameters than the smallest model with a target score (7.04e+07)" in err


def test_a_family_whose_training_models_have_inputs_alone_is_a_new_family_to_the_targets():
    """Its models' target scores are unknown: a query from it is bounded as one from a family never
    seen (the database's 2025-2026 families scored only on other suites, asked their OLL v1 scores)."""
    data = synthetic_data(Requirements(input_benchmarks=INPUTS))
    group = pl.col("model_id").is_in(data.models.filter(pl.col("family_group") == "fam2")["model_id"].to_list())
    data = replace(data, scores=data.scores.filter(~(group & pl.col("benchmark").is_in(list(data.targets)))))
    fitted = ForecastFitter(poolings=(8.0,), ranks=(1,), blends=(0.0,), stack=()).fit(data)
    query = data.select_models(["fam2-1b"]).hide_scores(data.targets)
    renamed = query.models.with_columns(model_id=pl.lit("new-1b"), family=pl.lit("new"), family_group=pl.lit("new"))
    stranger = replace(query, models=renamed, scores=query.scores.with_columns(model_id=pl.lit("new-1b")))
    ours, theirs = (fitted.predict(q).sort("benchmark") for q in (query, stranger))
    # the same widths on the logit scale; in points they differ only as the centres do (by < 1 point)
    ratio = ((ours["upper"] - ours["lower"]) / (theirs["upper"] - theirs["lower"])).to_numpy()
    assert ratio == pytest.approx(np.ones(ratio.size), abs=0.02)
