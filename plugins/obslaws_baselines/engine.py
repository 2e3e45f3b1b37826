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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass
class SigmoidSet:
    """One data set to fit (a backtest fold): ``n`` models, ``J`` benchmarks, ``F`` families."""

    x: np.ndarray  # (n,) covariate
    family: np.ndarray  # (n,) integer codes in [0, n_families)
    n_families: int
    y: np.ndarray  # (n, J) targets
    observed: np.ndarray  # (n, J) cells to fit
    chance: np.ndarray  # (J,) lower asymptotes
    init: dict[str, np.ndarray]  # starting values w, a (F,), b


def fit_sigmoids(
    x: np.ndarray,
    family: np.ndarray,
    n_families: int,
    y: np.ndarray,
    observed: np.ndarray,
    chance: np.ndarray,
    *,
    init: dict[str, np.ndarray] | None = None,
    **options: Any,
) -> SigmoidFit:
    """Fit every column of ``y`` (n models x J benchmarks) at every learning rate; keep the best.

    ``x`` (n,) is the covariate, ``family`` (n,) integer codes in [0, n_families), ``observed``
    (n, J) marks the cells to fit, ``chance`` (J,) the lower asymptotes: learned from
    ``logit(chance)`` (with the upstream epsilon 1e-5, so a chance of 0 starts at about 1e-5,
    not at minus infinity) when ``learn_floor``, else fixed. ``init`` gives starting values
    ``w, a (F,), b``. ``options`` are those of :func:`fit_sigmoid_sets`.
    """
    data = SigmoidSet(x, family, n_families, y, observed, np.asarray(chance, dtype=float), init or {})
    return fit_sigmoid_sets([data], **options)[0]


def fit_sigmoid_sets(
    sets: Sequence[SigmoidSet],
    *,
    lrs: tuple[float, ...] = (0.1, 0.01, 0.001),
    huber_delta: float = 0.01,
    learn_floor: bool = True,
    patience: int = 500,
    tol: float = 1e-5,
    lr_patience: int = 20,
    lr_factor: float = 0.95,
    max_steps: int = 100_000,
    compiled: bool | None = None,
) -> list[SigmoidFit]:
    """:func:`fit_sigmoids` for several data sets (a backtest's folds) in one batched program.

    Problems are (set, learning rate, benchmark); each has its own models, padded to the largest
    set with mask 0. Sums over models add in order (see ``_COLUMNS``), so padding adds exact
    zeros and each set's results equal fitting it alone, to the bit, while every problem runs;
    once :meth:`_Batch.keep` has dropped finished ones, the arrays it leaves are Fortran-ordered
    and numpy sums them pairwise, where padding can move a last bit.

    ``compiled`` runs each step's arithmetic in :mod:`.kernel` (numba), which gives the numpy
    step's results to the bit in less than half its time; None: when numba loads.
    """
    lr0 = np.asarray(lrs, dtype=float)
    batch = _Batch.start(sets, lr0)
    law = _Law(huber_delta, learn_floor)
    finished = _Finished(batch)
    from .compiled import compiled_step, kernel_available

    step = compiled_step if (kernel_available() if compiled is None else compiled) else numpy_step
    for t in range(1, max_steps + 1):
        step(batch, law, t, (lr_patience, lr_factor, tol))
        done = batch.bad_steps >= patience
        if t == max_steps:
            done[:] = True
        if done.any():
            finished.take(batch, done)
            if done.all():
                break
            batch.keep(~done)
    return finished.choose(lr0, sets, learn_floor)


def numpy_step(batch: _Batch, law: _Law, t: int, schedule: tuple[int, float, float]) -> None:
    """One optimiser step of every running problem, in numpy."""
    lr_patience, lr_factor, tol = schedule
    loss, mae, grads = law.loss_and_gradients(batch)
    batch.adam_step(grads, t)
    batch.reduce_on_plateau(loss, lr_patience, lr_factor)
    batch.track_best(mae, tol)


