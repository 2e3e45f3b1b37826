"""Interpretable skills: whiten, rotate the loadings to an oblique simple structure, fix signs.

Skills are identified only up to an invertible map (``theta -> theta M`` with
``Lambda -> Lambda M^-T`` changes nothing). As upstream Sloth does, we

1. whiten: map the training models' skills to zero mean and identity covariance;
2. rotate: find an oblique rotation ``T`` (unit-length columns) that minimises a simplicity
   criterion of the loadings, by Jennrich's gradient projection algorithm (oblimin with
   gamma = 0, i.e. quartimin, or geomin, the upstream default); the rotated skills
   ``theta T`` keep unit variance and have correlation ``T^T T``;
3. fix signs so that every skill grows with model size (positive slope on log N).

Implemented in numpy (about the 60 lines of the GPA algorithm), so no extra dependency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Criterion = Callable[[np.ndarray], tuple[float, np.ndarray]]


def oblimin(loadings: np.ndarray, gamma: float = 0.0) -> tuple[float, np.ndarray]:
    """Oblimin criterion and its gradient (gamma = 0: quartimin)."""
    p, k = loadings.shape
    sq = loadings**2
    off = np.ones((k, k)) - np.eye(k)
    centre = np.eye(p) - gamma * np.ones((p, p)) / p
    x = centre @ sq @ off
    return float(np.sum(sq * x) / 4), loadings * x


def geomin(loadings: np.ndarray, eps: float = 0.01) -> tuple[float, np.ndarray]:
    """Geomin criterion and its gradient."""
    k = loadings.shape[1]
    sq = loadings**2 + eps
    prod = np.exp(np.log(sq).sum(axis=1) / k)
    return float(prod.sum()), (2 / k) * loadings / sq * prod[:, None]


CRITERIA: dict[str, Criterion] = {"oblimin": oblimin, "geomin": geomin}


def rotate_oblique(
    loadings: np.ndarray, criterion: Criterion = oblimin, tol: float = 1e-6, max_iter: int = 1000
) -> np.ndarray:
    """The oblique rotation ``T`` (k x k, unit columns): rotated loadings are ``A inv(T)^T``.

    Gradient projection algorithm for oblique rotations (Jennrich 2002; Bernaards and
    Jennrich 2005), starting from the identity.
    """
    k = loadings.shape[1]
    t = np.eye(k)
    if k == 1:
        return t
    rotated = loadings @ np.linalg.inv(t).T
    f, g = criterion(rotated)
    grad = -(rotated.T @ g @ np.linalg.inv(t)).T
    step = 1.0
    for _ in range(max_iter):
        projected = grad - t @ np.diag(np.sum(t * grad, axis=0))
        size = np.sqrt(np.sum(projected**2))
        if size < tol:
            break
        step *= 2
        for _ in range(20):
            x = t - step * projected
            candidate = x / np.sqrt(np.sum(x**2, axis=0))
            rotated = loadings @ np.linalg.inv(candidate).T
            f_new, g_new = criterion(rotated)
            if f_new < f - 0.5 * size**2 * step:
                break
            step /= 2
        t, f, g = candidate, f_new, g_new
        grad = -(rotated.T @ g @ np.linalg.inv(t)).T
    return t


@dataclass(frozen=True)
class Interpretation:
    """Rotated skills of a fit.

    Attributes
    ----------
    skills:
        Skill values of the given models (N x d), zero mean and unit variance on the training
        models.
    loadings:
        Loadings (J x d) on the rotated skills: ``eta = skills @ loadings.T + offset``.
    offset:
        (J,) benchmark intercepts in the rotated coordinates.
    slopes:
        (3 x d) slopes of each skill on ``log10 N, log10 D, log10 N log10 D``.
    intercepts:
        (F x d) family intercepts in the rotated coordinates.
    correlation:
        (d x d) correlation of the rotated skills.
    """

    skills: np.ndarray
    loadings: np.ndarray
    offset: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    correlation: np.ndarray


def interpret(
    slopes: np.ndarray,
    intercepts: np.ndarray,
    loadings: np.ndarray,
    offset: np.ndarray,
    x: np.ndarray,
    onehot: np.ndarray,
    method: str = "oblimin",
) -> Interpretation:
    """Whiten, rotate and sign-fix a fitted skill model.

    Parameters
    ----------
    slopes, intercepts, loadings, offset:
        ``B`` (3 x d), ``alpha`` (F x d), ``Lambda`` (d x J) and ``c`` (J,) of the fit.
    x, onehot:
        Covariates (N x 3) and family one-hot (N x F) of the training models.
    method:
        ``"oblimin"`` (quartimin) or ``"geomin"``.
    """
    theta = x @ slopes + onehot @ intercepts
    mean = theta.mean(axis=0)
    d = theta.shape[1]
    cov = np.atleast_2d(np.cov(theta, rowvar=False)) + 1e-12 * np.eye(d)
    chol = np.linalg.cholesky(cov)  # theta - mean = white @ chol.T
    white_loadings = loadings.T @ chol  # eta = white @ (Lambda^T chol)^T
    t = rotate_oblique(white_loadings, CRITERIA[method])
    rot_loadings = white_loadings @ np.linalg.inv(t).T
    to_rotated = np.linalg.inv(chol).T @ t  # theta-space -> rotated skill space
    rot_slopes = slopes @ to_rotated
    signs = np.where(rot_slopes[0] < 0, -1.0, 1.0)  # skills grow with log N
    to_rotated = to_rotated * signs
    rot_loadings = rot_loadings * signs
    skills = (theta - mean) @ to_rotated
    offset_rot = offset + mean @ loadings
    return Interpretation(
        skills=skills,
        loadings=rot_loadings,
        offset=offset_rot,
        slopes=slopes @ to_rotated,
        intercepts=(intercepts - mean) @ to_rotated,
        correlation=(t.T @ t) * np.outer(signs, signs),
    )
