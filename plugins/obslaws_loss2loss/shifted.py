"""Shifted power laws between two losses: L_y = K (L_x - E_x)^kappa + E_y.

With the irreducible losses E_x and E_y fixed (each from its own compute law), the law is a
straight line in log-log space, log(L_y - E_y) = log K + kappa log(L_x - E_x), fitted by
ordinary least squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShiftedPowerLaw:
    """A fitted loss-to-loss law.

    Attributes
    ----------
    K, kappa:
        Scale and exponent.
    e_x, e_y:
        The irreducible losses of the source and target losses (fixed during the fit).
    r2:
        R^2 of the log-log regression.
    n_points:
        Pairs used (pairs with a loss at or below its E are dropped: the log is undefined).
    """

    K: float  # noqa: N815 - the paper's symbol
    kappa: float
    e_x: float
    e_y: float
    r2: float
    n_points: int

    def predict(self, loss_x: np.ndarray | float) -> np.ndarray:
        """L_y for source losses ``loss_x``; a source loss at or below E_x maps to E_y."""
        gap = np.clip(np.asarray(loss_x, dtype=float) - self.e_x, 0.0, None)
        return self.K * gap**self.kappa + self.e_y

    def to_dict(self) -> dict[str, float | int]:
        return {
            "K": self.K,
            "kappa": self.kappa,
            "E_x": self.e_x,
            "E_y": self.e_y,
            "r2": self.r2,
            "n_points": self.n_points,
        }


def fit_shifted_power_law(loss_x: np.ndarray, loss_y: np.ndarray, e_x: float, e_y: float) -> ShiftedPowerLaw:
    """Fit K and kappa by least squares in log-log space with E_x, E_y fixed.

    Parameters
    ----------
    loss_x, loss_y:
        Paired losses (same models, or models paired by N and D).
    e_x, e_y:
        Irreducible losses of x and y.

    Examples
    --------
    >>> x = np.linspace(2.5, 4.0, 20)
    >>> law = fit_shifted_power_law(x, 0.8 * (x - 2.0) ** 1.2 + 1.5, 2.0, 1.5)
    >>> round(law.K, 3), round(law.kappa, 3)
    (0.8, 1.2)
    """
    x = np.asarray(loss_x, dtype=float) - e_x
    y = np.asarray(loss_y, dtype=float) - e_y
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        raise ValueError("a shifted power law needs at least 2 pairs with both losses above their E")
    lx, ly = np.log(x[keep]), np.log(y[keep])
    kappa, log_k = np.polyfit(lx, ly, 1)
    resid = ly - (log_k + kappa * lx)
    total = ((ly - ly.mean()) ** 2).sum()
    r2 = 1.0 - (resid**2).sum() / total if total > 0 else 1.0
    return ShiftedPowerLaw(float(np.exp(log_k)), float(kappa), float(e_x), float(e_y), float(r2), int(keep.sum()))
