"""From FitData to the arrays Sloth fits: covariates, family indices, scores, chance levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError

if TYPE_CHECKING:  # torch is imported where tensors are made: registering the fitters needs none
    import torch

BASES = ("log10", "upstream")
# The paper's learning rates, tried in turn (the lowest training MAE kept); here, not in the engine,
# so that the fitters' defaults need no torch.
LEARNING_RATES = (0.1, 0.01, 0.001)


def covariates(params: np.ndarray, tokens: np.ndarray, basis: str = "log10") -> np.ndarray:
    """Sloth's covariates from N in billions of parameters and D in trillions of tokens.

    ``basis="log10"``: ``(log10 N, log10 D, log10 N * log10 D)``, the order every reader of the
    stored slopes expects. ``basis="upstream"``: ``(ln D, ln N, ln N * ln D)``, as the paper's
    experiment code builds them. The model is the same in either basis (the slopes rescale),
    but the optimiser's path from a given seed, and so the fit, is not.
    """
    n = np.asarray(params, dtype=float) / 1e9
    d = np.asarray(tokens, dtype=float) / 1e12
    if basis == "log10":
        log_n, log_d = np.log10(n), np.log10(d)
        return np.stack([log_n, log_d, log_n * log_d], axis=1)
    if basis == "upstream":
        ln_n, ln_d = np.log(n), np.log(d)
        return np.stack([ln_d, ln_n, ln_n * ln_d], axis=1)
    raise FitterError(f"sloth: covariate basis must be one of {BASES}, not {basis!r}")


def covariates_in_log10(x: np.ndarray, basis: str) -> np.ndarray:
    """Covariates ``x`` (M, 3) in ``basis`` re-expressed in the log10 basis."""
    if basis == "log10":
        return x
    log_n, log_d = x[:, 1] / np.log(10.0), x[:, 0] / np.log(10.0)
    return np.stack([log_n, log_d, log_n * log_d], axis=1)


def slopes_in_log10(slopes: np.ndarray, basis: str) -> np.ndarray:
    """(3, d) slopes on ``basis``'s covariates, re-expressed on the log10 covariates."""
    if basis == "log10":
        return slopes
    ln10 = np.log(10.0)
    return np.stack([ln10 * slopes[1], ln10 * slopes[0], ln10**2 * slopes[2]])


@dataclass(frozen=True)
class Design:
    """One training set as arrays.

    Attributes
    ----------
    model_ids:
        Row order of ``x``, ``fam`` and ``y``.
    families:
        The training families; ``fam`` indexes this list.
    family_groups:
        The family group of each training family (for unseen families at prediction time).
    x:
        Covariates, shape (N, 3).
    fam:
        Family index of each model, shape (N,).
    y:
        Scores in [0, 1], shape (N, J), NaN where missing.
    chance:
        Lower asymptote of each target, shape (J,).
    basis:
        The covariate basis of ``x`` (:func:`covariates`).
    """

    model_ids: list[str]
    families: list[str]
    family_groups: list[str | None]
    x: np.ndarray
    fam: np.ndarray
    y: np.ndarray
    chance: np.ndarray
    basis: str = "log10"

    def covariates(self, models: pl.DataFrame) -> np.ndarray:
        """Covariates of ``models`` (with ``params`` and ``tokens``) in this design's basis."""
        return covariates(models["params"].to_numpy(), models["tokens"].to_numpy(), self.basis)


def _check_covariates(models: pl.DataFrame, what: str) -> None:
    bad = models.filter(
        pl.col("params").is_null() | pl.col("tokens").is_null() | (pl.col("params") <= 0) | (pl.col("tokens") <= 0)
    )
    if bad.height:
        raise FitterError(
            f"sloth: {what} model(s) {bad['model_id'].to_list()[:5]} lack positive params/tokens; drop them first"
        )


