"""The sigmoid link with a floor, y = (1 - b) sigmoid(alpha + beta's) + b, fitted by batched least squares.

Many problems (starting points, bootstrap replicates) are solved at once by a vectorised,
box-projected Levenberg-Marquardt: one (P, n, p) Jacobian per iteration instead of P calls to
scipy. Kept by hand: ``scipy.optimize.least_squares`` reaches the same optima but, one call per
problem, is 5-8x slower on the starts and 85-160x on the 200 bootstrap refits
(``scripts/bench/lowrank_link_vs_scipy.py``). Parameter vectors are laid out ``[alpha, beta_1..beta_K, b]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

FLOOR_MAX = 0.2


@dataclass(frozen=True)
class LinkFit:
    """The best of several fits of the link.

    Attributes
    ----------
    params:
        ``[alpha, beta_1..beta_K, b]``.
    loss:
        Training objective: weighted mean squared error plus ``ridge * |beta|^2``.
    mse:
        Training mean squared error alone.
    n_iter:
        Iterations of the winning start.
    losses:
        Final objective of every start (how many found the same optimum is a stability check).
    """

    params: np.ndarray
    loss: float
    mse: float
    n_iter: int
    losses: np.ndarray

    @property
    def intercept(self) -> float:
        return float(self.params[0])

    @property
    def weights(self) -> np.ndarray:
        return self.params[1:-1]

    @property
    def floor(self) -> float:
        return float(self.params[-1])

    def logit(self, x: np.ndarray) -> np.ndarray:
        return self.params[0] + x @ self.weights

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.params, x)


def predict(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Link values for parameter vectors ``params`` (p,) or (P, p) at inputs ``x`` (n, K)."""
    params = np.asarray(params, dtype=float)
    z = params[..., :1] + params[..., 1:-1] @ x.T
    floor = params[..., -1:]
    return (1.0 - floor) * expit(z) + floor


def _objective(params: np.ndarray, x1: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: np.ndarray) -> np.ndarray:
    """Weighted MSE + ridge for every row of ``params`` (P, p); ``w`` (P, n) sums to 1 per row."""
    z = params[:, :-1] @ x1.T
    floor = params[:, -1:]
    resid = (1.0 - floor) * expit(z) + floor - y
    return (w * resid**2).sum(axis=1) + (ridge * params[:, 1:-1] ** 2).sum(axis=1)


