"""Missing benchmark scores filled by iterated rank-1 PCA reconstruction (fitted on training models only).

This is the ObsScaling imputation (z-score each column, fill gaps with the column mean, then
repeatedly overwrite the missing cells with a rank-1 PCA reconstruction), with two changes:
training iterations stop when the imputed cells stop moving instead of after a fixed 1,000
rounds, and new rows are imputed in closed form (the exact fixed point of the same iteration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankOneImputer:
    """A fitted rank-1 imputer.

    Attributes
    ----------
    scale_mean, scale_sd:
        Column means and standard deviations of the training scores (observed cells only).
    centre:
        Column means of the standardised, imputed training matrix (the rank-1 PCA's centre).
    direction:
        Unit-length leading principal direction of that matrix.
    n_iter:
        Iterations the training imputation took.
    clip:
        Bounds the un-standardised values are clipped to.
    """

    scale_mean: np.ndarray
    scale_sd: np.ndarray
    centre: np.ndarray
    direction: np.ndarray
    n_iter: int
    clip: tuple[float, float]

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Fill the NaN cells of ``scores`` (rows = models, columns as in training).

        Parameters
        ----------
        scores:
            Array (n, J) with NaN where a score is missing.

        Returns
        -------
        numpy.ndarray
            The same array with every NaN replaced, clipped to ``clip``.

        Notes
        -----
        With the direction v and centre m fixed, iterating "overwrite the missing cells M of a
        row with m + v v'(z - m)" converges to z_M = m_M + v_M t, t = v_O'(z_O - m_O) / (1 - |v_M|^2):
        computed here directly, for every row at once.
        """
        z = (scores - self.scale_mean) / self.scale_sd
        missing = np.isnan(z)
        centred = np.where(missing, 0.0, z - self.centre)
        known = centred @ self.direction
        # Guard rows with every input missing (t -> 0: the centre) and |v_M| close to 1.
        shrink = np.maximum(1.0 - (missing * self.direction**2).sum(axis=1), 1e-6)
        filled = self.centre + (known / shrink)[:, None] * self.direction
        z = np.where(missing, filled, z)
        return np.clip(z * self.scale_sd + self.scale_mean, *self.clip)


def _leading_direction(centred: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """Leading right singular vector; sign fixed so that it correlates with ``start``."""
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    v = vt[0]
    if start is not None and v @ start < 0:
        v = -v
    return v


def fit_rank_one_imputer(
    scores: np.ndarray,
    *,
    tol: float = 1e-6,
    max_iter: int = 1000,
    clip: tuple[float, float] = (0.0, 1.0),
) -> tuple[RankOneImputer, np.ndarray]:
    """Fit the imputer on a training matrix and return it with the imputed training matrix.

    Parameters
    ----------
    scores:
        Array (n, J), NaN where missing. Every column needs at least two observed values.
    tol:
        Stop when no imputed cell moves by more than ``tol`` (in standard deviations).
    max_iter:
        Upper bound on iterations (the ObsScaling code always runs 1,000).
    clip:
        Bounds for the imputed, un-standardised values.

    Returns
    -------
    (RankOneImputer, numpy.ndarray)
        The imputer and the imputed training matrix (observed cells unchanged, then clipped).
    """
    scores = np.asarray(scores, dtype=float)
    mean = np.nanmean(scores, axis=0)
    sd = np.nanstd(scores, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (scores - mean) / sd
    missing = np.isnan(z)
    z = np.where(missing, 0.0, z)
    centre = z.mean(axis=0)
    direction = _leading_direction(z - centre, None)
    n_iter = 0
    if missing.any():
        for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
            centre = z.mean(axis=0)
            direction = _leading_direction(z - centre, direction)
            recon = centre + ((z - centre) @ direction)[:, None] * direction
            change = np.abs(recon[missing] - z[missing]).max()
            z[missing] = recon[missing]
            if change < tol:
                break
        centre = z.mean(axis=0)
        direction = _leading_direction(z - centre, direction)
    imputer = RankOneImputer(mean, sd, centre, direction, n_iter, clip)
    return imputer, np.clip(z * sd + mean, *clip)
