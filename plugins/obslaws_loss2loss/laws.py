"""Compute laws L(N, D), fitted by a Huber loss on log residuals from many starting points.

Two forms, both written in log space so that every parameter is unconstrained except the
exponents (which L-BFGS-B bounds):

- ``kaplan``: L = E + ((A / N)^(alpha / beta) + B / D)^beta
- ``chinchilla``: L = E + A / N^alpha + B / D^beta

Parameters are kept as ``theta = (log A, log B, log E, alpha, beta)``. The fit evaluates a grid of
starting points in one vectorised numpy pass, then refines the best few with scipy's L-BFGS-B
using analytic gradients, and keeps the lowest objective.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

FORMS = ("kaplan", "chinchilla")
PARAM_NAMES = ("A", "B", "E", "alpha", "beta")
# alpha and beta bounds: the exponent of a loss law is positive and, in practice, below a few units.
_BOUNDS = [(None, None), (None, None), (None, None), (0.0, 5.0), (1e-3, 5.0)]


def log_predict(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, form: str) -> np.ndarray:
    """log L for parameter rows ``theta`` (S, 5) at points (n,): returns (S, n)."""
    theta = np.atleast_2d(theta)
    a, b, e, alpha, beta = (theta[:, i : i + 1] for i in range(5))
    if form == "kaplan":
        u = (alpha / beta) * (a - log_n)
        w = np.logaddexp(u, b - log_d)
        return np.logaddexp(e, beta * w)
    if form == "chinchilla":
        return np.logaddexp(np.logaddexp(a - alpha * log_n, b - beta * log_d), e)
    raise ValueError(f"unknown law form {form!r}; choose from {FORMS}")


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    absr = np.abs(r)
    return np.where(absr <= delta, 0.5 * r * r, delta * (absr - 0.5 * delta))


def objective_batch(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, form: str, delta: float
) -> np.ndarray:
    """Summed Huber loss of log residuals for every row of ``theta``: returns (S,)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = log_predict(theta, log_n, log_d, form) - log_l
        out = _huber(r, delta).sum(axis=1)
    return np.where(np.isfinite(out), out, np.inf)


def _objective_and_grad(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, form: str, delta: float
) -> tuple[float, np.ndarray]:
    a, b, e, alpha, beta = theta
    if form == "kaplan":
        u = (alpha / beta) * (a - log_n)
        v = b - log_d
        w = np.logaddexp(u, v)
        z = beta * w
        f = np.logaddexp(e, z)
        pe = expit(e - z)
        pz = 1.0 - pe
        su = expit(u - v)
        sv = 1.0 - su
        grads = np.stack(
            [
                pz * alpha * su,  # d f / d log A
                pz * beta * sv,  # d f / d log B
                pe,  # d f / d log E
                pz * su * (a - log_n),  # d f / d alpha
                pz * (w - su * alpha * (a - log_n) / beta),  # d f / d beta
            ]
        )
    else:
        terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
        f = np.logaddexp(np.logaddexp(terms[0], terms[1]), terms[2])
        p = np.exp(terms - f)
        grads = np.stack([p[0], p[1], p[2], -log_n * p[0], -log_d * p[1]])
    r = f - log_l
    # Scaled by 1/delta^2 so that the objective is O(n) near a good fit: L-BFGS-B's stopping rule is
    # relative only above 1, and the raw summed Huber loss (~1e-4) would stop it far too early.
    scale = 1.0 / (delta * delta)
    loss = float(_huber(r, delta).sum()) * scale
    dr = np.clip(r, -delta, delta)
    return loss, (grads @ dr) * scale


def default_grid(form: str) -> np.ndarray:
    """The starting grid (log A, log B, log E, alpha, beta), after the Chinchilla replication's."""
    a = np.arange(0.0, 30.0, 5.0)
    b = np.arange(0.0, 30.0, 5.0)
    e = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    alpha = np.array([0.1, 0.3, 0.5, 1.0, 1.5])
    beta = np.array([0.1, 0.3, 0.5, 1.0, 1.5])
    return np.array(list(itertools.product(a, b, e, alpha, beta)), dtype=float)