def build_design(data: FitData, targets: Sequence[str], basis: str = "log10") -> Design:
    """Arrays for fitting ``targets`` on every model of ``data`` that has at least one target score."""
    models = data.models
    _check_covariates(models, "training")
    wide = data.matrix(list(targets))
    y = wide.select(list(targets)).to_numpy().astype(float)
    keep = ~np.all(np.isnan(y), axis=1)
    models = models.filter(pl.Series(keep))
    y = y[keep]
    fam_col = models["family"].fill_null(models["model_id"]).to_list()
    families = sorted(set(fam_col))
    index = {f: i for i, f in enumerate(families)}
    group_of = dict(zip(fam_col, models["family_group"].to_list(), strict=True))
    return Design(
        model_ids=models["model_id"].to_list(),
        families=families,
        family_groups=[group_of[f] for f in families],
        x=covariates(models["params"].to_numpy(), models["tokens"].to_numpy(), basis),
        fam=np.array([index[f] for f in fam_col], dtype=np.int64),
        y=y,
        chance=np.array([data.chance(t) for t in targets], dtype=float),
        basis=basis,
    )


def query_weights(design: Design, models: pl.DataFrame) -> np.ndarray:
    """How each query model mixes the training family intercepts, shape (M, F).

    A model of a training family takes its family's intercept; a model of an unseen family takes
    the mean intercept of the training families in its family group, or, failing that, of all
    training families.
    """
    index = {f: i for i, f in enumerate(design.families)}
    n_fam = len(design.families)
    weights = np.zeros((models.height, n_fam))
    for row, (family, group) in enumerate(
        zip(models["family"].to_list(), models["family_group"].to_list(), strict=True)
    ):
        if family in index:
            weights[row, index[family]] = 1.0
            continue
        same = [i for i, g in enumerate(design.family_groups) if group is not None and g == group]
        members = same or list(range(n_fam))
        weights[row, members] = 1.0 / len(members)
    return weights


@dataclass
class Batch:
    """Several designs padded to one shape (layout: problem, benchmark, model).

    ``x`` (P, N, 3), ``onehot`` (P, N, F) family weights, ``y`` and ``mask`` (P, J, N),
    ``inv_count`` (P,), ``chance`` (P, J, 1).
    """

    x: torch.Tensor
    onehot: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    inv_count: torch.Tensor
    chance: torch.Tensor

    def take(self, index: torch.Tensor) -> Batch:
        return Batch(*(getattr(self, f)[index] for f in _BATCH_FIELDS))

    def rows(self, start: int, stop: int) -> Batch:
        """Problems ``start:stop`` as views (no copy)."""
        return Batch(*(getattr(self, f)[start:stop] for f in _BATCH_FIELDS))


_BATCH_FIELDS = ("x", "onehot", "y", "mask", "inv_count", "chance")


def pad_designs(designs: Sequence[Design], dtype: torch.dtype | None = None) -> Batch:
    """Stack designs of different sizes; padded models and families carry zero weight (``dtype``
    default float32)."""
    import torch

    dtype = torch.float32 if dtype is None else dtype
    n = max(len(d.model_ids) for d in designs)
    f = max(len(d.families) for d in designs)
    j = designs[0].y.shape[1]
    p = len(designs)
    x = np.zeros((p, n, 3))
    onehot = np.zeros((p, n, f))
    y = np.zeros((p, j, n))
    mask = np.zeros((p, j, n))
    chance = np.zeros((p, j, 1))
    for i, d in enumerate(designs):
        m = len(d.model_ids)
        x[i, :m] = d.x
        onehot[i, np.arange(m), d.fam] = 1.0
        observed = ~np.isnan(d.y)
        y[i, :, :m] = np.where(observed, d.y, 0.0).T
        mask[i, :, :m] = observed.T
        chance[i, :, 0] = d.chance
    count = mask.sum(axis=(1, 2))
    as_t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
    return Batch(as_t(x), as_t(onehot), as_t(y), as_t(mask), as_t(1.0 / np.maximum(count, 1.0)), as_t(chance))
