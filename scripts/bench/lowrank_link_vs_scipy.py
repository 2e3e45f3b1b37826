"""Why lowrank's link keeps its hand-written optimiser: the batched, box-constrained
Levenberg-Marquardt of ``obslaws_lowrank.link`` against ``scipy.optimize.least_squares`` (one
call per problem, the same bounds in the same standardised coordinates), from the same starts
on the same problems, timed in the same process. Both reach the same objective.

    python scripts/bench/lowrank_link_vs_scipy.py
"""

from __future__ import annotations

import time

import numpy as np
from obslaws_lowrank.link import fit_link_batch, starting_points
from scipy.optimize import least_squares
from scipy.special import expit

BOUNDS = {"floor_max": 0.2, "max_slope": 10.0, "max_logit": 20.0}


def fit_with_scipy(x: np.ndarray, y: np.ndarray, starts: np.ndarray, weights: np.ndarray | None = None):
    """Objectives (weighted mean squared error) of one least_squares fit per start."""
    centre, sd = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    x1 = np.column_stack([np.ones(len(x)), (x - centre) / sd])
    n_par = starts.shape[1]
    lower = np.r_[-BOUNDS["max_logit"], np.full(n_par - 2, -BOUNDS["max_slope"]), 0.0]
    upper = np.r_[BOUNDS["max_logit"], np.full(n_par - 2, BOUNDS["max_slope"]), BOUNDS["floor_max"]]
    w = np.ones((len(starts), len(y))) if weights is None else weights
    w = w / w.sum(axis=1, keepdims=True)
    theta = starts.astype(float).copy()
    theta[:, 0] += theta[:, 1:-1] @ centre
    theta[:, 1:-1] *= sd
    theta = np.clip(theta, lower + 1e-12, upper - 1e-12)
    losses = []
    for start, row_w in zip(theta, w, strict=True):
        root_w = np.sqrt(row_w)

        def residuals(t: np.ndarray, root_w: np.ndarray = root_w) -> np.ndarray:
            return ((1 - t[-1]) * expit(x1 @ t[:-1]) + t[-1] - y) * root_w

        fit = least_squares(residuals, start, bounds=(lower, upper), method="trf", xtol=1e-10, ftol=1e-10)
        losses.append(2 * fit.cost)
    return np.array(losses)


def main() -> None:
    rng = np.random.default_rng(0)
    n, k = 47, 3  # the paper's compute cut-off: 47 training models, 3 capabilities
    x = rng.normal(size=(n, k)) * [3.0, 1.0, 0.5]
    y = np.clip(0.05 + 0.9 * expit(0.5 + x @ [0.8, 1.5, -1.0]) + rng.normal(0, 0.03, n), 0, 1)
    starts = starting_points(x, y, 4, np.random.default_rng(0))
    boot_weights = rng.multinomial(n, np.full(n, 1 / n), size=200).astype(float)
    boot_starts = np.repeat(starts[:1], 200, axis=0)
    runs = {
        "batched LM": lambda s, w: fit_link_batch(x, y, s, weights=w, **BOUNDS)[1],
        "least_squares": lambda s, w: fit_with_scipy(x, y, s, w),
    }
    for label, run in runs.items():
        t0 = time.perf_counter()
        start_losses = run(starts, None)
        t1 = time.perf_counter()
        boot_losses = run(boot_starts, boot_weights)
        t2 = time.perf_counter()
        print(
            f"{label:14s} {len(starts)} starts {1e3 * (t1 - t0):8.1f} ms, best objective {start_losses.min():.8e}; "
            f"200 bootstrap refits {1e3 * (t2 - t1):8.1f} ms, mean objective {boot_losses.mean():.8e}"
        )


if __name__ == "__main__":
    main()
