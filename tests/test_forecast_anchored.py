"""The anchored kind: a new family whose smallest model trains, released after the established
families (a rolling forecast's test models at n = 1), asked with the inside kind's configuration
and the later kind's n = 1 cuts for its stacked weights and widths."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
from obslaws_forecast.inner import anchored_families, kind_folds, query_kinds

from obslaws.testing import synthetic_data

CUT = dt.date(2022, 12, 1)
MEMBER = "flops-sigmoid-family"


def _models(rows: list[tuple[str, str, dt.date | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"model_id": [r[0] for r in rows], "family": [r[1] for r in rows], "release_date": [r[2] for r in rows]},
        schema={"model_id": pl.String, "family": pl.String, "release_date": pl.Date},
    )


def test_a_family_is_anchored_when_all_its_training_models_came_after_the_established_ones():
    day = dt.date(2023, 1, 1)
    models = _models(
        [
            ("a1", "a", day),
            ("a2", "a", day + dt.timedelta(days=30)),  # the horizon: the latest established release
            ("b1", "b", day + dt.timedelta(days=40)),  # one model, after it: anchored
            ("c1", "c", day + dt.timedelta(days=10)),  # one model, before it
            ("d1", "d", None),  # undated: never placed after it
            ("e1", None, day + dt.timedelta(days=50)),  # no family
        ]
    )
    assert anchored_families(models) == {"b"}
    assert anchored_families(models.filter(pl.col("family") != "a")) == set()  # nothing established
    kinds = query_kinds(
        np.array([True, False, False, False]),
        np.array([0.0, 10.0, 99.0, 5.0]),
        np.array([1.0, 1.0, 1.0, 9.0]),
        latest_day=50.0,
        largest_flops=5.0,
        anchored=np.array([True, True, True, True]),
    )
    # a training model, an anchored family's model, one released after every training model, a larger one
    assert kinds.tolist() == ["cells", "anchored", "later", "larger"]


def test_the_anchored_kind_reads_the_later_kinds_n1_cuts():
    kinds = {"cut-6m n=0": "later", "cut-6m n=1": "later", "groups 1/3": "inside", "cells 1/2": "cells"}
    own = kind_folds(kinds)
    assert own["anchored"] == ["cut-6m n=1"] and own["later"] == ["cut-6m n=0", "cut-6m n=1"]
    assert own["inside"] == ["groups 1/3"] and kind_folds(kinds, borrow=False)["anchored"] == []


def _split() -> tuple:
    """Training models released before CUT plus fam4's and fam4-it's smallest (released later: anchored
    new families); the query: fam4's next two sizes, undated (not later than every training model)."""
    data = synthetic_data()
    models = data.models
    anchors = models["model_id"].is_in(["fam4-0.15b", "fam4-it-0.15b"])
    train = data.select_models(models.filter((pl.col("release_date") < CUT) | anchors)["model_id"].to_list())
    ids = ["fam4-0.4b", "fam4-1b"]
    query = data.select_models(ids)
    query = type(query).build(
        query.models.with_columns(pl.lit(None, dtype=pl.Date).alias("release_date")),
        benchmarks=data.benchmarks,
        targets=data.targets,
    )
    return train, query


def test_an_anchored_family_takes_the_inside_configuration_and_its_own_stacked_weights():
    train, query = _split()
    assert ForecastFitter().get_params()["stack_anchored"] == (MEMBER, "sloth")
    # the compute law as the member here: the synthetic scores follow it, and it fits in a moment
    options = {"poolings": (1.0, 8.0), "ranks": (1,), "blends": (0.0, 1.0), "stack_larger": (), "stack": (MEMBER,)}
    fitted = ForecastFitter(**options, stack_anchored=(MEMBER,)).fit(train)
    assert fitted.anchored_ == {"fam4", "fam4-it"}
    learned = fitted.learned_parameters()
    assert learned["chosen_by"]["anchored"] == "as inside"
    assert learned["chosen"]["anchored"] == learned["chosen"]["inside"]
    cuts = sorted(f for f in fitted.folds_ if f.endswith(" n=1"))
    assert cuts and learned["stacked"]["waiting"] == [MEMBER]
    out = fitted.predict(query)
    learned = fitted.learned_parameters()["stacked"]
    # only the anchored kind's members were fitted, on the n = 1 cuts; the inside kind's still wait
    assert set(learned["weights"]) == {"anchored"} and learned["kinds"] == {MEMBER: ["inside", "anchored"]}
    assert sorted({f for m in learned["compared"]["anchored"]["inner MAE"].values() for f in m}) == cuts
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
