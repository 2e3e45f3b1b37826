"""Reference curves: the score a reference family gets at a size, and its inverse.

Two kinds, both fitted per benchmark on the models of one reference family:

- :class:`DirectReference` (any family with >= 4 sizes): S(N) = g + (1 - g) sigma(gamma (ln N - m)),
  with ``g`` the benchmark's chance level; inverted in closed form.
- :class:`TwoStepReference` (the paper's, for a family with losses on the benchmark's data set):
  L(N, D) = a N^-alpha + b D^-beta, then S = c / (1 + exp(-k (L - l))) + d; inverted at a fixed
  D0 (1T tokens in the paper): L_hat from S, then N_hat = ((L_hat - b D0^-beta) / a)^(-1 / alpha).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.special import logit

EPS = 1e-3  # scores are clipped this far inside (floor, ceiling) before inverting


@dataclass(frozen=True)
class DirectReference:
    """S(N) = g + (1 - g) sigma(gamma (ln N - m)) for one benchmark."""

    benchmark: str
    floor: float
    gamma: float
    m: float
    n_models: int

    def score(self, n: np.ndarray | float) -> np.ndarray:
        z = self.gamma * (np.log(np.asarray(n, dtype=float)) - self.m)
        return self.floor + (1.0 - self.floor) / (1.0 + np.exp(-z))

    def effective_params(self, score: np.ndarray | float) -> np.ndarray:
        p = (np.asarray(score, dtype=float) - self.floor) / (1.0 - self.floor)
        return np.exp(self.m + logit(np.clip(p, EPS, 1.0 - EPS)) / self.gamma)

    def to_dict(self) -> dict[str, float | int | str]:
        return {"kind": "direct", "floor": self.floor, "gamma": self.gamma, "m": self.m, "n_models": self.n_models}


def fit_direct(benchmark: str, params: np.ndarray, scores: np.ndarray, floor: float) -> DirectReference:
    """Fit gamma and m by least squares on the logit scale of the above-floor fraction.

    Examples
    --------
    >>> n = np.array([1e8, 1e9, 1e10, 1e11])
    >>> true = DirectReference("x", 0.25, 0.8, np.log(3e9), 4)
    >>> ref = fit_direct("x", n, true.score(n), 0.25)
    >>> round(ref.gamma, 3), round(float(ref.effective_params(true.score(5e9))[()] / 5e9), 3)
    (0.8, 1.0)
    """
    params, scores = np.asarray(params, dtype=float), np.asarray(scores, dtype=float)
    if np.unique(params).size < 4:
        raise ValueError(f"{benchmark}: a direct reference curve needs at least 4 sizes, got {np.unique(params).size}")
    x = np.log(params)

    def resid(theta: np.ndarray) -> np.ndarray:
        return floor + (1.0 - floor) / (1.0 + np.exp(-theta[0] * (x - theta[1]))) - scores

    # Start from a straight-line fit on the logit scale; refine on the score scale, gamma > 0.
    p = np.clip((scores - floor) / (1.0 - floor), 0.02, 0.98)
    slope, intercept = np.polyfit(x, logit(p), 1)
    slope = max(float(slope), 0.05)
    start = np.array([slope, -intercept / slope])
    res = least_squares(resid, start, bounds=([1e-3, -np.inf], [20.0, np.inf]))
    return DirectReference(benchmark, float(floor), float(res.x[0]), float(res.x[1]), int(params.size))


@dataclass(frozen=True)
class TwoStepReference:
    """The paper's two-step reference for one benchmark: loss law, then sigmoid to score."""

    benchmark: str
    a: float
    alpha: float
    b: float
    beta: float
    c: float
    k: float
    l0: float
    d: float
    d0: float
    n_models: int

    def loss(self, n: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray:
        return (
            self.a * np.asarray(n, dtype=float) ** -self.alpha + self.b * np.asarray(tokens, dtype=float) ** -self.beta
        )

    def score_from_loss(self, loss: np.ndarray | float) -> np.ndarray:
        return self.c / (1.0 + np.exp(-self.k * (np.asarray(loss, dtype=float) - self.l0))) + self.d

    def score(self, n: np.ndarray | float) -> np.ndarray:
        return self.score_from_loss(self.loss(n, self.d0))

    def effective_params(self, score: np.ndarray | float) -> np.ndarray:
        lo, hi = sorted((self.d, self.c + self.d))
        s = np.clip(np.asarray(score, dtype=float), lo + EPS * (hi - lo), hi - EPS * (hi - lo))
        loss = self.l0 - np.log(self.c / (s - self.d) - 1.0) / self.k
        gap = np.clip(loss - self.b * self.d0**-self.beta, 1e-12, None)
        return (gap / self.a) ** (-1.0 / self.alpha)

    def to_dict(self) -> dict[str, float | int | str]:
        keys = ("a", "alpha", "b", "beta", "c", "k", "l0", "d", "d0", "n_models")
        return {"kind": "two-step", **{key: getattr(self, key) for key in keys}}


def fit_two_step(
    benchmark: str,
    params: np.ndarray,
    tokens: np.ndarray,
    losses: np.ndarray,
    scores: np.ndarray,
    d0: float,
) -> TwoStepReference:
    """Fit L = a N^-alpha + b D^-beta (log residuals) and S = c / (1 + exp(-k (L - l))) + d."""
    n, d, loss, s = (np.asarray(v, dtype=float) for v in (params, tokens, losses, scores))
    if n.size < 5:
        raise ValueError(f"{benchmark}: the two-step reference needs at least 5 models with losses and scores")
    ln, ld, ll = np.log(n), np.log(d), np.log(loss)

    def loss_resid(t: np.ndarray) -> np.ndarray:
        return np.logaddexp(t[0] - t[1] * ln, t[2] - t[3] * ld) - ll

    best = None
    for start in ([5.0, 0.3, 5.0, 0.3], [2.0, 0.1, 2.0, 0.1], [10.0, 0.5, 10.0, 0.5]):
        res = least_squares(loss_resid, start, bounds=([-50, 0, -50, 0], [50, 3, 50, 3]), loss="huber", f_scale=1e-2)
        if best is None or res.cost < best.cost:
            best = res
    la, alpha, lb, beta = best.x

    def score_resid(t: np.ndarray) -> np.ndarray:
        return t[0] / (1.0 + np.exp(np.clip(-t[1] * (loss - t[2]), -500, 500))) + t[3] - s

    start = [-(s.max() - s.min()) or -0.5, 5.0, float(np.median(loss)), float(s.max())]
    res = least_squares(score_resid, start, bounds=([-1.0, 1e-3, 0.0, 0.0], [0.0, 100.0, 50.0, 1.0]))
    c, k, l0, dd = res.x
    return TwoStepReference(
        benchmark, float(np.exp(la)), float(alpha), float(np.exp(lb)), float(beta), float(c), float(k), float(l0),
        float(dd), float(d0), int(n.size),
    )  # fmt: skip
