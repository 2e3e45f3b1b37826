"""Loss-to-loss pairings on a sweep of runs, and the translation of a compute law.

A sweep is a polars frame with one row per trained run: ``dataset`` (its training set),
``params``, ``tokens`` and one column per loss. Three pairings (Brandfonbrener et al. 2024):

- train-to-train: runs with the same N and D on two training sets (an inner join on
  ``tokens``), each run's loss on its own training distribution;
- train-to-test: one run's own loss against its loss on a downstream set;
- test-to-test: one downstream loss of runs on two training sets, paired like train-to-train.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from obslaws_loss2loss.laws import LawFit, fit_law
from obslaws_loss2loss.shifted import ShiftedPowerLaw, fit_shifted_power_law


def dataset_laws(sweep: pl.DataFrame, loss: str, *, form: str = "kaplan", **fit_options: float) -> dict[str, LawFit]:
    """One compute law per training set, for the loss column ``loss``."""
    laws = {}
    for (name,), runs in sweep.group_by("dataset", maintain_order=True):
        runs = runs.filter(pl.col(loss).is_not_null())
        laws[name] = fit_law(
            runs["params"].to_numpy(), runs["tokens"].to_numpy(), runs[loss].to_numpy(), form=form, **fit_options
        )
    return dict(sorted(laws.items()))


def pair_runs(sweep: pl.DataFrame, x: str, y: str, loss_x: str, loss_y: str | None = None) -> pl.DataFrame:
    """Runs on training sets ``x`` and ``y`` with the same tokens (so the same N and D), their losses.

    Returns ``params, tokens, loss_x, loss_y``.
    """
    left = sweep.filter(pl.col("dataset") == x).select("params", "tokens", pl.col(loss_x).alias("loss_x"))
    right = sweep.filter(pl.col("dataset") == y).select("tokens", pl.col(loss_y or loss_x).alias("loss_y"))
    return left.join(right, on="tokens", how="inner").drop_nulls()


@dataclass(frozen=True)
class PairingResult:
    """A fitted loss-to-loss law with where it came from and, when given, its held-out check."""

    kind: str
    x: str
    y: str
    law: ShiftedPowerLaw
    target_x: float | None = None
    target_y: float | None = None

    @property
    def prediction(self) -> float | None:
        return None if self.target_x is None else float(self.law.predict(self.target_x))

    @property
    def relative_error(self) -> float | None:
        if self.prediction is None or self.target_y is None:
            return None
        return abs(self.prediction - self.target_y) / self.target_y


def train_to_train(
    sweep: pl.DataFrame,
    laws: dict[str, LawFit],
    own_loss: str,
    targets: pl.DataFrame | None = None,
) -> list[PairingResult]:
    """Every ordered pair of training sets: L_y = K (L_x - E_x)^kappa + E_y on the paired runs.

    Parameters
    ----------
    sweep:
        The runs the laws are fitted on.
    laws:
        Each training set's own compute law (E_x, E_y come from them).
    own_loss:
        The column with each run's loss on its own training distribution.
    targets:
        Held-out runs (one per training set, same N and D for all), to predict L_y from L_x.
    """
    results = []
    for x in laws:
        for y in laws:
            if x == y:
                continue
            pairs = pair_runs(sweep, x, y, own_loss)
            law = fit_shifted_power_law(pairs["loss_x"].to_numpy(), pairs["loss_y"].to_numpy(), laws[x].E, laws[y].E)
            tx = ty = None
            if targets is not None:
                tx = float(targets.filter(pl.col("dataset") == x)[own_loss][0])
                ty = float(targets.filter(pl.col("dataset") == y)[own_loss][0])
            results.append(PairingResult("train-to-train", x, y, law, tx, ty))
    return results


def train_to_test(
    sweep: pl.DataFrame,
    laws: dict[str, LawFit],
    test_laws: dict[str, LawFit],
    own_loss: str,
    test_loss: str,
    targets: pl.DataFrame | None = None,
) -> list[PairingResult]:
    """Per training set: its runs' own loss against their ``test_loss`` (E of each from its own law)."""
    results = []
    for x, law_x in laws.items():
        runs = sweep.filter(pl.col("dataset") == x).drop_nulls([own_loss, test_loss])
        law = fit_shifted_power_law(runs[own_loss].to_numpy(), runs[test_loss].to_numpy(), law_x.E, test_laws[x].E)
        tx = ty = None
        if targets is not None:
            row = targets.filter(pl.col("dataset") == x)
            tx, ty = float(row[own_loss][0]), float(row[test_loss][0])
        results.append(PairingResult("train-to-test", x, f"{x}:{test_loss}", law, tx, ty))
    return results


def test_to_test(
    sweep: pl.DataFrame,
    test_laws: dict[str, LawFit],
    test_loss: str,
    targets: pl.DataFrame | None = None,
) -> list[PairingResult]:
    """The same downstream loss of runs on two training sets, paired by N and D."""
    results = []
    for x in test_laws:
        for y in test_laws:
            if x == y:
                continue
            pairs = pair_runs(sweep, x, y, test_loss)
            law = fit_shifted_power_law(
                pairs["loss_x"].to_numpy(), pairs["loss_y"].to_numpy(), test_laws[x].E, test_laws[y].E
            )
            tx = ty = None
            if targets is not None:
                tx = float(targets.filter(pl.col("dataset") == x)[test_loss][0])
                ty = float(targets.filter(pl.col("dataset") == y)[test_loss][0])
            results.append(PairingResult("test-to-test", x, y, law, tx, ty))
    return results


def fit_shifted_free_ey(loss_x: np.ndarray, loss_y: np.ndarray, e_x: float, n_grid: int = 200) -> ShiftedPowerLaw:
    """Fit K, kappa and E_y (E_x fixed) by profiling E_y over a grid below min(L_y).

    Used to translate a law with only a few runs on the new data set, too few for its own law.
    """
    loss_y = np.asarray(loss_y, dtype=float)
    best: ShiftedPowerLaw | None = None
    best_sse = np.inf
    for e_y in np.linspace(0.0, loss_y.min() * 0.999, n_grid):
        law = fit_shifted_power_law(loss_x, loss_y, e_x, float(e_y))
        sse = float(((law.predict(loss_x) - loss_y) ** 2).sum())
        if sse < best_sse:
            best, best_sse = law, sse
    assert best is not None
    return best


def translate_law(law_x: LawFit, shift: ShiftedPowerLaw) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """L_y(N, D) = K (L_x(N, D) - E_x)^kappa + E_y: a compute law for a new data set."""

    def predict(n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return shift.predict(law_x.predict(n, d))

    return predict


def r_squared(truth: np.ndarray, prediction: np.ndarray) -> float:
    truth, prediction = np.asarray(truth, dtype=float), np.asarray(prediction, dtype=float)
    return float(1.0 - ((truth - prediction) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())
