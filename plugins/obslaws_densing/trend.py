"""Density over time: the upper envelope by release date and ln rho_max = A t + B, with a bootstrap."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

EPOCH = dt.date(2023, 1, 1)  # t is counted in days from here (only B depends on the choice)


def days(dates: list[dt.date]) -> np.ndarray:
    return np.array([(d - EPOCH).days for d in dates], dtype=float)


def upper_envelope(t: np.ndarray, log_density: np.ndarray, bin_days: float | None = None) -> np.ndarray:
    """Indices of the envelope models.

    ``bin_days=None``: the models that set a new density record when released. Otherwise the
    densest model of each ``bin_days``-long period (counted from ``EPOCH``), so that a single
    outlier does not hide the later frontier.
    """
    if bin_days is not None:
        bins = np.floor(t / bin_days)
        return np.array(
            sorted(int(np.flatnonzero(bins == b)[np.argmax(log_density[bins == b])]) for b in np.unique(bins))
        )
    order = np.lexsort((-log_density, t))
    keep, best = [], -np.inf
    for idx in order:
        if log_density[idx] > best:
            keep.append(idx)
            best = log_density[idx]
    return np.array(keep, dtype=int)


@dataclass(frozen=True)
class DensityTrend:
    """ln rho_max(t) = slope * t + intercept over the upper envelope, t in days since ``EPOCH``.

    ``slope_lo``/``slope_hi`` and ``doubling_lo``/``doubling_hi`` are bootstrap percentile intervals
    (models resampled with replacement, the envelope and the line refitted each time).
    """

    slope_per_day: float
    intercept: float
    r2: float
    slope_lo: float
    slope_hi: float
    n_envelope: int
    n_models: int
    level: float

    @property
    def doubling_days(self) -> float:
        return float(np.log(2.0) / self.slope_per_day) if self.slope_per_day > 0 else float("inf")

    @property
    def doubling_lo(self) -> float:
        return float(np.log(2.0) / self.slope_hi) if self.slope_hi > 0 else float("inf")

    @property
    def doubling_hi(self) -> float:
        return float(np.log(2.0) / self.slope_lo) if self.slope_lo > 0 else float("inf")

    def log_density(self, t: np.ndarray | float) -> np.ndarray:
        return self.slope_per_day * np.asarray(t, dtype=float) + self.intercept

    def to_dict(self) -> dict[str, float | int]:
        return {
            "slope_per_day": self.slope_per_day,
            "intercept": self.intercept,
            "r2": self.r2,
            "slope_lo": self.slope_lo,
            "slope_hi": self.slope_hi,
            "doubling_days": self.doubling_days,
            "doubling_lo": self.doubling_lo,
            "doubling_hi": self.doubling_hi,
            "n_envelope": self.n_envelope,
            "n_models": self.n_models,
            "level": self.level,
            "epoch": EPOCH.isoformat(),
        }


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    slope, intercept = np.polyfit(t, y, 1)
    resid = y - (slope * t + intercept)
    total = ((y - y.mean()) ** 2).sum()
    return float(slope), float(intercept), float(1.0 - (resid**2).sum() / total) if total > 0 else 1.0


def fit_trend(
    t: np.ndarray,
    log_density: np.ndarray,
    *,
    n_bootstrap: int = 500,
    interval: float = 0.9,
    random_state: int = 0,
    bin_days: float | None = None,
) -> tuple[DensityTrend, np.ndarray]:
    """Fit the envelope line; returns the trend and the envelope's indices.

    Examples
    --------
    >>> t = np.arange(0.0, 700.0, 10.0)
    >>> frontier = 0.007 * t - 1.0
    >>> rng = np.random.default_rng(0)
    >>> y = frontier - rng.exponential(0.8, t.size)
    >>> y[::7] = frontier[::7]  # some models on the frontier
    >>> trend, env = fit_trend(t, y, n_bootstrap=50)
    >>> abs(trend.slope_per_day - 0.007) < 0.001
    True
    """
    t, y = np.asarray(t, dtype=float), np.asarray(log_density, dtype=float)
    env = upper_envelope(t, y, bin_days)
    if env.size < 3:
        raise ValueError(f"the density envelope has {env.size} points; a trend needs at least 3")
    slope, intercept, r2 = _line(t[env], y[env])
    rng = np.random.default_rng(random_state)
    slopes = []
    for _ in range(n_bootstrap):
        pick = rng.integers(0, t.size, t.size)
        sub = upper_envelope(t[pick], y[pick], bin_days)
        if np.unique(t[pick][sub]).size >= 3:
            slopes.append(_line(t[pick][sub], y[pick][sub])[0])
    if slopes:
        lo, hi = np.quantile(slopes, [(1 - interval) / 2, (1 + interval) / 2])
    else:
        lo = hi = float("nan")
    trend = DensityTrend(slope, intercept, r2, float(lo), float(hi), int(env.size), int(t.size), interval)
    return trend, env
