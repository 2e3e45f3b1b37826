"""``check_fitter``: the conformance suite, run check by check on one fitter."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError, NotFittedError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws.testing.compare import (
    ConformanceError,
    assert_unchanged,
    check,
    close,
    diff,
    predict_checked,
    same,
    snapshot,
)
from obslaws.testing.synthetic import SYNTHETIC_TARGETS, synthetic_data

SEED_PARAMS = ("random_state",)
Passed = Callable[[str], None]


def check_fitter(
    fitter: Fitter,
    data: FitData | None = None,
    *,
    targets: Sequence[str] | None = None,
    on_check: Callable[[str], None] | None = None,
) -> list[str]:
    """Run the conformance suite on ``fitter``; returns the names of the checks that passed.

    Parameters
    ----------
    fitter:
        An unfitted fitter instance (its hyperparameters as you want them tested).
    data:
        Data to test on; default :func:`~obslaws.testing.synthetic_data` from ``fitter.requires``.
    targets:
        Benchmarks to predict (default: the data's targets).
    on_check:
        Called with each check's name as it passes.

    Raises
    ------
    ConformanceError
        (an AssertionError) naming the failed check and the fitter.
    """
    cls = type(fitter)
    name = getattr(fitter, "name", "") or cls.__name__
    passed: list[str] = []

    def ok(check_name: str) -> None:
        passed.append(check_name)
        if on_check is not None:
            on_check(check_name)

    params = _check_class(fitter, name)
    ok("class")
    _check_clone(fitter, name, params)
    ok("clone")
    if data is None:
        data = synthetic_data(cls.requires, targets=targets or SYNTHETIC_TARGETS)
    targets = tuple(targets or data.targets)
    data = data.with_targets(targets)
    train, query = _hold_out_a_family(data, targets)
    _check_predict_before_fit(fitter, name, query)
    ok("predict-before-fit")
    model = _check_fit(fitter, name, params, train, ok)
    first = _check_predict(model, name, data, train, query, ok)
    refit = model.fit(train).predict(query)
    check("deterministic", name, close(first, refit), diff("refitting the same instance", first, refit))
    ok("deterministic")
    # fit_many: how a backtest fits its folds; here a second, fresh fit of the same data
    second = _fit_many_one(_seeded_clone(fitter, params), name, train).predict(query)
    check("fit-many", name, close(first, second), diff("fit_many([data]) and fit(data)", first, second))
    ok("fit-many")
    if cls.batch_invariant:
        _check_batch_invariant(_seeded_clone(fitter, params), name, train, query, second)
        ok("batch-invariant")
    return passed


def _check_batch_invariant(fitter: Fitter, name: str, train: FitData, query: FitData, alone: pl.DataFrame) -> None:
    """A fitter that says its ``fit_many`` is batch-invariant fits a fold to the same bits beside another."""
    half = max(len(train.model_ids) // 2, type(fitter).requires.min_models)
    other = train.select_models(train.model_ids[:half])
    beside = list(fitter.fit_many([other, train]))[1].predict(query)
    check(
        "batch-invariant",
        name,
        beside.equals(alone),
        "batch_invariant is set, but fit_many() fits a fold to other bits beside another fold",
    )


def _check_class(fitter: Fitter, name: str) -> dict[str, Any]:
    """The class attributes and hyperparameters; returns ``get_params()``."""
    cls = type(fitter)
    check("is-fitter", name, isinstance(fitter, Fitter), f"{cls.__name__} does not subclass obslaws.Fitter")
    check("has-name", name, isinstance(cls.name, str) and bool(cls.name), "set the class attribute name")
    check("has-version", name, isinstance(cls.version, (str, int, float)), "version must be a string")
    check("requires", name, isinstance(cls.requires, Requirements), "requires must be an obslaws.Requirements")
    try:
        params = fitter.get_params()
    except FitterError as exc:
        raise ConformanceError("hyperparameters", name, str(exc)) from exc
    missing = [p for p in cls._get_param_names() if p not in vars(fitter)]
    check("hyperparameters", name, not missing, f"__init__ must store every hyperparameter as an attribute: {missing}")
    return params


def _check_clone(fitter: Fitter, name: str, params: dict[str, Any]) -> None:
    """No learned state before fit; clone, get_params/set_params and repr round-trip."""
    cls = type(fitter)
    learned = [a for a in vars(fitter) if a.endswith("_") and not a.startswith("__")]
    check("no-learned-state-before-fit", name, not learned, f"attributes {learned} exist before fit()")
    clone = fitter.clone()
    check(
        "clone",
        name,
        type(clone) is cls and clone is not fitter,
        "clone() must return a new instance of the same class",
    )
    check(
        "clone",
        name,
        same(clone.get_params(), params),
        f"clone() changed the hyperparameters: {clone.get_params()} != {params}",
    )
    again = cls(**copy.deepcopy(params))
    check("clone", name, same(again.get_params(), params), "constructing from get_params() does not round-trip")
    check("set-params", name, again.set_params(**params) is again, "set_params() must return self")
    check("repr", name, isinstance(repr(fitter), str), "repr() failed")


def _hold_out_a_family(data: FitData, targets: Sequence[str]) -> tuple[FitData, FitData]:
    """(train, query): the last family's models but its smallest are the query, their scores hidden."""
    families = sorted(data.models["family"].drop_nulls().unique().to_list())
    if not families:
        return data, data.hide_scores(targets)
    fam = data.models.filter(pl.col("family") == families[-1]).sort("params")
    hold_ids = fam["model_id"].to_list()[1:]
    train = data.select_models([m for m in data.model_ids if m not in hold_ids])
    return train, data.select_models(hold_ids).hide_scores(targets)


def _check_predict_before_fit(fitter: Fitter, name: str, query: FitData) -> None:
    try:
        fitter.clone().predict(query)
    except NotFittedError:
        return
    except Exception as exc:
        raise ConformanceError(
            "predict-before-fit", name, f"predict() before fit() raised {type(exc).__name__}, not NotFittedError: {exc}"
        ) from exc
    raise ConformanceError("predict-before-fit", name, "predict() before fit() did not raise NotFittedError")


def _seeded_clone(fitter: Fitter, params: dict[str, Any]) -> Fitter:
    """A clone with an unset seed hyperparameter fixed to 0, so that two fits can be compared."""
    model = fitter.clone()
    unset = {p: 0 for p in SEED_PARAMS if p in params and params[p] is None}
    if unset:
        model.set_params(**unset)
    return model


def _check_fit(fitter: Fitter, name: str, params: dict[str, Any], train: FitData, ok: Passed) -> Fitter:
    """fit() returns self, leaves hyperparameters and input alone; learned parameters are JSON."""
    before = snapshot(train)
    model = _seeded_clone(fitter, params)
    returned = model.fit(train)
    check("fit-returns-self", name, returned is model, f"fit() returned {type(returned).__name__}, not self")
    ok("fit-returns-self")
    check("hyperparameters-untouched", name, same(fitter.get_params(), params), "fit() changed the hyperparameters")
    check(
        "hyperparameters-untouched",
        name,
        same(
            {k: v for k, v in model.get_params().items() if k not in SEED_PARAMS},
            {k: v for k, v in params.items() if k not in SEED_PARAMS},
        ),
        "fit() changed the fitted instance's hyperparameters (store learned state in attributes ending in _)",
    )
    check("is-fitted", name, model.is_fitted(), "is_fitted() is False after fit()")
    assert_unchanged(name, "fit()", train, before)
    ok("fit")
    try:
        json.dumps(model.learned_parameters())
    except (TypeError, ValueError) as exc:
        raise ConformanceError(
            "learned-parameters-json", name, f"learned_parameters() is not JSON-serialisable: {exc}"
        ) from exc
    ok("learned-parameters-json")
    return model


def _check_predict(model: Fitter, name: str, data: FitData, train: FitData, query: FitData, ok: Passed) -> pl.DataFrame:
    """Predictions of held-out, training and hypothetical models; returns the held-out ones."""
    targets = tuple(data.targets)
    train_before, query_before = snapshot(train), snapshot(query)
    first = predict_checked(model, name, query, targets)
    assert_unchanged(name, "predict()", query, query_before)
    assert_unchanged(name, "predict()", train, train_before)
    ok("input-not-mutated")
    ok("output")
    # Training models and a hypothetical model (covariates only, no scores) can be predicted too.
    predict_checked(model, name, train.hide_scores(targets), targets)
    hypo = _hypothetical(data, type(model).requires)
    if hypo is not None:
        predict_checked(model, name, hypo, targets)
    ok("predict-any-model")
    return first


def _fit_many_one(fitter: Fitter, name: str, data: FitData) -> Fitter:
    """``fitter.fit_many([data])``: exactly one new fitted instance, ``fitter`` left unfitted.

    One data set only: a batched program over several (Sloth's) may take another optimiser path
    than a single fit, and each fold more would cost a fit.
    """
    try:
        fitted = list(fitter.fit_many([data]))
    except Exception as exc:
        raise ConformanceError("fit-many", name, f"fit_many() raised {type(exc).__name__}: {exc}") from exc
    check("fit-many", name, len(fitted) == 1, f"fit_many() returned {len(fitted)} fits for 1 data set")
    check("fit-many", name, not fitter.is_fitted(), "fit_many() fitted the instance itself (fit clones)")
    model = fitted[0]
    check("fit-many", name, model is not fitter and type(model) is type(fitter), "fit_many() must return clones")
    check("fit-many", name, model.is_fitted(), "fit_many() returned an unfitted instance")
    check("fit-many", name, same(model.get_params(), fitter.get_params()), "fit_many() changed hyperparameters")
    return model


def _hypothetical(data: FitData, requires: Requirements) -> FitData | None:
    """A query of one model that is in no table: a new family, larger than any seen."""
    if requires.input_benchmarks or requires.loss_datasets or "losses" in requires.needs:
        return None  # it needs measurements of the model, which a hypothetical model lacks
    top = data.models.sort("params").tail(1)
    row = top.with_columns(
        pl.lit("hypothetical-model").alias("model_id"),
        pl.lit("unseen-family").alias("family"),
        pl.lit("unseen-family").alias("family_group"),
        (pl.col("params") * 2).alias("params"),
        (pl.col("params_total") * 2).alias("params_total"),
        (pl.col("flops") * 2).alias("flops"),
    )
    return FitData.build(row, None, None, data.benchmarks, targets=data.targets)
