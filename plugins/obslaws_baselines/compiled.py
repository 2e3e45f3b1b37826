"""The sigmoid engine's step on the compiled kernel (:mod:`.kernel`): the numpy step's results, to the bit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from obslaws.fitting.kernels import kernel_loads

from .engine import ADAM_BETAS, ADAM_EPS, NAMES, PLATEAU_THRESHOLD, _Batch, _Law, sigmoid


def compiled_step(batch: _Batch, law: _Law, t: int, schedule: tuple[int, float, float]) -> None:
    """:func:`.engine.numpy_step` with its arithmetic in :mod:`.kernel`: the same results, to the bit."""
    from .kernel import half_logits, loss_grad_adam

    lr_patience, lr_factor, tol = schedule
    args = _KernelArgs.of(batch)
    params, (x, family, _, _, _) = batch.params, args.data
    half_logits(x, family, params["w"], params["a"], params["b"], params["s"], args.u, args.half_z, args.by_problem)
    tanh_z = np.tanh(args.half_z, out=args.half_z)  # numpy's own tanh: see the kernel's docstring
    g = sigmoid(params["g"]) if law.free_floor else batch.fixed_g
    beta1, beta2 = ADAM_BETAS
    adam = (1 - beta1**t, float(np.sqrt(1 - beta2**t)), beta1, 1 - beta1, beta2, 1 - beta2, ADAM_EPS)
    schedule_row = (1 - PLATEAU_THRESHOLD, float(lr_patience), float(lr_factor), float(tol))
    loss_grad_adam(
        args.data, tanh_z, args.u, g, float(law.huber_delta), args.params, args.moments, adam,
        (*schedule_row, float(law.free_floor), float(args.by_problem)), args.state, args.best, args.loss, args.mae,
    )  # fmt: skip


@dataclass
class _KernelArgs:
    """The kernel's views of a batch's arrays and its scratch buffers, built once per set of
    running problems (:meth:`_Batch.keep` replaces every array) instead of once per step."""

    owner: tuple[np.ndarray, ...]  # the batch's arrays these were built from (kept alive: compared by identity)
    by_problem: bool
    data: tuple[np.ndarray, ...]
    params: tuple[np.ndarray, ...]
    moments: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]
    best: tuple[np.ndarray, ...]
    state: tuple[np.ndarray, ...]
    u: np.ndarray
    half_z: np.ndarray
    loss: np.ndarray
    mae: np.ndarray

    @staticmethod
    def _arrays(batch: _Batch) -> tuple[np.ndarray, ...]:
        state = (batch.lr, batch.plateau_best, batch.plateau_bad, batch.best_mae, batch.bad_steps, batch.steps)
        dicts = (batch.params, batch.m1, batch.m2, batch.best)
        return (batch.x, batch.family, batch.yt, batch.mask, batch.count, *state, *(d[k] for d in dicts for k in NAMES))

    @classmethod
    def of(cls, batch: _Batch) -> _KernelArgs:
        """The batch's arguments, reused while every array of it is the one they were built from."""
        cached = getattr(batch, "_kernel_args", None)
        if cached is not None and all(a is b for a, b in zip(cached.owner, cls._arrays(batch), strict=True)):
            return cached
        n_prob = batch.lr.size
        # numpy sums a C-ordered (n, P) array over axis 0 model after model, and the Fortran-ordered
        # arrays that ``keep`` leaves (or a single problem's) pairwise: the kernel does as numpy would.
        by_problem = batch.x.strides[0] == batch.x.itemsize
        model_arrays = [batch.x, batch.family, batch.yt, batch.mask]
        x, family, yt, mask = (np.ascontiguousarray(a.T if by_problem else a) for a in model_arrays)
        params, m1, m2, best = (_columns(d, n_prob) for d in (batch.params, batch.m1, batch.m2, batch.best))
        state = (batch.lr, batch.plateau_best, batch.plateau_bad, batch.best_mae, batch.bad_steps, batch.steps)
        built = cls(
            (), by_problem, (x, family, yt, mask, batch.count), params, (m1, m2), best, state,
            np.empty(x.shape), np.empty(x.shape), np.empty(n_prob), np.empty(n_prob),
        )  # fmt: skip
        built.owner = cls._arrays(batch)  # after _columns, which may have made them C-ordered
        batch._kernel_args = built  # type: ignore[attr-defined]
        return built


def _columns(values: dict[str, np.ndarray], n_prob: int) -> tuple[np.ndarray, ...]:
    """The parameters ``NAMES`` as C-ordered (P, width) views, the layout the kernel takes (the
    kernel writes through them, so ``values`` is made to hold C-ordered arrays first)."""
    for k in NAMES:
        values[k] = np.ascontiguousarray(values[k])
    return tuple(values[k].reshape(n_prob, -1) for k in NAMES)


def kernel_available() -> bool:
    """Whether the compiled step loads (numba refuses a module where it finds no place for its cache)."""
    return kernel_loads("obslaws_baselines.kernel", "baselines", "numpy")
