"""A batched, deterministic reimplementation of the Sloth paper's optimiser for sigmoid laws.

Fits many independent problems at once (every benchmark x every learning rate), each

    y_hat = g + (1 - g) * sigmoid(s * (w * x + a[family]) + b),    g = sigmoid(raw_g)

with the upstream recipe (Polo et al. 2024, ``sloth.fitFR``): full-batch Adam on the mean
Huber loss (PyTorch's SmoothL1Loss with beta = delta), the learning rate times ``lr_factor``
after ``lr_patience`` steps without improvement of the loss (``ReduceLROnPlateau``), stop
after ``patience`` steps without a ``tol`` gain in the training MAE, keep the parameters of the
best training MAE, and choose the learning rate per problem by that MAE.

Problems are independent: batching them into one array program changes no result (Adam is
element-wise); finished problems are frozen, and the loop stops when all are.

Hand-written rather than ``torch.optim.Adam`` + ``ReduceLROnPlateau`` (as in
:mod:`obslaws_sloth.optimiser`): those keep one learning rate and plateau state per parameter
group, not per problem, and this plugin stays torch-free (``tests/test_lazy_imports.py``) with
an analytic gradient for its five-parameter law.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
PLATEAU_THRESHOLD = 1e-4  # ReduceLROnPlateau's default relative threshold


def logit(p: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return np.log((p + eps) / (1 - p + eps))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass
class SigmoidFit:
    """Best parameters per benchmark (after choosing the learning rate)."""

    slope: np.ndarray  # (J,)      effective slope s * w
    offsets: np.ndarray  # (J, F)  effective intercept s * a_f + b per family
    floor: np.ndarray  # (J,)      lower asymptote g
    lr: np.ndarray  # (J,)         chosen learning rate
    train_mae: np.ndarray  # (J,)  best training MAE
    steps: np.ndarray  # (J,)      steps run for the chosen learning rate


def fit_sigmoids(
    x: np.ndarray,
    family: np.ndarray,
    n_families: int,
    y: np.ndarray,
    observed: np.ndarray,
    chance: np.ndarray,
    *,
    lrs: tuple[float, ...] = (0.1, 0.01, 0.001),
    huber_delta: float = 0.01,
    learn_floor: bool = True,
    patience: int = 500,
    tol: float = 1e-5,
    lr_patience: int = 20,
    lr_factor: float = 0.95,
    max_steps: int = 100_000,
    init: dict[str, np.ndarray] | None = None,
) -> SigmoidFit:
    """Fit every column of ``y`` (n models x J benchmarks) at every learning rate; keep the best.

    ``x`` (n,) is the covariate, ``family`` (n,) integer codes in [0, n_families), ``observed``
    (n, J) marks the cells to fit, ``chance`` (J,) the lower asymptotes: learned from
    ``logit(chance)`` (with the upstream epsilon 1e-5, so a chance of 0 starts at about 1e-5,
    not at minus infinity) when ``learn_floor``, else fixed. ``init`` gives starting values
    ``w, a (F,), b``.
    """
    n, n_bench = y.shape
    lr0 = np.asarray(lrs, dtype=float)
    n_lr = lr0.size
    n_prob = n_lr * n_bench  # problem p = (learning rate p // J, benchmark p % J)
    bench = np.tile(np.arange(n_bench), n_lr)
    init = init or {}
    chance = np.asarray(chance, dtype=float)
    params = {
        "w": np.full(n_prob, float(init.get("w", 1.0))),
        "a": np.broadcast_to(np.asarray(init.get("a", np.zeros(n_families)), dtype=float), (n_prob, n_families)).copy(),
        "b": np.full(n_prob, float(init.get("b", 0.0))),
        "s": np.ones(n_prob),
        "g": logit(chance)[bench],
    }
    names = tuple(params)
    onehot = np.zeros((n, n_families))
    onehot[np.arange(n), family] = 1.0
    obs = observed.T.astype(float)  # (J, n)
    yt_all = np.where(observed, y, 0.0).T  # (J, n)
    count_all = np.maximum(obs.sum(axis=1), 1.0)  # (J,)
    free = bool(learn_floor)
    beta1, beta2 = ADAM_BETAS

    # Working set: the problems still running (rows of every array below).
    ids = np.arange(n_prob)
    yt, mask, count = yt_all[bench], obs[bench], count_all[bench]
    fixed_g = chance[bench]
    lr = np.repeat(lr0, n_bench)
    m1 = {k: np.zeros_like(v) for k, v in params.items()}
    m2 = {k: np.zeros_like(v) for k, v in params.items()}
    best = {k: v.copy() for k, v in params.items()}
    best_mae = np.full(n_prob, np.inf)
    bad_steps = np.zeros(n_prob, dtype=int)
    plateau_best = np.full(n_prob, np.inf)
    plateau_bad = np.zeros(n_prob, dtype=int)
    steps = np.zeros(n_prob, dtype=int)
    # Final results, filled as problems finish.
    out_best = {k: v.copy() for k, v in params.items()}
    out_mae = np.full(n_prob, np.inf)
    out_steps = np.zeros(n_prob, dtype=int)

    for t in range(1, max_steps + 1):
        w, a, b, s, raw_g = (params[k] for k in names)
        g = sigmoid(raw_g) if free else fixed_g  # (P,)
        u = w[:, None] * x[None, :] + a[:, family]  # (P, n)
        sg = sigmoid(s[:, None] * u + b[:, None])
        r = (g[:, None] + (1 - g[:, None]) * sg - yt) * mask
        abs_r = np.abs(r)
        quad = abs_r < huber_delta
        loss = np.where(quad, (0.5 / huber_delta) * r * r, abs_r - 0.5 * huber_delta).sum(axis=1) / count
        mae = abs_r.sum(axis=1) / count
        # gradients of the mean SmoothL1 loss
        d_yhat = np.where(quad, r * (1.0 / huber_delta), np.sign(r)) * (mask / count[:, None])
        d_z = d_yhat * (1 - g[:, None]) * sg * (1 - sg)
        d_zs = d_z * s[:, None]
        grads = {
            "w": d_zs @ x,
            "a": d_zs @ onehot,
            "b": d_z.sum(axis=1),
            "s": (d_z * u).sum(axis=1),
            "g": ((d_yhat * (1 - sg)).sum(axis=1) * g * (1 - g)) if free else np.zeros_like(g),
        }
        # Adam step
        step_size = lr / (1 - beta1**t)
        root_bc2 = np.sqrt(1 - beta2**t)
        for k in names:
            grad = grads[k]
            m1[k] = beta1 * m1[k] + (1 - beta1) * grad
            m2[k] = beta2 * m2[k] + (1 - beta2) * grad * grad
            ss = step_size if params[k].ndim == 1 else step_size[:, None]
            params[k] = params[k] - ss * m1[k] / (np.sqrt(m2[k]) / root_bc2 + ADAM_EPS)
        steps += 1
        # ReduceLROnPlateau on the loss
        better = loss < plateau_best * (1 - PLATEAU_THRESHOLD)
        plateau_best = np.where(better, loss, plateau_best)
        plateau_bad = np.where(better, 0, plateau_bad + 1)
        reduce = plateau_bad > lr_patience
        if reduce.any():
            lr = np.where(reduce, lr * lr_factor, lr)
            plateau_bad = np.where(reduce, 0, plateau_bad)
        # early stopping on the training MAE; keep the parameters (after the step, as upstream)
        improved = best_mae > mae + tol
        if improved.any():
            for k in names:
                sel = improved if params[k].ndim == 1 else improved[:, None]
                best[k] = np.where(sel, params[k], best[k])
            best_mae = np.where(improved, mae, best_mae)
        bad_steps = np.where(improved, 0, bad_steps + 1)
        done = bad_steps >= patience
        if t == max_steps:
            done[:] = True
        if done.any():
            finished = ids[done]
            for k in names:
                out_best[k][finished] = best[k][done]
            out_mae[finished] = best_mae[done]
            out_steps[finished] = steps[done]
            keep = ~done
            if not keep.any():
                break
            ids, yt, mask, count, fixed_g, lr = ids[keep], yt[keep], mask[keep], count[keep], fixed_g[keep], lr[keep]
            for state in (params, m1, m2, best):
                for k in names:
                    state[k] = state[k][keep]
            best_mae, bad_steps, steps = best_mae[keep], bad_steps[keep], steps[keep]
            plateau_best, plateau_bad = plateau_best[keep], plateau_bad[keep]

    mae_grid = out_mae.reshape(n_lr, n_bench)
    choice = np.argmin(mae_grid, axis=0)  # first learning rate wins ties
    cols = np.arange(n_bench)
    chosen = choice * n_bench + cols
    pick = {k: v[chosen] for k, v in out_best.items()}
    g = sigmoid(pick["g"]) if free else chance
    return SigmoidFit(
        slope=pick["s"] * pick["w"],
        offsets=pick["s"][:, None] * pick["a"] + pick["b"][:, None],
        floor=g,
        lr=lr0[choice],
        train_mae=mae_grid[choice, cols],
        steps=out_steps[chosen],
    )
