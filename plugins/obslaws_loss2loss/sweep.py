"""Reading the loss-to-loss paper's sweep (``loss2loss/`` in the shared data; no licence stated).

Only tests and benchmark scripts read it; it never enters the registry or the database.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

OWN_LOSS = "val_loss"  # each run's held-out loss on its own training distribution ("train loss")


def read_sweep(folder: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(sweep, extrapolation)`` frames from ``sweep.csv`` and ``extrapolation.csv``.

    The training-set column ``data`` is renamed ``dataset``; ``params`` and ``tokens`` are floats.
    """
    folder = Path(folder)
    frames = []
    for name in ("sweep.csv", "extrapolation.csv"):
        path = folder / name
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (the loss-to-loss sweep, ../shared/data/loss2loss)")
        frame = pl.read_csv(path, infer_schema_length=None).rename({"data": "dataset"})
        frames.append(frame.with_columns(pl.col("params").cast(pl.Float64), pl.col("tokens").cast(pl.Float64)))
    return frames[0], frames[1]
