"""Step 2 of the task law: accuracy from task loss, Acc(L) = a / (1 + exp(-k (L - L0))) + b.

As in the OLMo ladder, ``a`` lies in [-1, 0] and ``b`` in [0, 1] (so that ``b`` is the accuracy
at zero loss and ``a + b`` the accuracy at large loss), ``k > 0``, and an optional helper point
(L = 0, Acc = ``anchor``) pins the top of the curve, which the small ladder models never reach.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

_LOWER = np.array([-1.0, 0.0, 1e-3, 0.0])
_UPPER = np.array([0.0, 10.0, 100.0, 1.0])


def sigmoid_curve(loss: np.ndarray | float, a: float, l0: float, k: float, b: float) -> np.ndarray:
    """Acc(L) = a / (1 + exp(-k (L - L0))) + b."""
    z = np.clip(-k * (np.asarray(loss, dtype=float) - l0), -500.0, 500.0)
    return a / (1.0 + np.exp(z)) + b


@dataclass(frozen=True)
class SigmoidFit:
    """A fitted loss-to-accuracy sigmoid (``a, l0, k, b``) and its root-mean-square error."""

    a: float
    l0: float
    k: float
    b: float
    rmse: float
    n_points: int

    def predict(self, loss: np.ndarray | float) -> np.ndarray:
        return sigmoid_curve(loss, self.a, self.l0, self.k, self.b)

    def to_dict(self) -> dict[str, float | int]:
        return {"a": self.a, "L0": self.l0, "k": self.k, "b": self.b, "rmse": self.rmse, "n_points": self.n_points}


def fit_sigmoid(loss: np.ndarray, accuracy: np.ndarray, *, anchor: float | None = 1.0, n_refine: int = 4) -> SigmoidFit:
    """Fit Acc(L) by least squares from a grid of starts (vectorised), refining the best few.

    Parameters
    ----------
    loss, accuracy:
        Task losses and accuracies (in [0, 1]), one entry per model or checkpoint.
    anchor:
        Accuracy at zero loss, added as one helper point (the OLMo ladder uses the task maximum,
        1.0); ``None`` fits without it.
    n_refine:
        Grid starts refined with scipy's trust-region least squares.

    Examples
    --------
    >>> L = np.linspace(0.6, 1.6, 40)
    >>> fit = fit_sigmoid(L, sigmoid_curve(L, -0.7, 1.0, 6.0, 0.95), anchor=None)
    >>> round(fit.l0, 2), round(fit.k, 1)
    (1.0, 6.0)
    """
    x = np.asarray(loss, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 4:
        raise ValueError("a loss-to-accuracy sigmoid needs at least 4 (loss, accuracy) points")
    n_data = int(x.size)
    if anchor is not None:
        x, y = np.append(x, 0.0), np.append(y, float(anchor))
    starts = np.array(
        list(
            itertools.product(
                [-0.9, -0.6, -0.3],
                np.quantile(x, [0.1, 0.5, 0.9]),
                [1.0, 3.0, 10.0, 30.0],
                [0.6, 0.9, 1.0],
            )
        )
    )
    starts = np.clip(starts, _LOWER, _UPPER)
    # One vectorised pass: residual sums of squares of every start, (S, n).
    z = np.clip(-starts[:, 2:3] * (x[None, :] - starts[:, 1:2]), -500.0, 500.0)
    sse = (((starts[:, 0:1] / (1.0 + np.exp(z)) + starts[:, 3:4]) - y) ** 2).sum(axis=1)
    best = None
    for idx in np.argsort(sse)[: max(1, n_refine)]:
        res = least_squares(lambda p: sigmoid_curve(x, *p) - y, starts[idx], bounds=(_LOWER, _UPPER))
        if best is None or res.cost < best.cost:
            best = res
    a, l0, k, b = (float(v) for v in best.x)
    resid = sigmoid_curve(x[:n_data], a, l0, k, b) - y[:n_data]
    return SigmoidFit(a, l0, k, b, float(np.sqrt(np.mean(resid**2))), n_data)
