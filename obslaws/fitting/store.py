"""Fitting and predicting against the database: every fit and prediction is written back.

- :func:`fit_and_store` fits a fitter on a :class:`FitData` and writes a ``fits`` row;
- :func:`predict_and_store` predicts with a fitted fitter and writes ``predictions``.

Ids are deterministic: ``fit_id`` hashes the fitter's name, version, hyperparameters and the
content hash of the data it saw, so refitting the same thing rewrites the same row.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import polars as pl

from obslaws.data import MODEL_COLUMNS, FitData
from obslaws.errors import FitterError, ObslawsError
from obslaws.fitting.contract import Fitter, require_finite
from obslaws.store import transaction, upsert


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: tuples become lists, numpy scalars and arrays Python numbers and lists."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"))


def stable_id(prefix: str, *parts: Any) -> str:
    """A short deterministic id from JSON-serialisable parts."""
    digest = hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


def fit_id_for(fitter: Fitter, data_hash: str) -> str:
    """The id of a fit of ``fitter`` (name, version, hyperparameters) on data with ``data_hash``."""
    return stable_id(fitter.name, fitter.name, str(fitter.version), fitter.get_params(), data_hash)


def fit_row(
    fitter: Fitter, data: FitData, *, fit_id: str, data_hash: str, duration_s: float, plugin: str | None
) -> dict[str, Any]:
    """The ``fits`` row of a fitted fitter."""
    try:
        learned = canonical_json(fitter.learned_parameters())
    except Exception as exc:
        raise FitterError(f"{fitter.name}: learned_parameters() is not JSON-serialisable: {exc}") from exc
    return {
        "fit_id": fit_id,
        "fitter": fitter.name,
        "fitter_version": str(fitter.version),
        "plugin": plugin,
        "hyperparameters": canonical_json(fitter.get_params()),
        "data_hash": data_hash,
        "benchmarks": list(data.targets),
        "n_models": data.models.height,
        "learned": learned,
        "duration_s": float(duration_s),
    }


FITS_SCHEMA = {
    "fit_id": pl.String,
    "fitter": pl.String,
    "fitter_version": pl.String,
    "plugin": pl.String,
    "hyperparameters": pl.String,
    "data_hash": pl.String,
    "benchmarks": pl.List(pl.String),
    "n_models": pl.Int64,
    "learned": pl.String,
    "duration_s": pl.Float64,
}


def write_fits(conn: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert ``fits`` rows (call inside a transaction)."""
    if rows:
        upsert(conn, "fits", pl.DataFrame(list(rows), schema=FITS_SCHEMA))


def _plugin_of(fitter: Fitter, plugin: str | None) -> str | None:
    if plugin is not None:
        return plugin
    try:
        from obslaws.fitting.lookup import get_fitters

        info = get_fitters().get(fitter.name)
        return info.plugin if info is not None and info.cls is type(fitter) else None
    except ObslawsError:
        return None


def fit_and_store(conn: duckdb.DuckDBPyConnection, fitter: Fitter, data: FitData, *, plugin: str | None = None) -> str:
    """Fit ``fitter`` on ``data`` and write its ``fits`` row; returns the fit id.

    The fitter is fitted in place; ``fit_id`` is deterministic from the fitter's name, version,
    hyperparameters and ``data.content_hash()``. The fitter's ``store_extras(conn, fit_id)``
    runs in the same transaction, after the ``fits`` row.
    """
    start = time.perf_counter()
    fitter.fit(data)
    return store_fit(conn, fitter, data, duration_s=time.perf_counter() - start, plugin=plugin)


def store_fit(
    conn: duckdb.DuckDBPyConnection, fitter: Fitter, data: FitData, *, duration_s: float, plugin: str | None = None
) -> str:
    """Write the ``fits`` row (and ``store_extras``) of a fitter already fitted on ``data``."""
    data_hash = data.content_hash()
    fit_id = fit_id_for(fitter, data_hash)
    row = fit_row(
        fitter, data, fit_id=fit_id, data_hash=data_hash, duration_s=duration_s, plugin=_plugin_of(fitter, plugin)
    )
    with transaction(conn):
        write_fits(conn, [row])
        fitter.store_extras(conn, fit_id)
    return fit_id


def hypothetical_models(
    *,
    model_id: str | None = None,
    params: float | None = None,
    tokens: float | None = None,
    family: str | None = None,
    family_group: str | None = None,
    domain: str | None = None,
    flops: float | None = None,
    release_date: Any = None,
    instruct: bool = False,
) -> pl.DataFrame:
    """A one-row ``models`` frame for a model that is not in the table (FLOPs 6ND if not given)."""
    if flops is None and params is not None and tokens is not None:
        flops = 6.0 * float(params) * float(tokens)
    if model_id is None:
        bits = [family or "model", f"{params:.3g}p" if params else None, f"{tokens:.3g}t" if tokens else None]
        model_id = "hypothetical:" + "-".join(b for b in bits if b)
    row = {
        "model_id": model_id,
        "family": family,
        "family_group": family_group or family,
        "domain": domain,
        "variant": "instruct" if instruct else "base",
        "instruct": instruct,
        "params": params,
        "params_total": params,
        "tokens": tokens,
        "flops": flops,
        "release_date": release_date,
    }
    frame = pl.DataFrame([row])
    return frame.select([pl.col(c).cast(MODEL_COLUMNS[c]) if c in MODEL_COLUMNS else pl.col(c) for c in frame.columns])


def predict_and_store(conn: duckdb.DuckDBPyConnection, fitter: Fitter, fit_id: str, query: FitData) -> pl.DataFrame:
    """Predict every target for every model of ``query`` and upsert them into ``predictions``."""
    if not fitter.is_fitted():
        raise FitterError(f"{fitter.name}: fit it (fit_and_store) before predict_and_store")
    return store_predictions(conn, fit_id, fitter.predict(query))  # finite: Fitter.predict refuses anything else


def store_predictions(conn: duckdb.DuckDBPyConnection, fit_id: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Upsert ``frame`` (a fitter's ``predict`` output) into ``predictions`` as fit ``fit_id``'s."""
    out = frame.with_columns(pl.lit(fit_id).alias("fit_id")).select(
        "fit_id", "model_id", "benchmark", "prediction", "lower", "upper"
    )
    with transaction(conn):
        upsert(conn, "predictions", out)
    return out


__all__ = [
    "canonical_json",
    "fit_and_store",
    "fit_id_for",
    "hypothetical_models",
    "predict_and_store",
    "require_finite",
    "stable_id",
    "store_fit",
    "store_predictions",
    "to_jsonable",
]