@dataclass
class _Law:
    """The sigmoid law and its mean Huber loss (SmoothL1), with the analytic gradient."""

    huber_delta: float
    free_floor: bool

    def loss_and_gradients(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(loss, training MAE, gradient per parameter), one row per running problem."""
        w, a, b, s, raw_g = (batch.params[k] for k in NAMES)
        delta, count, x = self.huber_delta, batch.count, batch.x
        g = sigmoid(raw_g) if self.free_floor else batch.fixed_g  # (P,)
        u = w * x + a[np.arange(a.shape[0]), batch.family]  # (n, P)
        sg = sigmoid(s * u + b)
        r = (g + (1 - g) * sg - batch.yt) * batch.mask
        abs_r = np.abs(r)
        quad = abs_r < delta
        loss = np.where(quad, (0.5 / delta) * r * r, abs_r - 0.5 * delta).sum(axis=0) / count
        mae = abs_r.sum(axis=0) / count
        d_yhat = np.where(quad, r * (1.0 / delta), np.sign(r)) * (batch.mask / count)
        d_z = d_yhat * (1 - g) * sg * (1 - sg)
        d_zs = d_z * s
        grads = {
            "w": (d_zs * x).sum(axis=0),
            "a": _family_sums(d_zs, batch.family, a.shape[1]),
            "b": d_z.sum(axis=0),
            "s": (d_z * u).sum(axis=0),
            "g": ((d_yhat * (1 - sg)).sum(axis=0) * g * (1 - g)) if self.free_floor else np.zeros_like(g),
        }
        return loss, mae, grads


def _family_sums(values: np.ndarray, family: np.ndarray, n_families: int) -> np.ndarray:
    """Per problem, the sums of ``values`` (n, P) over each family code in ``family`` (n, P): (P, F)."""
    n_prob = values.shape[1]
    index = family + np.arange(n_prob) * n_families
    return np.bincount(index.ravel(), weights=values.ravel(), minlength=n_prob * n_families).reshape(n_prob, n_families)


NAMES = ("w", "a", "b", "s", "g")
# The per-problem arrays of a _Batch other than the parameter dicts; all shrink together.
_ROWS = (
    "ids", "x", "family", "yt", "mask", "count", "fixed_g", "lr",
    "best_mae", "bad_steps", "plateau_best", "plateau_bad", "steps",
)  # fmt: skip
# Those laid out (models, problems): sums over the models' axis 0 add in order, row after row,
# so padding a fold with zero rows changes no bit (``sum`` along a row adds pairwise, in an order
# that depends on the row's length; early stopping can turn such last-bit drifts into other steps).
_COLUMNS = ("x", "family", "yt", "mask")


def _pad(rows: np.ndarray, width: int) -> np.ndarray:
    """``rows`` (R, n) padded with zeros to (R, width)."""
    out = np.zeros((rows.shape[0], width), dtype=rows.dtype)
    out[:, : rows.shape[1]] = rows
    return out


def _set_rows(data: SigmoidSet, lr0: np.ndarray, n_max: int, f_max: int) -> dict[str, np.ndarray]:
    """The per-problem starting rows of one set (problem p: learning rate p // J, benchmark p % J)."""
    n_bench = data.y.shape[1]
    n_prob = lr0.size * n_bench
    bench = np.tile(np.arange(n_bench), lr0.size)
    init = data.init
    a0 = np.zeros(f_max)
    a0[: data.n_families] = np.asarray(init.get("a", np.zeros(data.n_families)), dtype=float)
    obs = data.observed.T.astype(float)  # (J, n)
    chance = np.asarray(data.chance, dtype=float)
    return {
        "x": np.broadcast_to(_pad(np.asarray(data.x, dtype=float)[None, :], n_max).T, (n_max, n_prob)),
        "family": np.broadcast_to(_pad(np.asarray(data.family, dtype=np.intp)[None, :], n_max).T, (n_max, n_prob)),
        "yt": _pad(np.where(data.observed, data.y, 0.0).T, n_max)[bench].T,
        "mask": _pad(obs, n_max)[bench].T,
        "count": np.maximum(obs.sum(axis=1), 1.0)[bench],
        "fixed_g": chance[bench],
        "lr": np.repeat(lr0, n_bench),
        "w": np.full(n_prob, float(init.get("w", 1.0))),
        "a": np.broadcast_to(a0, (n_prob, f_max)),
        "b": np.full(n_prob, float(init.get("b", 0.0))),
        "g": logit(chance)[bench],
    }


@dataclass
class _Batch:
    """The problems still running, one row per problem (ordered by set, learning rate, benchmark)."""

    ids: np.ndarray
    x: np.ndarray  # (n, P) covariate, 0 where padded
    family: np.ndarray  # (n, P) family codes, 0 where padded
    yt: np.ndarray  # (n, P) targets, 0 where unobserved
    mask: np.ndarray  # (n, P) observed
    count: np.ndarray  # observed cells
    fixed_g: np.ndarray  # the floor when it is not learned
    lr: np.ndarray
    params: dict[str, np.ndarray]
    m1: dict[str, np.ndarray]  # Adam's moments
    m2: dict[str, np.ndarray]
    best: dict[str, np.ndarray]  # parameters at the best training MAE
    best_mae: np.ndarray
    bad_steps: np.ndarray  # steps since the MAE last improved by tol
    plateau_best: np.ndarray  # ReduceLROnPlateau's best loss and steps since
    plateau_bad: np.ndarray
    steps: np.ndarray

    @classmethod
    def start(cls, sets: Sequence[SigmoidSet], lr0: np.ndarray) -> _Batch:
        n_max = max(data.x.size for data in sets)
        f_max = max(data.n_families for data in sets)
        parts = [_set_rows(data, lr0, n_max, f_max) for data in sets]
        rows = {
            key: np.concatenate([part[key] for part in parts], axis=-1 if key in _COLUMNS else 0) for key in parts[0]
        }
        rows.update({key: np.ascontiguousarray(rows[key]) for key in _COLUMNS})
        n_prob = rows["lr"].size
        params = {k: rows.pop(k) for k in ("w", "a", "b", "g")}
        params["s"] = np.ones(n_prob)
        params = {k: params[k] for k in NAMES}
        return cls(
            ids=np.arange(n_prob),
            **rows,
            params=params,
            m1={k: np.zeros_like(v) for k, v in params.items()},
            m2={k: np.zeros_like(v) for k, v in params.items()},
            best={k: v.copy() for k, v in params.items()},
            best_mae=np.full(n_prob, np.inf),
            bad_steps=np.zeros(n_prob, dtype=int),
            plateau_best=np.full(n_prob, np.inf),
            plateau_bad=np.zeros(n_prob, dtype=int),
            steps=np.zeros(n_prob, dtype=int),
        )

    def adam_step(self, grads: dict[str, np.ndarray], t: int) -> None:
        beta1, beta2 = ADAM_BETAS
        step_size = self.lr / (1 - beta1**t)
        root_bc2 = np.sqrt(1 - beta2**t)
        for k in NAMES:
            grad = grads[k]
            self.m1[k] = beta1 * self.m1[k] + (1 - beta1) * grad
            self.m2[k] = beta2 * self.m2[k] + (1 - beta2) * grad * grad
            ss = step_size if self.params[k].ndim == 1 else step_size[:, None]
            self.params[k] = self.params[k] - ss * self.m1[k] / (np.sqrt(self.m2[k]) / root_bc2 + ADAM_EPS)
        self.steps += 1

    def reduce_on_plateau(self, loss: np.ndarray, lr_patience: int, lr_factor: float) -> None:
        better = loss < self.plateau_best * (1 - PLATEAU_THRESHOLD)
        self.plateau_best = np.where(better, loss, self.plateau_best)
        self.plateau_bad = np.where(better, 0, self.plateau_bad + 1)
        reduce = self.plateau_bad > lr_patience
        if reduce.any():
            self.lr = np.where(reduce, self.lr * lr_factor, self.lr)
            self.plateau_bad = np.where(reduce, 0, self.plateau_bad)

    def track_best(self, mae: np.ndarray, tol: float) -> None:
        """Early stopping on the training MAE; keeps the parameters after the step, as upstream."""
        improved = self.best_mae > mae + tol
        if improved.any():
            for k in NAMES:
                sel = improved if self.params[k].ndim == 1 else improved[:, None]
                self.best[k] = np.where(sel, self.params[k], self.best[k])
            self.best_mae = np.where(improved, mae, self.best_mae)
        self.bad_steps = np.where(improved, 0, self.bad_steps + 1)

    def keep(self, rows: np.ndarray) -> None:
        """Only ``rows`` go on running."""
        for name in _ROWS:
            setattr(self, name, getattr(self, name)[..., rows])
        for state in (self.params, self.m1, self.m2, self.best):
            for k in NAMES:
                state[k] = state[k][rows]


class _Finished:
    """The results of the problems that finished, by problem id."""

    def __init__(self, batch: _Batch) -> None:
        self.best = {k: v.copy() for k, v in batch.params.items()}
        self.mae = np.full(batch.ids.size, np.inf)
        self.steps = np.zeros(batch.ids.size, dtype=int)

    def take(self, batch: _Batch, done: np.ndarray) -> None:
        finished = batch.ids[done]
        for k in NAMES:
            self.best[k][finished] = batch.best[k][done]
        self.mae[finished] = batch.best_mae[done]
        self.steps[finished] = batch.steps[done]

    def choose(self, lr0: np.ndarray, sets: Sequence[SigmoidSet], free_floor: bool) -> list[SigmoidFit]:
        """Per set and benchmark, the learning rate of the best training MAE (the first wins ties)."""
        fits, first = [], 0
        for data in sets:
            n_bench = data.y.shape[1]
            ids = slice(first, first + lr0.size * n_bench)
            first = ids.stop
            mae_grid = self.mae[ids].reshape(lr0.size, n_bench)
            choice = np.argmin(mae_grid, axis=0)
            cols = np.arange(n_bench)
            chosen = ids.start + choice * n_bench + cols
            pick = {k: v[chosen] for k, v in self.best.items()}
            offsets = pick["s"][:, None] * pick["a"] + pick["b"][:, None]
            fits.append(
                SigmoidFit(
                    slope=pick["s"] * pick["w"],
                    offsets=offsets[:, : data.n_families],
                    floor=sigmoid(pick["g"]) if free_floor else np.asarray(data.chance, dtype=float),
                    lr=lr0[choice],
                    train_mae=mae_grid[choice, cols],
                    steps=self.steps[chosen],
                )
            )
        return fits
