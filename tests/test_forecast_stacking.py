"""Registered fitters stacked on the forecaster: weights from its inner folds, fall-back where a
member cannot predict."""

from __future__ import annotations

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
from obslaws_forecast.select import FoldResult
from obslaws_forecast.stacker import Stacker, blend, weight_grid
from obslaws_forecast.stacker_set import StackerSet

from obslaws import FitData
from obslaws.fitting.lookup import get_fitters
from obslaws.fitting.selection import with_covariates
from obslaws.testing import synthetic_data

MEMBER = "flops-sigmoid-family"  # registered by the baselines plugin; the synthetic law is its own


def small_forecaster(**options) -> ForecastFitter:
    return ForecastFitter(**{"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), **options})


def _stacker(member_error: dict[str, tuple[float, ...]], seed: int = 0) -> tuple[Stacker, dict[str, FoldResult]]:
    """Folds of 50 cells per target (chance 0) where the forecaster errs by +10 points on every cell
    and the member by ``-member_error[fold][target]`` points (so a blend can cancel both)."""
    rng = np.random.default_rng(seed)
    results, predictions = {}, {}
    for fold, errs in member_error.items():
        k = len(errs)
        columns = np.repeat(np.arange(k), 50)
        truth = rng.uniform(0.3, 0.7, columns.size)
        own = truth + 0.10
        logits, z = np.log(own / (1 - own)), np.log(truth / (1 - truth))
        cats = np.array(["unseen family, no scores"] * truth.size, dtype=object)
        errors = 100 * np.abs(own - truth)
        rows = np.arange(truth.size)  # one query row per cell
        results[fold] = FoldResult(float(errors.mean()), z - logits, logits, columns, cats, errors, rows, truth)
        member = np.full((1, truth.size, k), np.nan)
        member[0, rows, columns] = truth - np.asarray(errs)[columns] / 100
        predictions[fold] = member
    return Stacker(("member",), predictions, np.zeros(k)), results


CUTS = ("cut-6m n=0", "cut-9m n=0", "cut-12m n=0")


def test_the_weights_are_the_inner_folds_choice_and_kept_only_if_held_out_folds_agree():
    # target 0: the member errs by 10 points the other way (half and half cancels both errors);
    # target 1: by 40 points the forecaster's way (the forecaster alone is best): a weight each
    stacker, results = _stacker(dict.fromkeys(CUTS, (10.0, -40.0)))
    stacked = stacker.stack("later", results)
    assert stacker.weights["later"].tolist() == [[0.5], [0.0]]
    assert stacker.record["later"]["rule"] == "per target"
    assert set(stacker.record["later"]["held-out fold"]["per target"]) == {"cut-6m", "cut-9m", "cut-12m"}
    assert all(r.errors[r.columns == 0].max() < 1e-6 for r in stacked.values())
    assert all(np.allclose(r.errors[r.columns == 1], 10) for r in stacked.values())
    # the member is exact on one fold and 12 points off (the forecaster's way) on the others: on the
    # three folds together the member alone is best (MAE 8 against 10), but each fold left out is
    # predicted no better (the exact one: the others choose the forecaster) or worse (12 against
    # 10) by the weight the other two choose, so the forecaster stays alone
    stacker, results = _stacker({CUTS[0]: (0.0,), CUTS[1]: (-12.0,), CUTS[2]: (-12.0,)})
    unchanged = stacker.stack("later", results)
    assert stacker.weights["later"].tolist() == [[0.0]] and stacker.record["later"]["rule"] == "forecast alone"
    assert all(unchanged[f] is results[f] for f in results)
    inner = stacker.record["later"]["inner MAE"]
    assert min(inner, key=lambda w: np.mean(list(inner[w].values()))) == "member=1"
    # a kind with one fold group cannot be checked: it takes every fold's weights
    stacker.weights["all"] = np.array([[0.25]])
    stacker.predictions["compute >q75"] = stacker.predictions[CUTS[0]]
    stacker.stack("larger", {"compute >q75": results[CUTS[0]]})
    assert stacker.weights["larger"].tolist() == [[0.25]]


def test_a_cell_the_member_cannot_predict_keeps_the_forecasters_prediction():
    own = np.array([0.2, 0.4, 0.6])
    member = np.array([[0.4, np.nan, 0.2]])
    assert np.allclose(blend(own, member, np.array([0.5])), [0.3, 0.4, 0.4])
    assert (0.0, 0.0) in weight_grid(2) and (0.5, 0.5) in weight_grid(2) and (0.75, 0.5) not in weight_grid(2)


def test_the_forecaster_stacks_a_registered_fitter_on_its_inner_folds():
    data = synthetic_data()
    # every kind (``all`` too), and the rule that no held-out group may lose to the forecaster alone
    stacked = small_forecaster(
        stack=(MEMBER, "no-such-fitter", "forecast"),
        stack_kinds=(),
        stack_guard=True,
        stack_larger=(),
        stack_anchored=(),
    )
    stacked.fit(data)
    assert stacked.learned_parameters()["stacked"]["waiting"] == [MEMBER, "no-such-fitter", "forecast"]
    stacked.predict(data)  # the training models' missing cells: a stacked kind, so the members are fitted
    learned = stacked.learned_parameters()["stacked"]
    assert learned["members"] == [MEMBER]
    assert learned["left_out"] == {"no-such-fitter": "not registered", "forecast": "the forecaster itself"}
    assert set(learned["weights"]) == {"all", "cells", "later", "larger", "inside", "anchored"}
    for record in learned["compared"].values():
        assert set(record["inner MAE"]) == {f"{MEMBER}={w:g}" for w in (0, 0.25, 0.5, 0.75, 1)}
        assert all(set(m) <= set(stacked.folds_) for m in record["inner MAE"].values())
        assert record["rule"] in ("forecast alone", "one weight", "per target", "every fold's")
    assert all(set(w) == set(data.targets) for w in learned["weights"].values())

    # next year's releases (the later kind, which the inner folds stack): with FLOPs and a family
    # the member moves the prediction; without FLOPs it cannot predict, and the forecaster alone does
    alone = small_forecaster(stack=(), stack_larger=(), stack_anchored=()).fit(data)
    later = data.models.with_columns(
        pl.col("model_id") + "-next", pl.col("release_date").dt.offset_by("5y").alias("release_date")
    )
    bare = later.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("params", "tokens", "flops"))
    for models, moved in ((later, True), (bare, False)):
        query = FitData.build(models, benchmarks=data.benchmarks, targets=data.targets)
        both, own = stacked.predict(query), alone.predict(query)
        assert np.array_equal(both["prediction"].to_numpy(), own["prediction"].to_numpy()) != moved
        assert (both["lower"] <= both["prediction"]).all() and (both["prediction"] <= both["upper"]).all()
    # the synthetic scores follow the member's own law: the later kind's inner folds take it
    assert any(w != f"{MEMBER}=0" for w in learned["weights"]["later"].values())


GROUPS = ("groups 1/3", "groups 2/3", "groups 3/3")


def test_without_the_guard_a_rule_that_loses_one_group_a_little_can_still_win_on_average():
    # the member errs by 10 points against the forecaster's +10 on two groups (half and half cancels
    # both) and by 12 the forecaster's way on the third: weight 0.5, chosen without each group,
    # predicts two groups exactly and the third at 11 points against 10 alone (mean 3.7 against 10)
    folds = {GROUPS[0]: (-10.0,), GROUPS[1]: (-10.0,), GROUPS[2]: (12.0,)}
    guarded, results = _stacker({f: tuple(-e for e in err) for f, err in folds.items()})
    guarded.stack("inside", results)
    assert guarded.record["inside"]["rule"] == "forecast alone" and guarded.weights["inside"].tolist() == [[0.0]]
    free, results = _stacker({f: tuple(-e for e in err) for f, err in folds.items()})
    free.guard = False
    free.stack("inside", results)
    assert free.record["inside"]["rule"] == "one weight" and free.weights["inside"].tolist() == [[0.5]]
    held = free.record["inside"]["held-out fold"]
    assert held["one weight"][GROUPS[2]] > held["forecast alone"][GROUPS[2]]
    # members stacked for the inside kind only leave every other kind's results as they were
    only, results = _stacker({f: tuple(-e for e in err) for f, err in folds.items()})
    only.kinds, only.guard = ("inside",), False
    assert only.stack("all", results) is results and "all" not in only.weights


def test_the_default_fits_its_members_only_when_a_new_family_among_known_ones_is_predicted():
    data = synthetic_data()
    held = data.models["family"].is_in(["fam2", "fam2-it"]) & (data.models["params"] > 1.5e8)
    train = data.select_models(data.models.filter(~held)["model_id"].to_list())
    query = data.select_models(data.models.filter(held)["model_id"].to_list())
    fitted, alone = small_forecaster().fit(train), small_forecaster(stack=()).fit(train)
    # the same two members as for larger models: the compute law and Sloth
    assert fitted.get_params()["stack"] == (MEMBER, "sloth") and fitted.get_params()["stack_kinds"] == ("inside",)
    # the training models' missing cells (the cells kind): nothing fitted, the forecaster alone
    assert fitted.predict(train).equals(alone.predict(train))
    assert fitted.learned_parameters()["stacked"]["waiting"] == [MEMBER, "sloth"]
    # fam2's larger models, its smallest seen: the inside kind, the members fitted on the group folds
    both, own = fitted.predict(query), alone.predict(query)
    learned = fitted.learned_parameters()["stacked"]
    # (they are also stacked for the larger and anchored kinds, apart: no query of those here, so those wait)
    assert learned["waiting"] == [MEMBER, "sloth"] and set(learned["weights"]) == {"inside"}
    folds = {f for m in learned["compared"]["inside"]["inner MAE"].values() for f in m}
    assert folds == {f for f, kind in fitted.folds_.items() if kind == "inside"} == set(GROUPS)
    weights = learned["weights"]["inside"].values()
    moved = any(w != f"{MEMBER}=0 sloth=0" for w in weights)
    # Sloth (batch-invariant) is fitted on the training data only where the inner folds give it a weight;
    # the compute law's folds and final fit go to its fit_many in one call
    assert sorted(learned["members"] + learned["folds_only"]) == sorted([MEMBER, "sloth"])
    assert ("sloth" in learned["members"]) == any(not w.endswith("sloth=0") for w in weights)
    assert moved == (not both["prediction"].equals(own["prediction"]))
    assert (both["lower"] <= both["prediction"]).all() and (both["prediction"] <= both["upper"]).all()


def test_the_default_stacks_the_compute_law_and_sloth_for_larger_models_only_on_the_compute_folds():
    data = synthetic_data()
    flops, days = data.models["flops"], data.models["release_date"]
    train = data.select_models(data.models.filter(flops <= 1.5e22)["model_id"].to_list())
    latest = train.models["release_date"].max()
    # more compute than any training model, released before the latest one: the larger kind
    query = data.select_models(data.models.filter((flops > 1.5e22) & (days <= latest))["model_id"].to_list())
    assert query.models.height >= 2
    fitted = small_forecaster(stack=(), stack_anchored=()).fit(train)
    alone = small_forecaster(stack=(), stack_larger=(), stack_anchored=()).fit(train)
    assert fitted.get_params()["stack_larger"] == (MEMBER, "sloth")
    learned = fitted.learned_parameters()["stacked"]
    assert learned["waiting"] == [MEMBER, "sloth"] and learned["kinds"] == {MEMBER: ["larger"], "sloth": ["larger"]}
    # the training models' missing cells: the members are not fitted, the forecaster alone predicts
    assert fitted.predict(train).equals(alone.predict(train))
    assert fitted.learned_parameters()["stacked"]["waiting"] == [MEMBER, "sloth"]
    both, own = fitted.predict(query), alone.predict(query)
    learned = fitted.learned_parameters()["stacked"]
    assert learned["waiting"] == [] and set(learned["weights"]) == {"larger"}
    compute = {f for f, kind in fitted.folds_.items() if kind == "larger"}
    # (every synthetic family spans every size: the fold past a gap, without its test models'
    # families, would have no training model, so it is not made)
    assert compute == {"compute q50-q75", "compute >q75"}
    record = learned["compared"]["larger"]
    assert {f for m in record["inner MAE"].values() for f in m} == compute
    assert len(record["inner MAE"]) == len(weight_grid(2))  # both members' weights on one grid
    # each target's prediction is the forecaster's and the members' (fitted on the same training
    # models) at the weights its inner compute folds chose; a member no target weights is not fitted
    weights = {t: dict(part.split("=") for part in label.split()) for t, label in learned["weights"]["larger"].items()}
    weighted = [m for m in (MEMBER, "sloth") if any(float(w[m]) for w in weights.values())]
    assert learned["members"] == weighted and sorted(learned["folds_only"] + weighted) == sorted([MEMBER, "sloth"])
    merged = own
    for m in weighted:
        merged = merged.join(fitted.members_[m].predict(query), on=["model_id", "benchmark"], suffix=f"_{m}")
    expected = merged["prediction"].to_numpy().copy()
    for m in weighted:
        w = merged["benchmark"].replace_strict({t: float(ws[m]) for t, ws in weights.items()}).to_numpy()
        expected += w * (merged[f"prediction_{m}"].to_numpy() - merged["prediction"].to_numpy())
    got = both.join(merged, on=["model_id", "benchmark"])["prediction"].to_numpy()
    assert np.allclose(got, expected)
    assert (both["lower"] <= both["prediction"]).all() and (both["prediction"] <= both["upper"]).all()


def test_a_member_without_weight_leaves_the_others_blended():
    # two members for the larger kind; the first weighted 0.5 on target 0, the second weighted
    # nowhere and so never fitted on the training data: the first is still blended
    stacker = Stacker(("first", "second"), {}, np.zeros(2), kinds=("larger",))
    stacker.weights["larger"] = np.array([[0.5, 0.0], [0.0, 0.0]])
    stacker.work = None
    parts = StackerSet((stacker,))
    scores, kinds = np.array([[0.2, 0.4], [0.6, 0.8]]), np.array(["larger", "later"])
    member = np.array([[0.4, 0.0], [0.0, 0.0]])
    out = parts.blended(scores, kinds, {"first": "fitted"}, lambda fitted: member)
    assert np.allclose(out, [[0.3, 0.4], [0.6, 0.8]])  # the later row: no stacker serves it
    # a weighted member without a fit (not expected: such a member leaves the names) blends nothing
    stacker.weights["larger"] = np.array([[0.5, 0.25], [0.0, 0.0]])
    assert np.array_equal(parts.blended(scores, kinds, {"first": "fitted"}, lambda fitted: member), scores)


def test_a_batch_invariant_member_is_fitted_on_the_training_data_only_where_a_kind_weights_it():
    data = synthetic_data()
    # with version 13's gap fold (every synthetic family spans every size, so the fold without its
    # test models' families is not made): on those folds logit-linear takes a weight, benchmark-mean none
    options = {"stack_larger": (), "gap_new_families": False}
    for member, weighted in (("logit-linear", True), ("benchmark-mean", False)):
        fitted = small_forecaster(stack=(member,), stack_kinds=(), **options).fit(data)
        alone = small_forecaster(stack=(), **options).fit(data)
        both = fitted.predict(data)  # the training models' missing cells: the members are fitted
        learned = fitted.learned_parameters()["stacked"]
        assert any(w != f"{member}=0" for ws in learned["weights"].values() for w in ws.values()) == weighted
        assert learned["members"] == ([member] if weighted else [])
        assert learned["folds_only"] == ([] if weighted else [member])
        assert (member in fitted.members_) == weighted
        # no weight: the forecaster's own predictions, without the member's fit on the training data
        assert weighted or both.equals(alone.predict(data))
    # the fit made after the weights were chosen is the member's fit on the training models
    again = get_fitters().create("logit-linear").fit(with_covariates(data, ["flops"])).predict(data)
    small = small_forecaster(stack=("logit-linear",), stack_kinds=(), **options).fit(data)
    small.predict(data)
    assert small.members_["logit-linear"].predict(data).equals(again)


def test_a_kind_without_inner_folds_fits_no_member_and_predicts_as_the_forecaster_alone():
    data = synthetic_data()
    two = data.select_models(data.models.filter(pl.col("family_group").is_in(["fam0", "fam1"]))["model_id"])
    models = two.models
    family = models["family"][0]
    held = (models["family"] == family) & (models["params"] > models.filter(pl.col("family") == family)["params"].min())
    train = two.select_models(models.filter(~held)["model_id"].to_list())
    query = two.select_models(models.filter(held)["model_id"].to_list())
    fitted = small_forecaster(stack=("sloth",), stack_larger=()).fit(train)  # the inside kind has no folds here
    assert "inside" not in fitted.folds_.values()
    both = fitted.predict(query)
    assert both.equals(small_forecaster(stack=(), stack_larger=()).fit(train).predict(query))
    learned = fitted.learned_parameters()["stacked"]
    assert learned["members"] == [] and learned["folds_only"] == ["sloth"] and learned["weights"] == {}
