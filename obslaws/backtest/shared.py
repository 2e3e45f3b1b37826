"""Backtests compared on the cells they all scored.

Fitters under one protocol are not always scored on the same test cells: a FLOPs-based fitter
leaves out the test models without parameters or tokens, where the forecaster predicts them from
their other scores; lowrank needs its capability benchmarks. Each backtest's own MAE is then taken
over a different set of models, and the harder models one fitter alone predicts count against it
only. A comparison between fitters (a ratio, a ranking) is made on the cells every one of them
scored: same split, model and benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from obslaws.backtest.metrics import average_mae

KEYS = ("split", "model_id", "benchmark")


def shared_keys(cells: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The (split, model_id, benchmark) cells that every frame of ``cells`` holds with a prediction."""
    keys = None
    for frame in cells:
        own = frame.filter(pl.col("prediction").is_finite()).select(pl.col(k).cast(pl.Utf8) for k in KEYS).unique()
        keys = own if keys is None else keys.join(own, on=list(KEYS), how="semi")
    return keys if keys is not None else pl.DataFrame(schema={k: pl.Utf8 for k in KEYS})


def on_shared(cells: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``cells`` at ``keys`` (in ``cells``' order)."""
    typed = cells.with_columns(pl.col(k).cast(pl.Utf8).alias(f"_key_{k}") for k in KEYS)
    renamed = keys.rename({k: f"_key_{k}" for k in KEYS})
    return typed.join(renamed, on=[f"_key_{k}" for k in KEYS], how="semi").drop([f"_key_{k}" for k in KEYS])


def shared_mae(cells: dict[str, pl.DataFrame], averaging: str) -> tuple[dict[str, float | None], int]:
    """Per backtest (id -> its cells): its average MAE in points on the cells all of them scored, as
    its summary averages (``averaging``: by split or by cell); and how many cells those are."""
    keys = shared_keys(list(cells.values()))
    return {i: average_mae(on_shared(c, keys), averaging) for i, c in cells.items()}, keys.height
