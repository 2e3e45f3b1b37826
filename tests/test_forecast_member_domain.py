"""Stacked members told a new family's training domain (``member_domains``): their predictions of a
new code family's models move by the covariate model's code effect, nothing else moves, the option
off changes nothing, and where both settings are offered each stacked kind chooses on its folds."""

from __future__ import annotations

import numpy as np
import polars as pl
from forecast_models import family_models
from obslaws_forecast.covariate import CovariateModel
from obslaws_forecast.design import ModelTable
from obslaws_forecast.engine import Config
from obslaws_forecast.member_domain import domain_effects, member_shift, shifted, without_shifts
from obslaws_forecast.scoreboard import FoldResult
from obslaws_forecast.stacker import Stacker
from obslaws_forecast.stacker_set import StackerSet
from test_forecast import small_forecaster

from obslaws import FitData

CODE_DEFICIT = -1.5  # logits: a code family below a general family of its size and tokens
SIZES = (1e9, 3e9, 7e9, 13e9)
BIG = (13e9, 30e9)  # the sizes of the families first seen above the median compute


def _families(extra: dict | None = None) -> dict:
    small = {f"fam{f}": (f in {2, 5, 9, 13}, SIZES) for f in range(14)}
    big = {f"big{f}": (f in {0, 2}, BIG) for f in range(4)}
    return (extra or {}) | small | big  # extra families first: released before the latest training model


def _data(models: pl.DataFrame, seed: int = 0) -> FitData:
    rng = np.random.default_rng(seed)
    table = ModelTable.of(models)
    code = (table.domain == "code").astype(float)
    rows = []
    for j, slope in enumerate((0.4, 0.3)):
        z = slope * table.raw["log_n"] + CODE_DEFICIT * code - 0.5 + 0.1 * rng.normal(size=table.n)
        rows += [
            {"model_id": m, "benchmark": f"t{j}", "value": float(v)}
            for m, v in zip(models["model_id"], 1 / (1 + np.exp(-z)), strict=True)
        ]
    return FitData.build(models, pl.DataFrame(rows), targets=["t0", "t1"])


def test_the_shift_is_the_code_effect_and_only_for_new_code_families():
    train = ModelTable.of(family_models(_families()))
    z = np.column_stack([0.4 * train.raw["log_n"] + CODE_DEFICIT * (train.domain == "code")] * 2)
    observed = np.ones(z.shape, dtype=bool)
    on = CovariateModel.fit(train, z, observed, Config().terms, 1.0, Config(domain=True).levels)
    off = CovariateModel.fit(train, z, observed, Config().terms, 1.0, Config(domain=False).levels)
    # a model of a seen code family, of a new code family, of a new general family
    query = ModelTable.of(family_models({"fam2": (True, (7e9,)), "newcode": (True, (7e9,)), "newgen": (False, (7e9,))}))
    shift = member_shift(on, None, query, np.zeros(3, dtype=bool))
    effect = domain_effects(on, query)
    assert np.all(shift[[0, 2]] == 0) and np.all(shift[1] == effect[1])
    assert np.all(effect[1] < -0.3)  # the pooled code effect, shrunk towards 0 but clearly negative
    assert not member_shift(off, None, query, np.zeros(3, dtype=bool)).any()  # the level not pooled
    # a member's scores move by that many logits where shifted, and keep their bits elsewhere
    members = np.array([[0.4, 0.6, np.nan], [0.5, 0.5, 0.5]])
    moved = shifted(members, np.array([0.0, -1.0, -1.0]), np.zeros(3))
    assert moved[0, 0] == 0.4 and np.isnan(moved[0, 2]) and moved[1, 0] == 0.5
    assert np.isclose(moved[1, 1], 1 / (1 + np.exp(1.0)))


def _stacker(on_error: float, member_domains: tuple[bool, ...]) -> tuple[Stacker, dict[str, FoldResult]]:
    """Three fold groups of 40 cells; the forecaster errs +10 points everywhere, the member is exact on
    the first 20 cells and ``-shift`` logits off on the 20 shifted ones, where shifting leaves it
    ``on_error`` logits off."""
    rng = np.random.default_rng(0)
    results, predictions = {}, {}
    for fold in ("groups 1/3", "groups 2/3", "groups 3/3"):
        truth = rng.uniform(0.35, 0.65, 40)
        logit = np.log(truth / (1 - truth))
        own = truth + 0.1
        logits = np.log(own / (1 - own))
        shift = np.where(np.arange(40) >= 20, -1.0, 0.0)
        member = 1 / (1 + np.exp(-(logit - shift + np.where(shift != 0, on_error, 0.0))))
        cats = np.array(["unseen family, no scores"] * 40, dtype=object)
        errors = 100 * np.abs(own - truth)
        cells = np.arange(40)
        results[fold] = FoldResult(
            float(errors.mean()), logit - logits, logits, np.zeros(40, int), cats, errors, cells, truth, shift
        )
        predictions[fold] = member[None, :, None]
    return Stacker(("member",), predictions, np.zeros(1), member_domains=member_domains), results


