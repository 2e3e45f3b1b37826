"""The sigmoid engine's step, compiled with numba: the same arithmetic as the numpy step, fused.

A step of :func:`obslaws_baselines.engine.fit_sigmoid_sets` in numpy is about forty array
operations on (models, problems) arrays, each a pass over memory with an allocation; on a
backtest's ~350 problems of ~130 models they cost about 1 ms a step, over thousands of steps.
Here a step is two compiled passes around one ``np.tanh``:

1. :func:`half_logits`: ``u = w x + a[family]`` and half the sigmoid's argument;
2. ``np.tanh`` in numpy itself (its vectorised ``tanh`` rounds differently from the C
   library's, which is what numba calls, so the sigmoid is left to numpy to keep every bit);
3. :func:`loss_grad_adam`: the Huber loss, the MAE, the gradient, Adam, ``ReduceLROnPlateau``
   and the best-MAE bookkeeping, problem by problem.

Every operation is the numpy step's, in its order (no fast-math: no reassociation, no fused
multiply-add), and every sum over models adds as numpy's does (model after model over a
C-ordered batch, pairwise over the Fortran-ordered one that dropping finished problems leaves),
so the results are the numpy engine's to the bit (``tests/test_baselines_kernel.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}


@njit(**_JIT)
def half_logits(x, family, w, a, b, s, u, half_z, by_problem):  # noqa: PLR0913 - the step's arrays
    """``u = w x + a[p, family]`` and ``half_z = 0.5 (s u + b)``, written into ``u`` and ``half_z``.

    The model arrays are (n, P), or (P, n) when ``by_problem``.
    """
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            p = i if by_problem else j
            ui = w[p] * x[i, j] + a[p, family[i, j]]
            u[i, j] = ui
            half_z[i, j] = 0.5 * (s[p] * ui + b[p])


@njit(**_JIT)
def loss_grad_adam(data, tanh_z, u, g, delta, params, moments, adam, schedule, state, best, loss, mae):  # noqa: PLR0913
    """One step for every problem, given ``tanh_z = tanh(half_z)`` and the floors ``g`` (P,).

    ``data`` is ``(x, family, yt, mask, count)``; ``params``, ``moments`` (m1, m2) and ``best``
    are tuples ``(w, a, b, s, raw_g)`` of (P, 1) arrays ((P, F) for ``a``), updated in place;
    ``adam`` is ``(1 - beta1^t, sqrt(1 - beta2^t), beta1, 1 - beta1, beta2, 1 - beta2, eps)``;
    ``schedule`` ``(1 - plateau threshold, lr_patience, lr_factor, tol, free_floor, by_problem)``;
    ``state`` the per-problem ``(lr, plateau_best, plateau_bad, best_mae, bad_steps, steps)``.
    ``loss`` and ``mae`` (P,) receive the loss and MAE before the step.

    The model arrays are (n, P), summed over models in order, as numpy sums a C-ordered (n, P)
    array over axis 0; or, when ``by_problem``, (P, n), each problem's row summed pairwise, as
    numpy sums the Fortran-ordered arrays that the engine's ``keep`` leaves.
    """
    n_prob = g.shape[0]
    sums = np.zeros((6, n_prob))  # loss, |r|, and the gradients of w, b, s and the floor
    ga = np.zeros(params[1].shape)
    if schedule[5] != 0:
        _sums_by_problem(data, tanh_z, u, g, delta, params[3], sums, ga)
    else:
        _sums_by_model(data, tanh_z, u, g, delta, params[3], sums, ga)
    count = data[4]
    grads = (np.empty((n_prob, 1)), ga, np.empty((n_prob, 1)), np.empty((n_prob, 1)), np.empty((n_prob, 1)))
    for p in range(n_prob):
        loss[p] = sums[0, p] / count[p]
        mae[p] = sums[1, p] / count[p]
        grads[0][p, 0], grads[2][p, 0], grads[3][p, 0] = sums[2, p], sums[3, p], sums[4, p]
        grads[4][p, 0] = sums[5, p] * g[p] * (1 - g[p]) if schedule[4] != 0 else 0.0
    _adam(params, moments, grads, adam, state[0])
    _schedule(params, best, loss, mae, schedule, state)


@njit(inline="always", **_JIT)
def _terms(sg, yt, mask, count, g, delta, s, x, u):  # noqa: PLR0913
    """One cell's terms of the sums: loss, |r|, d/dw, d/db, d/ds, d/dfloor (before the chain
    rule through the floor's sigmoid), and d/da of its family."""
    r = (g + (1 - g) * sg - yt) * mask
    abs_r = abs(r)
    quad = abs_r < delta
    loss = (0.5 / delta) * r * r if quad else abs_r - 0.5 * delta
    d_yhat = (r * (1.0 / delta) if quad else _sign(r)) * (mask / count)
    d_z = d_yhat * (1 - g) * sg * (1 - sg)
    d_zs = d_z * s
    return loss, abs_r, d_zs * x, d_z, d_z * u, d_yhat * (1 - sg), d_zs


