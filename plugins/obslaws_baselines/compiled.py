"""The sigmoid engine's step on the compiled kernel (:mod:`.kernel`): the numpy step's results, to the bit."""

from __future__ import annotations

import numpy as np

from obslaws.fitting.kernels import kernel_loads

from .engine import ADAM_BETAS, ADAM_EPS, NAMES, PLATEAU_THRESHOLD, _Batch, _Law, sigmoid


def compiled_step(batch: _Batch, law: _Law, t: int, schedule: tuple[int, float, float]) -> None:
    """:func:`.engine.numpy_step` with its arithmetic in :mod:`.kernel`: the same results, to the bit."""
    from .kernel import half_logits, loss_grad_adam

    lr_patience, lr_factor, tol = schedule
    params, n_prob = batch.params, batch.lr.size
    # numpy sums a C-ordered (n, P) array over axis 0 model after model, and the Fortran-ordered
    # arrays that ``keep`` leaves (or a single problem's) pairwise: the kernel does as numpy would.
    by_problem = batch.x.strides[0] == batch.x.itemsize
    model_arrays = [batch.x, batch.family, batch.yt, batch.mask]
    x, family, yt, mask = (np.ascontiguousarray(a.T if by_problem else a) for a in model_arrays)
    u, half_z = np.empty(x.shape), np.empty(x.shape)
    half_logits(x, family, params["w"], params["a"], params["b"], params["s"], u, half_z, by_problem)
    tanh_z = np.tanh(half_z, out=half_z)  # numpy's own tanh: see the kernel's docstring
    g = sigmoid(params["g"]) if law.free_floor else batch.fixed_g
    loss, mae = np.empty(n_prob), np.empty(n_prob)
    beta1, beta2 = ADAM_BETAS
    adam = (1 - beta1**t, float(np.sqrt(1 - beta2**t)), beta1, 1 - beta1, beta2, 1 - beta2, ADAM_EPS)
    state = (batch.lr, batch.plateau_best, batch.plateau_bad, batch.best_mae, batch.bad_steps, batch.steps)
    schedule_row = (1 - PLATEAU_THRESHOLD, float(lr_patience), float(lr_factor), float(tol))
    loss_grad_adam(
        (x, family, yt, mask, batch.count), tanh_z, u, g, float(law.huber_delta),
        _columns(params, n_prob), (_columns(batch.m1, n_prob), _columns(batch.m2, n_prob)), adam,
        (*schedule_row, float(law.free_floor), float(by_problem)), state, _columns(batch.best, n_prob), loss, mae,
    )  # fmt: skip


def _columns(values: dict[str, np.ndarray], n_prob: int) -> tuple[np.ndarray, ...]:
    """The parameters ``NAMES`` as C-ordered (P, width) views, the layout the kernel takes (the
    kernel writes through them, so ``values`` is made to hold C-ordered arrays first)."""
    for k in NAMES:
        values[k] = np.ascontiguousarray(values[k])
    return tuple(values[k].reshape(n_prob, -1) for k in NAMES)


def kernel_available() -> bool:
    """Whether the compiled step loads (numba refuses a module where it finds no place for its cache)."""
    return kernel_loads("obslaws_baselines.kernel", "baselines", "numpy")
