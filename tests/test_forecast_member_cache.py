"""A batch-invariant stacked member's fit on a training set is made once per process and reused,
to the bit; other data, hyperparameters or members are fitted anew."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from obslaws_forecast import stacking
from obslaws_forecast.stacking import fit_invariant, fit_members, forget_member_fits

from obslaws.fitting.lookup import get_fitters
from obslaws.testing import synthetic_data


def _halves():
    data = synthetic_data()
    ids = data.models["model_id"].to_list()
    return data, data.select_models(ids[: len(ids) // 2]), data.select_models(ids[len(ids) // 2 :])


def test_a_repeated_training_set_is_fitted_once_and_predicts_as_a_fresh_fit():
    forget_member_fits()
    data, first, second = _halves()
    member = get_fitters().create("logit-linear")
    fits = fit_invariant(member, [first, second, first])
    assert len(stacking._FITTED) == 2  # the repeated set is fitted once
    assert fits[0] is fits[2] and fits[0] is not fits[1]
    again = fit_invariant(member, [second])[0]
    assert again is fits[1] and len(stacking._FITTED) == 2  # a later call reuses it
    fresh = fit_members([member], [first, second])[0]
    for cached, new in zip(fits[:2], fresh, strict=True):
        assert cached.predict(data).equals(new.predict(data))


def test_other_data_hyperparameters_or_members_are_fitted_anew():
    forget_member_fits()
    _, first, _ = _halves()
    catalog = get_fitters()
    fit_invariant(catalog.create("logit-linear"), [first])
    moved = replace(first, scores=first.scores.with_columns(pl.col("value") * 0.999))
    fit_invariant(catalog.create("logit-linear"), [moved])  # one training set's scores changed
    fit_invariant(catalog.create("benchmark-mean"), [first])  # another member
    fit_invariant(catalog.create("logit-svd"), [first])
    fit_invariant(catalog.create("logit-svd", rank=1), [first])  # other hyperparameters
    assert len(stacking._FITTED) == 5
    forget_member_fits()
    assert not stacking._FITTED
