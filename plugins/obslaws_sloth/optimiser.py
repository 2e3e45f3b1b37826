"""Full-batch Adam for many independent problems at once, with the upstream Sloth schedule.

Per problem, exactly as the upstream ``fitFR`` loop does for one:

- Adam (torch's update rule, no weight decay) at the problem's own learning rate;
- ``ReduceLROnPlateau`` on the training loss (mode min, relative threshold 1e-4, patience 20,
  factor 0.95);
- the best parameters by training MAE are kept; a problem stops after 500 steps without a
  1e-5 gain in training MAE (or at ``max_steps``);
- link weights are clipped at 0 after every step.

Finished problems leave the batch, so the remaining steps get cheaper. One difference from
upstream: the kept parameters are those that produced the best MAE (upstream keeps the ones
one step later).

Why not ``torch.optim.Adam`` with ``lr_scheduler.ReduceLROnPlateau``: they hold one learning
rate and one plateau state per parameter group, so hundreds of independent problems would need
a group each, stepped in a Python loop, and a finished problem could not leave the batch; the
upstream-style loop built on them is 20x slower per fold (``scripts/bench/bench_sloth.py``).
``tests/test_sloth.py`` checks this loop against them, step for step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from obslaws_sloth.design import Batch


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings (upstream defaults)."""

    lr_factor: float = 0.95
    lr_patience: int = 20
    lr_threshold: float = 1e-4
    stop_patience: int = 500
    stop_tol: float = 1e-5
    max_steps: int = 100_000
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    huber_beta: float = 0.01
    # True: the learning rate follows a cosine from its start to 0 over max_steps, in place of
    # ReduceLROnPlateau (an option for the full stage: SlothFitter.full_schedule).
    cosine: bool = False


@dataclass
class Result:
    """Best parameters (P, T), their training MAE (P,) and the steps each problem ran (P,)."""

    params: torch.Tensor
    mae: torch.Tensor
    steps: torch.Tensor


LossFn = Callable[[torch.Tensor, Batch], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@dataclass
class _Running:
    """The state of the problems still running; row i belongs to problem ``origin[i]``."""

    origin: torch.Tensor
    params: torch.Tensor
    best: torch.Tensor
    best_mae: torch.Tensor
    stall: torch.Tensor
    plateau_best: torch.Tensor
    plateau_bad: torch.Tensor
    lr: torch.Tensor
    start_lr: torch.Tensor
    m: torch.Tensor
    v: torch.Tensor
    trainable: torch.Tensor

    @classmethod
    def start(cls, flat: torch.Tensor, lr: torch.Tensor, trainable: torch.Tensor) -> _Running:
        total = flat.shape[0]
        params = flat.detach().clone()
        inf = torch.full((total,), float("inf"), dtype=flat.dtype)
        zeros = torch.zeros(total, dtype=torch.long)
        return cls(
            origin=torch.arange(total),
            params=params,
            best=params.clone(),
            best_mae=inf.clone(),
            stall=zeros.clone(),
            plateau_best=inf.clone(),
            plateau_bad=zeros.clone(),
            lr=lr.detach().to(params.dtype).clone(),
            start_lr=lr.detach().to(params.dtype).clone(),
            m=torch.zeros_like(params),
            v=torch.zeros_like(params),
            trainable=trainable.to(params.dtype).expand_as(params).clone(),
        )

    def keep(self, rows: torch.Tensor) -> None:
        """Drop every problem whose entry in the boolean ``rows`` is False."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name)[rows])


def _adam_step(run: _Running, grad: torch.Tensor, step: int, s: Schedule, nonneg: torch.Tensor) -> None:
    """torch's Adam update at each problem's own learning rate, then the clip at 0."""
    grad.mul_(run.trainable)
    run.m.lerp_(grad, 1 - s.beta1)
    run.v.mul_(s.beta2).addcmul_(grad, grad, value=1 - s.beta2)
    denom = (run.v.sqrt() / (1 - s.beta2**step) ** 0.5).add_(s.eps)
    run.params.addcdiv_(run.m * (run.lr / (1 - s.beta1**step)).unsqueeze(1), denom, value=-1.0)
    run.params.masked_fill_(nonneg & (run.params < 0), 0.0)


def _cosine_lr(run: _Running, step: int, s: Schedule) -> None:
    """The cosine schedule's learning rate for ``step`` (1-based), as the compiled kernel's."""
    run.lr = run.start_lr * (0.5 + 0.5 * math.cos(math.pi * (step - 1) / s.max_steps))


def _plateau_step(run: _Running, loss: torch.Tensor, s: Schedule) -> None:
    """``ReduceLROnPlateau`` (mode min, relative threshold) per problem."""
    better = loss < run.plateau_best * (1 - s.lr_threshold)
    run.plateau_best = torch.where(better, loss, run.plateau_best)
    run.plateau_bad = torch.where(better, 0, run.plateau_bad + 1)
    cut = run.plateau_bad > s.lr_patience
    run.lr = torch.where(cut & (run.lr * (1 - s.lr_factor) > 1e-8), run.lr * s.lr_factor, run.lr)
    run.plateau_bad = torch.where(cut, 0, run.plateau_bad)


def optimise(
    flat: torch.Tensor,
    batch: Batch,
    lr: torch.Tensor,
    loss_fn: LossFn,
    trainable: torch.Tensor,
    nonnegative: torch.Tensor,
    schedule: Schedule | None = None,
) -> Result:
    """Minimise ``loss_fn`` for every row of ``flat`` (P, T) independently.

    Parameters
    ----------
    flat:
        Starting parameters, one row per problem (not modified).
    batch:
        The problems' data; row p of every tensor belongs to problem p.
    lr:
        Initial learning rate per problem, shape (P,).
    loss_fn:
        ``loss_fn(flat, batch) -> (loss, mae, grad)``: the loss to minimise and the error that
        decides the best parameters and early stopping, both shape (P,), and the gradient of
        the loss, shape (P, T) (:func:`obslaws_sloth.gradient.huber_mae_grad`).
    trainable:
        0/1 mask, shape (T,) or (P, T): entries with 0 never move.
    nonnegative:
        0/1 mask, shape (T,): entries clipped at 0 after each step.
    """
    s = schedule or Schedule()
    total = flat.shape[0]
    out = Result(
        flat.detach().clone(),
        torch.full((total,), float("inf"), dtype=flat.dtype),
        torch.zeros(total, dtype=torch.long),
    )
    run = _Running.start(flat, lr, trainable)
    nonneg = nonnegative.to(torch.bool)

    for step in range(1, s.max_steps + 1):
        with torch.no_grad():
            loss, mae, grad = loss_fn(run.params, batch)
            improved = run.best_mae > mae + s.stop_tol
            run.best = torch.where(improved.unsqueeze(1), run.params, run.best)
            run.best_mae = torch.where(improved, mae, run.best_mae)
            run.stall = torch.where(improved, 0, run.stall + 1)
            if s.cosine:
                _cosine_lr(run, step, s)
            _adam_step(run, grad, step, s, nonneg)
            if not s.cosine:
                _plateau_step(run, loss, s)

            done = run.stall >= s.stop_patience
            if step == s.max_steps:
                done = torch.ones_like(done)
            if bool(done.any()):
                idx = run.origin[done]
                out.params[idx] = run.best[done]
                out.mae[idx] = run.best_mae[done]
                out.steps[idx] = step
                keep = ~done
                if not bool(keep.any()):
                    break
                run.keep(keep)
                batch = batch.take(keep.nonzero().squeeze(1))
    return out