def fit_link_batch(
    x: np.ndarray,
    y: np.ndarray,
    starts: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    ridge: float = 0.0,
    floor_max: float = FLOOR_MAX,
    max_slope: float = np.inf,
    max_logit: float = np.inf,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the link from every starting point at once.

    Parameters
    ----------
    x:
        Inputs (n, K).
    y:
        Targets (n,).
    starts:
        Starting parameter vectors (P, K + 2).
    weights:
        Per-problem weights of the n observations (P, n), for example bootstrap counts;
        default equal weights. Each row is normalised to sum to 1.
    ridge:
        Penalty on |beta|^2 (not on alpha or b), added to the weighted mean squared error.
    floor_max:
        Upper bound of the floor b (lower bound 0).
    max_slope:
        Bound on |beta_k sd(x_k)|: the logit may change by at most this much per training
        standard deviation of an input, so that no fit becomes a step function.
    max_logit:
        Bound on |alpha + beta' mean(x)|, the logit at the centre of the training inputs.
    max_iter, tol:
        Stop a problem when an accepted step lowers its objective by less than ``tol``
        (relative) or after ``max_iter`` iterations.

    Returns
    -------
    (params, objective, n_iter)
        Arrays (P, K + 2), (P,), (P,).
    """
    # Work in centred, standardised inputs, where the bounds are a box: theta = [alpha_c, beta_std, b].
    centre = x.mean(axis=0)
    sd = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    x1 = np.column_stack([np.ones(len(x)), (x - centre) / sd])
    n_probs, n_par = starts.shape
    lower = np.concatenate([[-max_logit], np.full(n_par - 2, -max_slope), [0.0]])
    upper = np.concatenate([[max_logit], np.full(n_par - 2, max_slope), [floor_max]])
    w = np.full((n_probs, len(y)), 1.0) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum(axis=1, keepdims=True)
    theta = np.clip(_standardised(starts.astype(float), centre, sd), lower, upper)
    ridge_std = ridge / sd**2  # the penalty is on the raw beta
    pen = np.zeros(n_par)
    pen[1:-1] = ridge_std
    loss = _objective(theta, x1, y, w, ridge_std)
    damping = np.full(n_probs, 1e-3)
    n_iter = np.zeros(n_probs, dtype=int)
    active = np.ones(n_probs, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        th, wi = theta[idx], w[idx]
        step = _damped_step(th, wi, x1, y, pen, (lower, upper), damping[idx])
        trial = np.clip(th + step, lower, upper)
        trial_loss = _objective(trial, x1, y, wi, ridge_std)
        better = np.isfinite(trial_loss) & (trial_loss <= loss[idx])
        gain = (loss[idx] - trial_loss) / np.maximum(loss[idx], 1e-300)
        small = np.abs(step).max(axis=1) < 1e-9 * (1.0 + np.abs(th).max(axis=1))
        theta[idx[better]] = trial[better]
        loss[idx[better]] = trial_loss[better]
        damping[idx] = np.where(better, np.maximum(damping[idx] / 3.0, 1e-9), damping[idx] * 4.0)
        n_iter[idx] += 1
        done = (better & (gain < tol)) | small | (damping[idx] > 1e10)
        active[idx[done]] = False
    return _raw(theta, centre, sd), loss, n_iter


def _standardised(params: np.ndarray, centre: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Raw ``[alpha, beta, b]`` rows as ``[alpha at the centre, beta per sd, b]``."""
    theta = params.copy()
    theta[:, 0] = theta[:, 0] + theta[:, 1:-1] @ centre
    theta[:, 1:-1] = theta[:, 1:-1] * sd
    return theta


def _raw(theta: np.ndarray, centre: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_standardised`."""
    raw = theta.copy()
    raw[:, 1:-1] = theta[:, 1:-1] / sd
    raw[:, 0] = theta[:, 0] - raw[:, 1:-1] @ centre
    return raw


def _damped_step(
    th: np.ndarray,
    wi: np.ndarray,
    x1: np.ndarray,
    y: np.ndarray,
    pen: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    damping: np.ndarray,
) -> np.ndarray:
    """One Levenberg-Marquardt step (P, p) for standardised parameters ``th`` (P, p), weights ``wi``."""
    lower, upper = bounds
    n_par = th.shape[1]
    eye = np.eye(n_par)
    z = th[:, :-1] @ x1.T
    s = expit(z)
    floor = th[:, -1:]
    resid = (1.0 - floor) * s + floor - y
    jac = np.empty((th.shape[0], len(y), n_par))
    jac[:, :, :-1] = ((1.0 - floor) * s * (1.0 - s))[:, :, None] * x1[None, :, :]
    jac[:, :, -1] = 1.0 - s
    wj = jac * wi[:, :, None]
    hess = np.matmul(wj.transpose(0, 2, 1), jac) + np.diag(pen)
    grad = np.matmul(wj.transpose(0, 2, 1), resid[:, :, None])[:, :, 0] + pen * th
    # Active set: a parameter at a bound that the gradient pushes outwards stays put.
    pinned = ((th <= lower) & (grad > 0)) | ((th >= upper) & (grad < 0))
    if pinned.any():
        keep = ~pinned
        hess = hess * keep[:, :, None] * keep[:, None, :] + eye * pinned[:, :, None]
        grad = np.where(pinned, 0.0, grad)
    diag = np.einsum("pii->pi", hess)
    damped = hess + damping[:, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
    return np.linalg.solve(damped, -grad[:, :, None])[:, :, 0]


def starting_points(x: np.ndarray, y: np.ndarray, n_random: int, rng: np.random.Generator) -> np.ndarray:
    """Starting points: the ObsScaling default, logit-space least squares fits, and random draws.

    Parameters
    ----------
    x, y:
        Inputs (n, K) and targets (n,).
    n_random:
        Number of random starting points added to the deterministic ones.
    rng:
        Source of the random starts.
    """
    k = x.shape[1]
    starts = [np.concatenate([[0.0], np.full(k, 1e-2), [0.0]])]  # upstream curve_fit p0
    x1 = np.column_stack([np.ones(len(x)), x])
    for floor in (0.0, float(np.clip(np.min(y), 0.0, FLOOR_MAX * 0.9))):
        p = np.clip((y - floor) / (1.0 - floor), 0.02, 0.98)
        coef, *_ = np.linalg.lstsq(x1, np.log(p / (1.0 - p)), rcond=None)
        starts.append(np.concatenate([coef, [floor]]))
    scale = np.maximum(x.std(axis=0), 1e-6)
    base = np.log(np.clip(y.mean(), 0.02, 0.98) / (1 - np.clip(y.mean(), 0.02, 0.98)))
    for _ in range(n_random):
        beta = rng.normal(0.0, 2.0, size=k) / scale
        alpha = base - (x.mean(axis=0) @ beta)
        starts.append(np.concatenate([[alpha], beta, [rng.uniform(0.0, FLOOR_MAX)]]))
    return np.array(starts)


def fit_link(
    x: np.ndarray,
    y: np.ndarray,
    *,
    ridge: float = 0.0,
    n_random: int = 4,
    seed: int = 0,
    floor_max: float = FLOOR_MAX,
    max_slope: float = np.inf,
    max_logit: float = np.inf,
) -> LinkFit:
    """Fit the link from several starting points and keep the lowest training objective.

    Parameters
    ----------
    x, y:
        Inputs (n, K) and targets (n,) in [0, 1].
    ridge:
        Penalty on |beta|^2 added to the mean squared error.
    n_random:
        Random starting points on top of the three deterministic ones.
    seed:
        Seed of the random starting points.
    floor_max:
        Upper bound of the floor b.
    max_slope, max_logit:
        Bounds of the standardised slopes and of the logit at the data's centre
        (see :func:`fit_link_batch`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 2))
    >>> y = 0.1 + 0.9 / (1 + np.exp(-(0.5 + x @ [2.0, -1.0])))
    >>> fit = fit_link(x, y)
    >>> np.round(fit.params, 2).tolist()
    [0.5, 2.0, -1.0, 0.1]
    """
    starts = starting_points(x, y, n_random, np.random.default_rng(seed))
    params, losses, n_iter = fit_link_batch(
        x, y, starts, ridge=ridge, floor_max=floor_max, max_slope=max_slope, max_logit=max_logit
    )
    best = int(np.nanargmin(losses))
    mse = float(np.mean((predict(params[best], x) - y) ** 2))
    return LinkFit(params[best], float(losses[best]), mse, int(n_iter[best]), losses)
