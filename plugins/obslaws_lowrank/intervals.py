"""Prediction intervals: a bootstrap over training models plus resampled out-of-sample residuals.

Each replicate refits the link on a resampled set of training models (warm-started from the
full fit, all replicates in one batched solve), predicts the query models, and adds one
residual drawn from the training models' leave-one-out residuals (approximated by the
jackknife-style inflation r / (1 - h), h the Gauss-Newton leverage), because in-sample
residuals understate the error on new models. The interval is the central ``level`` share of
the draws, clipped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from obslaws_lowrank.link import fit_link_batch, predict


@dataclass(frozen=True)
class LinkBootstrap:
    """Bootstrap replicates of a link fit.

    Attributes
    ----------
    params:
        Replicate parameter vectors (B, K + 2).
    residuals:
        Leave-one-out residuals of the full fit on the training models (n,).
    """

    params: np.ndarray
    residuals: np.ndarray

    def draws(self, x: np.ndarray, rng: np.random.Generator, input_noise: np.ndarray | None = None) -> np.ndarray:
        """Predictive draws (B, m) for query inputs ``x`` (m, K).

        Parameters
        ----------
        x:
            Query inputs (m, K).
        rng:
            Source of the residual draws.
        input_noise:
            Optional perturbations of the inputs, (B, m, K): the uncertainty of inputs that are
            themselves predicted (capabilities predicted from compute).
        """
        n_boot = len(self.params)
        if input_noise is None:
            mean = predict(self.params, x)
        else:
            z = self.params[:, :1] + np.einsum("bmk,bk->bm", x[None, :, :] + input_noise, self.params[:, 1:-1])
            floor = self.params[:, -1:]
            mean = (1.0 - floor) * expit(z) + floor
        noise = rng.choice(self.residuals, size=(n_boot, x.shape[0]), replace=True)
        return np.clip(mean + noise, 0.0, 1.0)


def loo_residuals(params: np.ndarray, x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Approximate leave-one-out residuals r_i / (1 - h_i) of a least-squares link fit."""
    x1 = np.column_stack([np.ones(len(x)), x])
    s = expit(x1 @ params[:-1])
    floor = params[-1]
    resid = y - ((1.0 - floor) * s + floor)
    jac = np.column_stack([((1.0 - floor) * s * (1.0 - s))[:, None] * x1, 1.0 - s])
    pen = np.zeros(jac.shape[1])
    pen[1:-1] = ridge * len(y)  # the objective is a mean: on the sum scale the ridge is n * ridge
    hess = jac.T @ jac + np.diag(pen) + 1e-12 * np.eye(jac.shape[1])
    lev = np.einsum("ni,ij,nj->n", jac, np.linalg.pinv(hess), jac)
    return resid / np.maximum(1.0 - np.clip(lev, 0.0, 0.99), 0.01)


def bootstrap_link(
    x: np.ndarray,
    y: np.ndarray,
    params: np.ndarray,
    *,
    n_boot: int,
    ridge: float,
    floor_max: float,
    rng: np.random.Generator,
    max_slope: float = np.inf,
    max_logit: float = np.inf,
) -> LinkBootstrap:
    """Refit the link on ``n_boot`` resamples of the training models, warm-started at ``params``."""
    n = len(y)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    starts = np.repeat(params[None, :], n_boot, axis=0)
    boot, _, _ = fit_link_batch(
        x,
        y,
        starts,
        weights=counts,
        ridge=ridge,
        floor_max=floor_max,
        max_slope=max_slope,
        max_logit=max_logit,
        max_iter=50,
        tol=1e-8,
    )
    return LinkBootstrap(boot, loo_residuals(params, x, y, ridge))


def central_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the central ``level`` share of ``draws`` (B, m), per column."""
    tail = (1.0 - level) / 2.0
    return np.quantile(draws, tail, axis=0), np.quantile(draws, 1.0 - tail, axis=0)
