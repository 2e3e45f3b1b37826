"""Half-widths of Sloth's prediction intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from obslaws_sloth.design import Design

if TYPE_CHECKING:  # the engine (torch) is imported when a fit runs
    from obslaws_sloth.engine import Member


def half_width(
    design: Design,
    models: Sequence[Member],
    residual_sd: np.ndarray,
    interval: float,
    x: np.ndarray,
    weights: np.ndarray,
    preds: np.ndarray,
) -> np.ndarray:
    """Half-width of the prediction intervals, shape (Q, J).

    Variance = spread of the ensemble ``preds`` (members, Q, J) + residual variance x (1 + 1/n_f),
    the prediction variance of a new model of a family whose intercept rests on n_f training
    models (n_f = 1 for a family fitted from query scores); for an unseen family, plus the
    variance of the prediction over the families whose intercepts it averages.
    """
    spread = preds.var(axis=0) if len(preds) > 1 else np.zeros(preds.shape[1:])
    counts = np.bincount(design.fam, minlength=len(design.families)).astype(float)
    n_f = np.ones(len(x))
    between = np.zeros(preds.shape[1:])
    for row in range(len(x)):
        w = weights[row, : len(counts)]
        if weights[row].max() == 1.0:
            n_f[row] = counts[np.argmax(w)] if np.argmax(weights[row]) < len(counts) else 1.0
            continue
        # Unseen family: the spread of predictions over the families it averages.
        support = np.flatnonzero(w)
        onehots = np.zeros((len(support), weights.shape[1]))
        onehots[np.arange(len(support)), support] = 1.0
        per_family = models[0].predict(np.repeat(x[row : row + 1], len(support), 0), onehots, design.chance)
        between[row] = per_family.var(axis=0)
    z = stats.norm.ppf(0.5 + interval / 2)
    noise = residual_sd[None, :] ** 2 * (1 + 1 / n_f)[:, None]
    return z * np.sqrt(spread + noise + between)
