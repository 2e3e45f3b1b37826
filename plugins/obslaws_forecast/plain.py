"""The ``logit-svd`` baseline's model inside the forecaster: stacked with the forecaster's
prediction for the models that have scores (``Config.svd``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .completion import ResidualCompletion, hard_impute

PLAIN_RANK, PLAIN_ALPHA = 2, 0.1  # the logit-svd baseline's defaults


@dataclass
class PlainCompletion:
    """The ``logit-svd`` baseline's model: benchmark means plus rank 2 (or ``rank``) of the logit matrix, no
    covariates; stacked with the forecaster's prediction where a model has scores."""

    mean: np.ndarray
    completion: ResidualCompletion

    @classmethod
    def fit(cls, z: np.ndarray, observed: np.ndarray, rank: int = PLAIN_RANK, iterations: int = 100) -> PlainCompletion:
        mean = np.where(observed, z, 0.0).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
        centred = np.where(observed, z - mean, 0.0)
        offsets, factors = hard_impute(centred, observed, rank, iterations)
        return cls(mean, ResidualCompletion(rank, PLAIN_ALPHA, offsets_=offsets, factors_=factors))

    def predict(self, z: np.ndarray, observed: np.ndarray) -> np.ndarray:
        return self.mean + self.completion.predict(np.where(observed, z - self.mean, 0.0), observed)


def stack(own: np.ndarray, plain: np.ndarray, observed: np.ndarray, weight: float) -> np.ndarray:
    """``own`` with weight ``1 - weight`` on ``plain`` for the models that have any score."""
    return np.where(observed.any(axis=1)[:, None], (1 - weight) * own + weight * plain, own)