@dataclass(frozen=True)
class LawFit:
    """A fitted compute law.

    Attributes
    ----------
    form:
        ``kaplan`` or ``chinchilla``.
    theta:
        (log A, log B, log E, alpha, beta).
    objective:
        The summed Huber loss at ``theta``.
    n_points:
        How many (N, D, L) points the fit saw.
    """

    form: str
    theta: tuple[float, float, float, float, float]
    objective: float
    n_points: int

    @property
    def params(self) -> dict[str, float]:
        """A, B, E, alpha, beta on their natural scales."""
        a, b, e, alpha, beta = self.theta
        return {"A": float(np.exp(a)), "B": float(np.exp(b)), "E": float(np.exp(e)), "alpha": alpha, "beta": beta}

    @property
    def E(self) -> float:  # noqa: N802 - the irreducible loss is called E everywhere in the literature
        return float(np.exp(self.theta[2]))

    def predict(self, n: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
        """L at parameters ``n`` and tokens ``d`` (plain counts)."""
        log_n = np.log(np.atleast_1d(np.asarray(n, dtype=float)))
        log_d = np.log(np.atleast_1d(np.asarray(d, dtype=float)))
        log_n, log_d = np.broadcast_arrays(log_n, log_d)
        return np.exp(log_predict(np.asarray(self.theta), log_n, log_d, self.form)[0])

    def to_dict(self) -> dict[str, float | str | int]:
        return {"form": self.form, **self.params, "objective": self.objective, "n_points": self.n_points}


def fit_law(
    n: np.ndarray,
    d: np.ndarray,
    loss: np.ndarray,
    *,
    form: str = "kaplan",
    delta: float = 1e-3,
    n_refine: int = 8,
    grid: np.ndarray | None = None,
) -> LawFit:
    """Fit a compute law to (N, D, L) points.

    Parameters
    ----------
    n, d, loss:
        Parameters, tokens (plain counts) and losses (positive), one entry per model.
    form:
        ``kaplan`` or ``chinchilla``.
    delta:
        Huber threshold on log residuals (1e-3, as in Chinchilla's fit).
    n_refine:
        How many of the best grid points L-BFGS-B refines; ``0`` or a number at least the grid
        size refines every grid point (the exhaustive, slow reference procedure).
    grid:
        Starting points (S, 5); default :func:`default_grid`.

    Returns
    -------
    LawFit

    Examples
    --------
    >>> n = np.repeat([1e7, 1e8, 1e9], 3); d = np.tile([1e9, 1e10, 1e11], 3)
    >>> true = LawFit("chinchilla", (np.log(400.), np.log(400.), np.log(1.7), 0.34, 0.28), 0.0, 0)
    >>> fit = fit_law(n, d, true.predict(n, d), form="chinchilla")
    >>> round(fit.E, 2)
    1.7
    """
    if form not in FORMS:
        raise ValueError(f"unknown law form {form!r}; choose from {FORMS}")
    log_n, log_d, log_l = (np.log(np.asarray(x, dtype=float)) for x in (n, d, loss))
    if not (log_n.shape == log_d.shape == log_l.shape) or log_n.size < 5:
        raise ValueError("fit_law needs at least 5 points with matching n, d and loss")
    starts = default_grid(form) if grid is None else np.asarray(grid, dtype=float)
    values = objective_batch(starts, log_n, log_d, log_l, form, delta)
    k = len(starts) if n_refine <= 0 else min(n_refine, len(starts))
    order = np.argsort(values, kind="stable")[:k]
    best_theta, best_value = starts[order[0]], float(values[order[0]])
    for idx in order:
        res = minimize(
            _objective_and_grad,
            starts[idx],
            args=(log_n, log_d, log_l, form, delta),
            jac=True,
            method="L-BFGS-B",
            bounds=_BOUNDS,
            options={"maxiter": 2000},
        )
        value = float(res.fun) * delta * delta
        if np.isfinite(value) and value < best_value:
            best_theta, best_value = res.x, value
    return LawFit(form, tuple(float(x) for x in best_theta), best_value, int(log_n.size))
