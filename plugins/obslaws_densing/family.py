"""Which reference families can define effective size: their curves must rise with size.

A reference curve is inverted to give a model its effective size. Where the family's scores do
not rise across its sizes (a benchmark it stays near chance on, or one it gets worse at, as
Pythia on TruthfulQA), the least-squares curve is flat, its inverse sends any score to a size of
zero or infinity, and densities, the trend and every prediction come out NaN. Such a curve is
refused here, by name, before it is inverted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import polars as pl

from obslaws.errors import FitterError
from obslaws_densing.reference import DirectReference, TwoStepReference, fit_direct

Reference = DirectReference | TwoStepReference
MIN_SIZES = 4  # distinct sizes a reference family needs on a benchmark (fit_direct's minimum)


def rise(reference: Reference, params: np.ndarray) -> float:
    """How far the curve's score climbs from the family's smallest size to its largest."""
    return float(reference.score(np.max(params)) - reference.score(np.min(params)))


def flat_benchmarks(references: Mapping[str, Reference], sizes: Mapping[str, np.ndarray], margin: float) -> dict:
    """Benchmark -> the rise of each curve that does not climb by more than ``margin`` over its sizes."""
    rises = {b: rise(ref, sizes[b]) for b, ref in references.items()}
    return {b: r for b, r in rises.items() if not r > margin}


def require_rising(
    family: str, references: Mapping[str, Reference], sizes: Mapping[str, np.ndarray], margin: float
) -> None:
    """A FitterError naming every benchmark whose reference curve does not rise with size."""
    flat = flat_benchmarks(references, sizes, margin)
    if flat:
        detail = ", ".join(
            f"{b} (+{r:.3f} from {np.min(sizes[b]):.3g} to {np.max(sizes[b]):.3g} params)" for b, r in flat.items()
        )
        raise FitterError(
            f"densing: reference family {family!r} does not rise with size by more than margin {margin} on "
            f"{detail}: its curve cannot be inverted into effective sizes; name another reference_family "
            "or leave those benchmarks out"
        )


def family_sizes(models: pl.DataFrame, wide: pl.DataFrame, family: str, bench: str) -> pl.DataFrame:
    """The family's final models with a size and a score on ``bench`` (params, score)."""
    return (
        models.filter(pl.col("family") == family)
        .join(wide.select("model_id", bench), on="model_id")
        .drop_nulls(["params", bench])
        .select("model_id", "params", pl.col(bench).alias("score"))
    )


def require_sizes(family: str, frame: pl.DataFrame, bench: str) -> None:
    n_sizes = frame["params"].n_unique()
    if n_sizes < MIN_SIZES:
        raise FitterError(
            f"densing: reference family {family!r} has {n_sizes} distinct size(s) with a score on {bench!r}; "
            f"its reference curve needs {MIN_SIZES}: name another reference_family or leave {bench!r} out"
        )


def pick_reference_family(
    models: pl.DataFrame,
    wide: pl.DataFrame,
    benchmarks: list[str],
    chance: Callable[[str], float],
    margin: float,
) -> str:
    """The family with the most distinct sizes (>= 4) scored on every benchmark (ties: name)
    whose direct reference curve rises by more than ``margin`` on each of them."""
    scored = models.join(wide.drop_nulls(benchmarks), on="model_id").filter(pl.col("params").is_not_null())
    counts = (
        scored.group_by("family")
        .agg(pl.col("params").n_unique().alias("sizes"))
        .filter(pl.col("sizes") >= MIN_SIZES)
        .sort(["sizes", "family"], descending=[True, False])
    )
    if counts.height == 0:
        raise FitterError(f"densing: no family has >= 4 sizes scored on all of {benchmarks}; name reference_family")
    refused = {}
    for family in counts["family"]:
        frames = {b: family_sizes(scored, wide, family, b) for b in benchmarks}
        sizes = {b: f["params"].to_numpy() for b, f in frames.items()}
        refs = {b: fit_direct(b, sizes[b], f["score"].to_numpy(), chance(b)) for b, f in frames.items()}
        flat = flat_benchmarks(refs, sizes, margin)
        if not flat:
            return str(family)
        refused[family] = sorted(flat)
    shown = "; ".join(f"{f}: {', '.join(b)}" for f, b in list(refused.items())[:5])
    raise FitterError(
        f"densing: no family with >= 4 sizes on all of {benchmarks} rises with size by more than margin "
        f"{margin} on each (flat on: {shown}); name reference_family or leave those benchmarks out"
    )