def test_each_kind_chooses_the_shift_on_its_folds_and_records_it():
    stacker, results = _stacker(0.0, (False, True))  # shifted, the member is exact
    stacker.stack("inside", results)
    record = stacker.record["inside"]
    assert stacker.shifted["inside"] and record["member domain"] == "on"
    # off, the member errs the forecaster's way on the shifted cells: off keeps the forecaster alone
    assert set(record["member domain (held-out fold)"]) == {"off: forecast alone", "on: one weight"}
    assert stacker.weights["inside"].tolist() == [[1.0]]
    # shifted, the member is as far off the other way: the shift does not help, so it stays off
    stacker, results = _stacker(2.0, (False, True))
    stacker.stack("inside", results)
    assert not stacker.shifted["inside"] and stacker.record["inside"]["member domain"] == "off"
    # always on: no comparison, the member shifted
    stacker, results = _stacker(2.0, (True,))
    stacker.stack("inside", results)
    assert stacker.shifted["inside"] and "member domain" not in stacker.record["inside"]


def test_the_option_off_ignores_the_shifts_to_the_bit():
    stacker, results = _stacker(0.0, (False,))
    plain, _ = _stacker(0.0, (False,))
    stacked = stacker.stack("inside", results)
    unshifted = plain.stack("inside", without_shifts(results))
    assert np.array_equal(stacker.weights["inside"], plain.weights["inside"])
    assert all(np.array_equal(stacked[f].logits, unshifted[f].logits) for f in results)
    assert stacker.record["inside"] == plain.record["inside"] and not stacker.shifted["inside"]
    # and at prediction time (the member weighted): a shift given to a kind that chose none changes nothing
    stacker.weights["inside"] = np.array([[0.5]])
    scores, members = np.full((2, 1), 0.5), np.array([[0.3], [0.7]])
    parts = StackerSet((stacker,))
    args = (scores, np.array(["inside"] * 2), {"member": object()}, lambda m: members)
    assert np.array_equal(parts.blended(*args, np.array([[0.0], [-1.0]])), parts.blended(*args))
    stacker.shifted["inside"] = True
    moved = parts.blended(*args, np.array([[0.0], [-1.0]]))
    assert moved[0, 0] == parts.blended(*args)[0, 0] and moved[1, 0] < parts.blended(*args)[1, 0]


def _split() -> tuple[FitData, FitData]:
    """Training data with new code families above the median compute, and a query of two models
    with more compute than any training model (the larger kind) of new families, code and general."""
    models = family_models(_families({"newcode": (True, (60e9,)), "newgen": (False, (60e9,))}))
    data = _data(models)
    train = data.select_models([m for m in models["model_id"] if not m.startswith("new")])
    return train, data.select_models(["newcode-0", "newgen-0"])


def _forecaster(member_domains: tuple[bool, ...]):
    options = {"stack": (), "stack_anchored": (), "stack_larger": ("flops-sigmoid-family",)}
    return small_forecaster(member_domains=member_domains, **options)


def _fit(member_domains: tuple[bool, ...]):
    train, query = _split()
    fitted = _forecaster(member_domains).fit(train)
    return fitted, fitted.predict(query), query


def test_a_fit_shifts_new_code_families_only_and_records_the_choice():
    fitted, predicted, query = _fit((False, True))
    stacked = fitted.learned_parameters()["stacked"]
    assert isinstance(stacked["member_domain"]["larger"], bool)
    # the compute folds hold new code families (big0, big2 above the median), so both settings were compared
    assert "member domain (held-out fold)" in stacked["compared"]["larger"]
    table = ModelTable.of(query.models)
    shift = fitted.engines_["larger"][0].member_shift(table, np.zeros((2, 1), dtype=bool))
    ids = query.models["model_id"].to_list()
    assert np.all(shift[ids.index("newgen-0")] == 0) and np.all(shift[ids.index("newcode-0")] < 0)
    off = _forecaster((False,)).fit(_split()[0])
    assert "member_domain" not in off.learned_parameters()["stacked"]
    if not stacked["member_domain"]["larger"]:
        assert off.predict(query).equals(predicted)


def test_at_prediction_the_shift_moves_only_the_new_code_familys_cells():
    fitted, _, query = _fit((True,))
    part = fitted.stacker_.part("larger")
    assert part.shifted["larger"]
    part.weights["larger"] = np.full_like(part.weights["larger"], 0.5)  # the member weighted, to see it move
    on = fitted.predict(query)
    part.shifted["larger"] = False
    off = fitted.predict(query)
    moved = on.join(off, on=["model_id", "benchmark"]).filter(pl.col("prediction") != pl.col("prediction_right"))
    assert set(moved["model_id"]) == {"newcode-0"} and moved.height == 2
    # by half the member's move (its weight), the member's score shifted by the code effect
    member = fitted.members_["flops-sigmoid-family"].predict(query).filter(pl.col("model_id") == "newcode-0")
    shift = fitted.engines_["larger"][0].member_shift(ModelTable.of(query.models), np.zeros((2, 1), dtype=bool))
    row = query.models["model_id"].to_list().index("newcode-0")
    for t, m in zip(member["benchmark"], member["prediction"], strict=True):
        j = fitted.targets_.index(t)
        expected = 0.5 * (shifted(np.array(m), shift[row, j], fitted.chance_[j]) - m)
        got = moved.filter(pl.col("benchmark") == t)
        assert np.isclose(got["prediction"][0] - got["prediction_right"][0], expected)
