"""Writing a densing fit's densities and trend to the ``densities`` and ``density_trend`` tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from obslaws.store import transaction, upsert
from obslaws_densing.trend import EPOCH

if TYPE_CHECKING:
    import duckdb

    from obslaws_densing.fitter import DensingFitter


def write_densities(conn: duckdb.DuckDBPyConnection, fit_id: str, fitter: DensingFitter) -> None:
    """Upsert one ``densities`` row per model and one ``density_trend`` row (if there is a trend)."""
    bench_set = ",".join(fitter.targets_)
    frame = fitter.densities_.select(
        pl.lit(fit_id).alias("fit_id"),
        "model_id",
        pl.lit(fitter.reference_family_).alias("reference_family"),
        pl.lit(fitter.method).alias("method"),
        pl.lit(bench_set).alias("benchmark_set"),
        "params",
        "effective_params",
        "density",
        "release_date",
        pl.col("envelope").alias("on_envelope"),
    )
    with transaction(conn):
        upsert(conn, "densities", frame)
        if fitter.trend_ is not None:
            trend = fitter.trend_.to_dict()
            row = {
                "fit_id": fit_id,
                "reference_family": fitter.reference_family_,
                "method": fitter.method,
                "benchmark_set": bench_set,
                "epoch": EPOCH,
                **{k: v for k, v in trend.items() if k != "epoch"},
            }
            upsert(conn, "density_trend", pl.DataFrame([row]))
