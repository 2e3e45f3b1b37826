"""``check_fitter``: the conformance suite every fitter (built-in or third-party) must pass.

>>> from obslaws.testing import check_fitter
>>> check_fitter(MyFitter())          # doctest: +SKIP

It builds synthetic data from what the fitter declares (``requires``: covariates, input
benchmarks, loss data sets) with scores and losses from a known law, then checks the
scikit-learn-style contract. A failure raises :class:`ConformanceError` (an AssertionError)
whose message starts with ``check_fitter[<check>]`` and names the fitter.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit

from obslaws.data import PREDICTION_COLUMNS, FitData
from obslaws.errors import FitterError, NotFittedError
from obslaws.fitting.contract import Fitter, Requirements

SEED_PARAMS = ("random_state",)
# Six synthetic benchmarks, as many as an Open LLM Leaderboard set, with their chance levels.
SYNTHETIC_CHANCE = {
    "synthetic_mc": 0.25,
    "synthetic_gen": 0.0,
    "synthetic_binary": 0.5,
    "synthetic_mc10": 0.1,
    "synthetic_math": 0.0,
    "synthetic_mc4": 0.25,
}
SYNTHETIC_TARGETS = tuple(SYNTHETIC_CHANCE)


class ConformanceError(AssertionError):
    """A fitter broke its contract. ``check`` names the failed check."""

    def __init__(self, check: str, fitter: str, message: str) -> None:
        self.check = check
        self.fitter = fitter
        super().__init__(f"check_fitter[{check}] {fitter}: {message}")


def synthetic_data(
    requires: Requirements | None = None,
    *,
    targets: Sequence[str] = SYNTHETIC_TARGETS,
    n_families: int = 5,
    sizes: Sequence[float] = (1.5e8, 4e8, 1e9, 3e9, 7e9),
    seed: int = 0,
) -> FitData:
    """Synthetic models, scores and losses from a known law, with what ``requires`` declares.

    Families differ in compute efficiency; each has a base and an instruct family (the
    instruct family joins the base family's ``family_group``). Parameters span
    ``sizes``, tokens 20-200 per parameter, FLOPs = 6ND, release dates 2022-2024.
    Score on benchmark j: chance_j + (1 - chance_j) * sigmoid(a_j + b_j log C + e_family),
    plus small noise; loss on data set k: E_k + A / N^0.3 + B / D^0.3.
    """
    requires = requires or Requirements()
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_families):
        family = f"fam{f}"
        effect = 0.6 * (f - (n_families - 1) / 2)
        tokens_per_param = 20.0 * (1 + 3 * f / max(n_families - 1, 1))
        for variant, suffix, shift in (("base", "", 0.0), ("instruct", "-it", 0.3)):
            sub = family + suffix
            for i, params in enumerate(sizes):
                tokens = params * tokens_per_param * (1.0 + 0.1 * i)
                date = dt.date(2022, 1, 1) + dt.timedelta(days=int(120 * f + 60 * i + (20 if suffix else 0)))
                rows.append(
                    {
                        "model_id": f"{sub}-{params / 1e9:g}b",
                        "family": sub,
                        "family_group": family,
                        "variant": variant,
                        "instruct": variant != "base",
                        "params": params,
                        "params_total": params,
                        "params_non_embedding": params * 0.9,
                        "tokens": tokens,
                        "flops": 6.0 * params * tokens,
                        "release_date": date,
                        "_effect": effect + shift,
                    }
                )
    models = pl.DataFrame(rows)
    log_c = np.log(models["flops"].to_numpy() / 1e21)
    effect = models["_effect"].to_numpy()
    models = models.drop("_effect")

    benches = list(dict.fromkeys([*targets, *requires.input_benchmarks]))
    score_rows = []
    for j, bench in enumerate(benches):
        chance = SYNTHETIC_CHANCE.get(bench, 0.25 if j % 2 == 0 else 0.0)
        slope, intercept = 0.7 + 0.15 * (j % 4), -0.5 - 0.4 * (j % 5)
        truth = chance + (1 - chance) * expit(intercept + slope * log_c + effect)
        noisy = np.clip(truth + rng.normal(0, 0.005, truth.shape), 0.0, 1.0)
        for model_id, value in zip(models["model_id"], noisy, strict=True):
            score_rows.append({"model_id": model_id, "benchmark": bench, "value": float(value), "stderr": 0.01})
    scores = pl.DataFrame(score_rows)
    benchmarks = pl.DataFrame(
        {
            "benchmark": benches,
            "metric": ["acc"] * len(benches),
            "n_shots": [0] * len(benches),
            "chance": [SYNTHETIC_CHANCE.get(b, 0.25 if j % 2 == 0 else 0.0) for j, b in enumerate(benches)],
            "n_items": [1000] * len(benches),
        }
    )
    loss_rows = []
    params = models["params"].to_numpy()
    tokens = models["tokens"].to_numpy()
    datasets = list(requires.loss_datasets) or (["synthetic_corpus"] if "losses" in requires.needs else [])
    for k, dataset in enumerate(datasets):
        loss = 1.7 + 0.1 * k + 400.0 / params**0.3 + 400.0 / tokens**0.3 - 0.02 * effect
        for model_id, value, seen in zip(models["model_id"], loss, tokens, strict=True):
            loss_rows.append(
                {
                    "model_id": model_id,
                    "dataset": dataset,
                    "value": float(value),
                    "unit": "nats_per_token",
                    "tokens_seen": float(seen),
                }
            )
    losses = pl.DataFrame(loss_rows) if loss_rows else None
    return FitData.build(models, scores, losses, benchmarks, targets=list(targets))


def _frames(data: FitData) -> dict[str, pl.DataFrame]:
    return {"models": data.models, "scores": data.scores, "losses": data.losses, "benchmarks": data.benchmarks}


def _snapshot(data: FitData) -> tuple[dict[str, pl.DataFrame], tuple[str, ...], str]:
    return {k: v.clone() for k, v in _frames(data).items()}, tuple(data.targets), data.content_hash()


def _assert_unchanged(fitter: str, step: str, data: FitData, snapshot: Any) -> None:
    frames, targets, digest = snapshot
    for name, before in frames.items():
        after = _frames(data)[name]
        if after.columns != before.columns or after.shape != before.shape or not after.equals(before):
            raise ConformanceError("input-not-mutated", fitter, f"{step} modified the input FitData.{name}")
    if tuple(data.targets) != targets or data.content_hash() != digest:
        raise ConformanceError("input-not-mutated", fitter, f"{step} modified the input FitData")


def _check(check: str, fitter: str, condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(check, fitter, message)


def _predict_checked(fitter: Fitter, name: str, query: FitData, targets: Sequence[str]) -> pl.DataFrame:
    out = fitter.predict(query)
    _check("predict-returns-frame", name, isinstance(out, pl.DataFrame), f"predict() returned {type(out).__name__}")
    _check(
        "output-columns",
        name,
        list(out.columns) == list(PREDICTION_COLUMNS),
        f"predict() columns are {out.columns}, expected {list(PREDICTION_COLUMNS)}",
    )
    for column, dtype in PREDICTION_COLUMNS.items():
        _check(
            "output-types", name, out.schema[column] == dtype, f"column {column} is {out.schema[column]}, not {dtype}"
        )
    expected = {(m, b) for m in query.model_ids for b in targets}
    got = list(zip(out["model_id"].to_list(), out["benchmark"].to_list(), strict=True))
    _check("output-rows", name, len(got) == len(set(got)), "predict() returned duplicate (model_id, benchmark) rows")
    missing = expected - set(got)
    extra = set(got) - expected
    _check("output-rows", name, not missing, f"no prediction for {len(missing)} pair(s), e.g. {sorted(missing)[:2]}")
    _check("output-rows", name, not extra, f"unexpected rows for {sorted(extra)[:2]} (predict only query x targets)")
    pred = out["prediction"].to_numpy()
    _check(
        "predictions-finite", name, bool(np.all(np.isfinite(pred))), "predict() returned NaN or infinite predictions"
    )
    for bound, op in (("lower", "<="), ("upper", ">=")):
        values = out[bound].to_numpy().astype(float)
        given = ~np.isnan(values)
        if not given.any():
            continue
        bad = values[given] > pred[given] + 1e-9 if bound == "lower" else values[given] < pred[given] - 1e-9
        _check(
            "interval-contains-prediction",
            name,
            not bool(bad.any()),
            f"{int(bad.sum())} row(s) where {bound} {op} prediction fails",
        )
    return out


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
        Data to test on; default :func:`synthetic_data` from ``fitter.requires``.
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

    def ok(check: str) -> None:
        passed.append(check)
        if on_check is not None:
            on_check(check)

    # -- the class ------------------------------------------------------------------------------
    _check("is-fitter", name, isinstance(fitter, Fitter), f"{cls.__name__} does not subclass obslaws.Fitter")
    _check("has-name", name, isinstance(cls.name, str) and bool(cls.name), "set the class attribute name")
    _check("has-version", name, isinstance(cls.version, (str, int, float)), "version must be a string")
    _check("requires", name, isinstance(cls.requires, Requirements), "requires must be an obslaws.Requirements")
    try:
        params = fitter.get_params()
    except FitterError as exc:
        raise ConformanceError("hyperparameters", name, str(exc)) from exc
    missing = [p for p in cls._get_param_names() if p not in vars(fitter)]
    _check("hyperparameters", name, not missing, f"__init__ must store every hyperparameter as an attribute: {missing}")
    ok("class")

    # -- construction ---------------------------------------------------------------------------
    learned = [a for a in vars(fitter) if a.endswith("_") and not a.startswith("__")]
    _check("no-learned-state-before-fit", name, not learned, f"attributes {learned} exist before fit()")
    clone = fitter.clone()
    _check(
        "clone",
        name,
        type(clone) is cls and clone is not fitter,
        "clone() must return a new instance of the same class",
    )
    _check(
        "clone",
        name,
        _same(clone.get_params(), params),
        f"clone() changed the hyperparameters: {clone.get_params()} != {params}",
    )
    again = cls(**copy.deepcopy(params))
    _check("clone", name, _same(again.get_params(), params), "constructing from get_params() does not round-trip")
    _check("set-params", name, again.set_params(**params) is again, "set_params() must return self")
    _check("repr", name, isinstance(repr(fitter), str), "repr() failed")
    ok("clone")

    # -- data -----------------------------------------------------------------------------------
    if data is None:
        data = synthetic_data(cls.requires, targets=targets or SYNTHETIC_TARGETS)
    targets = tuple(targets or data.targets)
    data = data.with_targets(targets)
    families = sorted(data.models["family"].drop_nulls().unique().to_list())
    held = families[-1] if families else None
    if held is not None:
        fam = data.models.filter(pl.col("family") == held).sort("params")
        hold_ids = fam["model_id"].to_list()[1:]
        train = data.select_models([m for m in data.model_ids if m not in hold_ids])
        query = data.select_models(hold_ids).hide_scores(targets)
    else:
        train, query = data, data.hide_scores(targets)

    # -- predict before fit ---------------------------------------------------------------------
    fresh = fitter.clone()
    try:
        fresh.predict(query)
    except NotFittedError:
        ok("predict-before-fit")
    except Exception as exc:
        raise ConformanceError(
            "predict-before-fit", name, f"predict() before fit() raised {type(exc).__name__}, not NotFittedError: {exc}"
        ) from exc
    else:
        raise ConformanceError("predict-before-fit", name, "predict() before fit() did not raise NotFittedError")

    # -- fit ------------------------------------------------------------------------------------
    train_snapshot = _snapshot(train)
    query_snapshot = _snapshot(query)
    model = fitter.clone()
    if any(p in params for p in SEED_PARAMS):
        model.set_params(**{p: 0 for p in SEED_PARAMS if p in params and params[p] is None})
    returned = model.fit(train)
    _check("fit-returns-self", name, returned is model, f"fit() returned {type(returned).__name__}, not self")
    ok("fit-returns-self")
    _check("hyperparameters-untouched", name, _same(fitter.get_params(), params), "fit() changed the hyperparameters")
    _check(
        "hyperparameters-untouched",
        name,
        _same(
            {k: v for k, v in model.get_params().items() if k not in SEED_PARAMS},
            {k: v for k, v in params.items() if k not in SEED_PARAMS},
        ),
        "fit() changed the fitted instance's hyperparameters (store learned state in attributes ending in _)",
    )
    _check("is-fitted", name, model.is_fitted(), "is_fitted() is False after fit()")
    _assert_unchanged(name, "fit()", train, train_snapshot)
    ok("fit")

    try:
        json.dumps(model.learned_parameters())
    except (TypeError, ValueError) as exc:
        raise ConformanceError(
            "learned-parameters-json", name, f"learned_parameters() is not JSON-serialisable: {exc}"
        ) from exc
    ok("learned-parameters-json")

    # -- predict --------------------------------------------------------------------------------
    first = _predict_checked(model, name, query, targets)
    _assert_unchanged(name, "predict()", query, query_snapshot)
    _assert_unchanged(name, "predict()", train, train_snapshot)
    ok("input-not-mutated")
    ok("output")

    # Training models and a hypothetical model (covariates only, no scores) can be predicted too.
    _predict_checked(model, name, train.hide_scores(targets), targets)
    hypo = _hypothetical(data, cls.requires)
    if hypo is not None:
        _predict_checked(model, name, hypo, targets)
    ok("predict-any-model")

    # -- determinism ----------------------------------------------------------------------------
    refit = model.fit(train).predict(query)
    _check("deterministic", name, _close(first, refit), _diff("refitting the same instance", first, refit))
    ok("deterministic")

    # -- fit_many: how a backtest fits its folds; here a second, fresh fit of the same data ------
    twin = fitter.clone()
    if any(p in params for p in SEED_PARAMS):
        twin.set_params(**{p: 0 for p in SEED_PARAMS if p in params and params[p] is None})
    second = _fit_many_one(twin, name, train).predict(query)
    _check("fit-many", name, _close(first, second), _diff("fit_many([data]) and fit(data)", first, second))
    ok("fit-many")
    return passed


def _fit_many_one(fitter: Fitter, name: str, data: FitData) -> Fitter:
    """``fitter.fit_many([data])``: exactly one new fitted instance, ``fitter`` left unfitted.

    One data set only: a batched program over several (Sloth's) may take another optimiser path
    than a single fit, and each fold more would cost a fit.
    """
    try:
        fitted = list(fitter.fit_many([data]))
    except Exception as exc:
        raise ConformanceError("fit-many", name, f"fit_many() raised {type(exc).__name__}: {exc}") from exc
    _check("fit-many", name, len(fitted) == 1, f"fit_many() returned {len(fitted)} fits for 1 data set")
    _check("fit-many", name, not fitter.is_fitted(), "fit_many() fitted the instance itself (fit clones)")
    model = fitted[0]
    _check("fit-many", name, model is not fitter and type(model) is type(fitter), "fit_many() must return clones")
    _check("fit-many", name, model.is_fitted(), "fit_many() returned an unfitted instance")
    _check("fit-many", name, _same(model.get_params(), fitter.get_params()), "fit_many() changed hyperparameters")
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


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # numpy arrays and the like
        return repr(a) == repr(b)


def _close(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    keys = ["model_id", "benchmark"]
    if a.height != b.height:
        return False
    joined = a.sort(keys).join(b.sort(keys), on=keys, how="full", suffix="_2", nulls_equal=True)
    if joined.height != a.height:
        return False
    for col in ("prediction", "lower", "upper"):
        x = joined[col].to_numpy().astype(float)
        y = joined[f"{col}_2"].to_numpy().astype(float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return False
        mask = ~np.isnan(x)
        if not np.allclose(x[mask], y[mask], rtol=1e-7, atol=1e-9):
            return False
    return True


def _diff(what: str, a: pl.DataFrame, b: pl.DataFrame) -> str:
    try:
        x = a.sort(["model_id", "benchmark"])["prediction"].to_numpy()
        y = b.sort(["model_id", "benchmark"])["prediction"].to_numpy()
        gap = float(np.nanmax(np.abs(x - y))) if len(x) == len(y) else math.nan
    except Exception:
        gap = math.nan
    return (
        f"{what} gave different predictions (max difference {gap:.3g}); "
        "fix the seed (random_state) or the order of operations"
    )


__all__ = ["ConformanceError", "check_fitter", "synthetic_data"]
