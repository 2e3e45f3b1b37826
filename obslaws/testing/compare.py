"""The assertions ``check_fitter`` is made of: a failed check, a checked prediction, equal outputs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from obslaws.data import PREDICTION_COLUMNS, FitData
from obslaws.fitting.contract import Fitter, NonFinitePredictionError


class ConformanceError(AssertionError):
    """A fitter broke its contract. ``check`` names the failed check."""

    def __init__(self, check: str, fitter: str, message: str) -> None:
        self.check = check
        self.fitter = fitter
        super().__init__(f"check_fitter[{check}] {fitter}: {message}")


def check(name: str, fitter: str, condition: bool, message: str) -> None:
    """Raise :class:`ConformanceError` for check ``name`` unless ``condition``."""
    if not condition:
        raise ConformanceError(name, fitter, message)


def _frames(data: FitData) -> dict[str, pl.DataFrame]:
    return {"models": data.models, "scores": data.scores, "losses": data.losses, "benchmarks": data.benchmarks}


def snapshot(data: FitData) -> tuple[dict[str, pl.DataFrame], tuple[str, ...], str]:
    """A copy of everything in ``data``, for :func:`assert_unchanged`."""
    return {k: v.clone() for k, v in _frames(data).items()}, tuple(data.targets), data.content_hash()


def assert_unchanged(fitter: str, step: str, data: FitData, before: Any) -> None:
    """``data`` is as it was when ``before`` (a :func:`snapshot`) was taken."""
    frames, targets, digest = before
    for name, frame in frames.items():
        after = _frames(data)[name]
        if after.columns != frame.columns or after.shape != frame.shape or not after.equals(frame):
            raise ConformanceError("input-not-mutated", fitter, f"{step} modified the input FitData.{name}")
    if tuple(data.targets) != targets or data.content_hash() != digest:
        raise ConformanceError("input-not-mutated", fitter, f"{step} modified the input FitData")


def predict_checked(fitter: Fitter, name: str, query: FitData, targets: Sequence[str]) -> pl.DataFrame:
    """``fitter.predict(query)``, checked: the columns and types, one finite row per pair, sane intervals."""
    try:
        out = fitter.predict(query)
    except NonFinitePredictionError as exc:  # Fitter.predict refuses them before anyone sees them
        raise ConformanceError("predictions-finite", name, str(exc)) from exc
    check("predict-returns-frame", name, isinstance(out, pl.DataFrame), f"predict() returned {type(out).__name__}")
    check(
        "output-columns",
        name,
        list(out.columns) == list(PREDICTION_COLUMNS),
        f"predict() columns are {out.columns}, expected {list(PREDICTION_COLUMNS)}",
    )
    for column, dtype in PREDICTION_COLUMNS.items():
        check(
            "output-types", name, out.schema[column] == dtype, f"column {column} is {out.schema[column]}, not {dtype}"
        )
    expected = {(m, b) for m in query.model_ids for b in targets}
    got = list(zip(out["model_id"].to_list(), out["benchmark"].to_list(), strict=True))
    check("output-rows", name, len(got) == len(set(got)), "predict() returned duplicate (model_id, benchmark) rows")
    missing = expected - set(got)
    extra = set(got) - expected
    check("output-rows", name, not missing, f"no prediction for {len(missing)} pair(s), e.g. {sorted(missing)[:2]}")
    check("output-rows", name, not extra, f"unexpected rows for {sorted(extra)[:2]} (predict only query x targets)")
    pred = out["prediction"].to_numpy()
    check("predictions-finite", name, bool(np.all(np.isfinite(pred))), "predict() returned NaN or infinite predictions")
    for bound, op in (("lower", "<="), ("upper", ">=")):
        values = out[bound].to_numpy().astype(float)
        given = ~np.isnan(values)
        if not given.any():
            continue
        bad = values[given] > pred[given] + 1e-9 if bound == "lower" else values[given] < pred[given] - 1e-9
        check(
            "interval-contains-prediction",
            name,
            not bool(bad.any()),
            f"{int(bad.sum())} row(s) where {bound} {op} prediction fails",
        )
    return out


def same(a: Any, b: Any) -> bool:
    """Equal hyperparameters (values that do not compare with ``==`` compare by repr)."""
    try:
        return bool(a == b)
    except Exception:  # numpy arrays and the like
        return repr(a) == repr(b)


def close(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """The same rows, with predictions and bounds equal to rounding."""
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


def diff(what: str, a: pl.DataFrame, b: pl.DataFrame) -> str:
    """The failure message of two predictions that should have been :func:`close`."""
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
