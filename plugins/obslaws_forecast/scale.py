"""Scores to logits and back: the scale every forecaster component works on.

A score y on a benchmark with chance level g becomes z = logit((y - g) / (1 - g)), clipped
away from 0 and 1 by ``EPS`` (scores at or below chance carry little information about how far
below they are). Errors near the floor or ceiling are inflated on the logit scale, so fits
weight cells by ``weight(p)`` ~ p (1 - p), the first-order factor from logit to score.
"""

from __future__ import annotations

import numpy as np

EPS = 0.01
SPREAD_FLOOR = 0.03  # the least p (1 - p) a weight or an interval's spread takes (p within ~3% of a bound)


def to_logit(y: np.ndarray, chance: np.ndarray) -> np.ndarray:
    p = np.clip((y - chance) / (1.0 - chance), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def from_logit(z: np.ndarray, chance: np.ndarray) -> np.ndarray:
    return chance + (1.0 - chance) * 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The share of the way from chance to 1 that logit ``z`` stands for."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def weight(z: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Cell weights p (1 - p) ** power, with p = sigmoid(z), floored so no cell is ignored."""
    p = sigmoid(z)
    return np.maximum(p * (1.0 - p), SPREAD_FLOOR) ** power


def spread(z: np.ndarray, power: float = 1.0) -> np.ndarray:
    """How far a score moves per unit of logit at ``z`` (p (1 - p), floored as in ``weight``), to
    ``power`` (chosen on inner folds: ``calibration``).

    Interval widths are conformal quantiles of |logit residual| x spread(prediction) (about the
    error on the score scale, over 1 - chance), mapped back as prediction +- quantile / spread:
    errors on the logit scale are larger near the floor and the ceiling, where the fit's weights
    are smaller, and one logit width for every cell would be too wide in the middle.
    """
    return weight(z, power)


def near_bound(z: np.ndarray) -> np.ndarray:
    """Where the spread is floored: a prediction within about 3% of the floor or the ceiling."""
    p = sigmoid(z)
    return p * (1.0 - p) < SPREAD_FLOOR