@njit(inline="always", **_JIT)
def _sums_by_model(data, tanh_z, u, g, delta, s, sums, ga):  # noqa: PLR0913
    """The sums over models of (n, P) arrays, model after model."""
    x, family, yt, mask, count = data
    n, n_prob = x.shape
    for i in range(n):
        for p in range(n_prob):
            sg = 0.5 * (1.0 + tanh_z[i, p])
            terms = _terms(sg, yt[i, p], mask[i, p], count[p], g[p], delta, s[p, 0], x[i, p], u[i, p])
            sums[0, p] += terms[0]
            sums[1, p] += terms[1]
            sums[2, p] += terms[2]
            sums[3, p] += terms[3]
            sums[4, p] += terms[4]
            sums[5, p] += terms[5]
            ga[p, family[i, p]] += terms[6]


@njit(inline="always", **_JIT)
def _sums_by_problem(data, tanh_z, u, g, delta, s, sums, ga):  # noqa: PLR0913
    """The sums over models of (P, n) arrays, pairwise per problem (the family sums in order)."""
    x, family, yt, mask, count = data
    n_prob, n = x.shape
    cells = np.empty((7, n))
    for p in range(n_prob):
        for i in range(n):  # a loop without the scatter below, so that it vectorises
            sg = 0.5 * (1.0 + tanh_z[p, i])
            terms = _terms(sg, yt[p, i], mask[p, i], count[p], g[p], delta, s[p, 0], x[p, i], u[p, i])
            cells[0, i], cells[1, i], cells[2, i], cells[3, i] = terms[0], terms[1], terms[2], terms[3]
            cells[4, i], cells[5, i], cells[6, i] = terms[4], terms[5], terms[6]
        for i in range(n):
            ga[p, family[p, i]] += cells[6, i]
        for k in range(6):
            sums[k, p] = 0.0 + _pairwise_sum(cells[k], n)


@njit(inline="always", **_JIT)
def _pairwise_sum(values, n):
    """numpy's pairwise summation of ``values[:n]`` (``pairwise_sum_DOUBLE``): blocks of at
    most 128 summed eight-wise, split in halves (multiples of 8) above that, without recursion
    (numba's cache does not keep recursive functions)."""
    # post-order walk of the halving tree: (start, length, halves pushed?) frames, partial sums
    frames = np.empty((64, 3), dtype=np.int64)
    partial = np.empty(64)
    top, done = 0, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, n, 0
    while top >= 0:
        start, length, expanded = frames[top, 0], frames[top, 1], frames[top, 2]
        if length <= 128:
            partial[done] = _pairwise_block(values, start, length)
            done += 1
            top -= 1
        elif expanded:
            partial[done - 2] = partial[done - 2] + partial[done - 1]
            done -= 1
            top -= 1
        else:
            half = length // 2
            half -= half % 8
            frames[top, 2] = 1
            frames[top + 1, 0], frames[top + 1, 1], frames[top + 1, 2] = start + half, length - half, 0
            frames[top + 2, 0], frames[top + 2, 1], frames[top + 2, 2] = start, half, 0
            top += 2
    return partial[0]


@njit(inline="always", **_JIT)
def _pairwise_block(values, start, n):
    """numpy's pairwise sum of at most 128 values."""
    if n < 8:
        res = -0.0
        for i in range(start, start + n):
            res += values[i]
        return res
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < n - (n % 8):
        j = start + i
        r0, r1, r2, r3 = r0 + values[j], r1 + values[j + 1], r2 + values[j + 2], r3 + values[j + 3]
        r4, r5, r6, r7 = r4 + values[j + 4], r5 + values[j + 5], r6 + values[j + 6], r7 + values[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += values[start + i]
        i += 1
    return res


@njit(inline="always", **_JIT)
def _sign(r):
    """``np.sign`` for a float (NaN stays NaN)."""
    if r > 0:
        return 1.0
    if r < 0:
        return -1.0
    return r * 0.0


@njit(inline="always", **_JIT)
def _adam(params, moments, grads, adam, lr):
    """Adam's update of every parameter, as ``_Batch.adam_step`` writes it."""
    bias1, root_bc2, beta1, one_minus_beta1, beta2, one_minus_beta2, eps = adam
    m1, m2 = moments
    for k in range(len(params)):
        param, first, second, grad = params[k], m1[k], m2[k], grads[k]
        for p in range(param.shape[0]):
            step_size = lr[p] / bias1
            for f in range(param.shape[1]):
                gr = grad[p, f]
                first[p, f] = beta1 * first[p, f] + one_minus_beta1 * gr
                second[p, f] = beta2 * second[p, f] + one_minus_beta2 * gr * gr
                param[p, f] = param[p, f] - step_size * first[p, f] / (np.sqrt(second[p, f]) / root_bc2 + eps)


@njit(inline="always", **_JIT)
def _schedule(params, best, loss, mae, schedule, state):
    """``ReduceLROnPlateau`` on the loss, then early stopping on the MAE (best parameters after the step)."""
    plateau_factor, lr_patience, lr_factor, tol = schedule[0], schedule[1], schedule[2], schedule[3]
    lr, plateau_best, plateau_bad, best_mae, bad_steps, steps = state
    for p in range(lr.shape[0]):
        if loss[p] < plateau_best[p] * plateau_factor:
            plateau_best[p] = loss[p]
            plateau_bad[p] = 0
        else:
            plateau_bad[p] += 1
        if plateau_bad[p] > lr_patience:
            lr[p] = lr[p] * lr_factor
            plateau_bad[p] = 0
        if best_mae[p] > mae[p] + tol:
            for k in range(len(params)):
                best[k][p, :] = params[k][p, :]
            best_mae[p] = mae[p]
            bad_steps[p] = 0
        else:
            bad_steps[p] += 1
        steps[p] += 1
