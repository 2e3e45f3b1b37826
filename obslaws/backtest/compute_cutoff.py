"""``compute-cutoff``: train on models with FLOPs <= tau, test on the rest (Ruan et al. 2024).

The observational-scaling-laws paper uses tau = 8.4e22 FLOPs (Llama-2-7B) and reports test
MSE on the [0, 1] scale, over every test model with a score, one benchmark at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import polars as pl

from obslaws.backtest.base import Protocol, ProtocolError, Split, scored_models
from obslaws.data import FitData

DEFAULT_CUTOFF = 8.4e22


class ComputeCutoff(Protocol):
    name: ClassVar[str] = "compute-cutoff"
    averaging: ClassVar[str] = "cell"

    def __init__(self, *, cutoff: float = DEFAULT_CUTOFF) -> None:
        cutoff = float(cutoff)
        if not cutoff > 0:
            raise ProtocolError(f"compute-cutoff: the cut-off must be a positive number of FLOPs, not {cutoff}")
        self.cutoff = cutoff

    def options(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff}

    def eligible(self, data: FitData, targets: Sequence[str], needs: Sequence[str] = ()) -> FitData:
        data = super().eligible(data, targets, tuple(dict.fromkeys(["flops", *needs])))
        return data.select_models(scored_models(data, targets))

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:
        below = data.models.filter(pl.col("flops") <= self.cutoff)["model_id"].to_list()
        above = data.models.filter(pl.col("flops") > self.cutoff)["model_id"].to_list()
        if not below or not above:
            raise ProtocolError(
                f"compute-cutoff at {self.cutoff:.3g} FLOPs leaves {len(below)} training and {len(above)} "
                "test models; choose a cut-off inside the data's range"
            )
        yield Split(name=f"flops<={self.cutoff:.4g}", train=tuple(below), test=tuple(above), info={})


DEFAULT_SWEEP = (2.1e22, 8.4e22, 3.4e23, 1.3e24)


class ComputeSweep(ComputeCutoff):
    """``compute-sweep``: the compute cut-off at several budgets, one split per cut-off.

    Averaged within each cut-off, then across them; ``summary()["splits"]`` has each one's MAE.
    Cut-offs that leave no training or no test model are skipped.
    """

    name: ClassVar[str] = "compute-sweep"
    averaging: ClassVar[str] = "split"

    def __init__(self, *, cutoffs: Sequence[float] = DEFAULT_SWEEP) -> None:
        self.cutoffs = tuple(sorted(float(c) for c in cutoffs))
        if not self.cutoffs or any(not c > 0 for c in self.cutoffs):
            raise ProtocolError(f"compute-sweep: cut-offs must be positive numbers of FLOPs, not {list(cutoffs)}")
        self.cutoff = self.cutoffs[0]

    def options(self) -> dict[str, Any]:
        return {"cutoffs": list(self.cutoffs)}

    def splits(self, data: FitData, targets: Sequence[str]) -> Iterator[Split]:
        flops = data.models["flops"]
        for cutoff in self.cutoffs:
            if (flops <= cutoff).any() and (flops > cutoff).any():
                yield from ComputeCutoff(cutoff=cutoff).splits(data, targets)
