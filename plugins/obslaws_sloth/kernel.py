"""One Sloth problem's whole optimisation, compiled with numba: loss, gradient, Adam, schedule.

The torch engine spends a full-model step in a few dozen small tensor operations over
(problems x benchmarks, 10, models) activations; the arithmetic is a fraction of that time
(docs/speed.md). Here one problem is fitted by one compiled function, step after step: its
parameters, optimiser state and the link's activations for one benchmark (10 x ~100 values per
layer) stay in a core's L1/L2 cache, every loop over models is vectorised, and there is no
per-step interpreter or allocation cost. Problems are independent, so callers may run several
at once on threads (the functions release the GIL).

Layout and semantics are those of :mod:`obslaws_sloth.model` (a problem's flat parameter row)
and :mod:`obslaws_sloth.optimiser` (torch's Adam at the problem's own learning rate,
``ReduceLROnPlateau``, best-by-MAE, early stopping, clip at 0). ``tests/test_sloth_kernel.py``
checks the gradient against autograd in float64 and the optimiser against the torch engine.

In float32, ``tanh`` and the sigmoid use a rational approximation (a few ulp, as the vectorised
``tanh`` torch uses) so that the loops vectorise; in float64 they are the exact functions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

# Reassociation lets the loops' sums vectorise; no assumptions about NaN or infinity.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
# error_model="numpy": a float division by zero gives inf instead of a branch that raises (which
# would stop every loop with a division, such as tanh's, from vectorising).
_OPTIONS = {"fastmath": FASTMATH, "error_model": "numpy"}
_JIT = {"nogil": True, "cache": True, **_OPTIONS}
# The helpers below are inlined (inline="always") into the functions Python calls: numba caches a
# function's object code, but a callee it calls is rebuilt from bitcode, with other optimisation,
# in the process that loads the cache, so its vectorised sums rounded differently there and a fit
# depended on whether its process compiled the kernel or loaded it (tests/test_sloth_kernel.py).

# The link's hidden size, fixed so that a layer's weighted sums unroll into registers (the
# engine falls back to torch for another size).
HIDDEN = 10
# Schedule fields, in the order of the float64 array the fitting function takes.
SCHEDULE_FIELDS = (
    "lr_factor",
    "lr_patience",
    "lr_threshold",
    "stop_patience",
    "stop_tol",
    "max_steps",
    "beta1",
    "beta2",
    "eps",
    "huber_beta",
    "cosine",
)
# Block offsets, in the order of the int64 array the functions take (a Layout's offsets).
OFFSET_FIELDS = ("B", "alpha", "lam", "c", "floor", "w1", "b1", "w2", "b2", "w3", "b3")


def tanh(x):
    """``tanh``; the compiled versions are chosen by type below."""
    return math.tanh(x)


@overload(tanh, jit_options=_OPTIONS)
def _tanh_typed(x):
    if x == types.float32:
        # Eigen's float32 rational approximation on [-7.9, 7.9] (tanh is +-1 in float32 beyond).
        def rational(x):
            c = np.float32(7.90531110763549805)
            x = c if x > c else (-c if x < -c else x)
            x2 = x * x
            p = np.float32(-2.76076847742355e-16) * x2 + np.float32(2.00018790482477e-13)
            p = p * x2 + np.float32(-8.60467152213735e-11)
            p = p * x2 + np.float32(5.12229709037114e-08)
            p = p * x2 + np.float32(1.48572235717979e-05)
            p = p * x2 + np.float32(6.37261928875436e-04)
            p = p * x2 + np.float32(4.89352455891786e-03)
            q = np.float32(1.19825839466702e-06) * x2 + np.float32(1.18534705686654e-04)
            q = q * x2 + np.float32(2.26843463243900e-03)
            q = q * x2 + np.float32(4.89352518554385e-03)
            return x * p / q

        return rational
    return lambda x: math.tanh(x)


def sigmoid(x):
    """The logistic function; the compiled versions are chosen by type below."""
    return 1.0 / (1.0 + math.exp(-x))


@overload(sigmoid, jit_options=_OPTIONS)
def _sigmoid_typed(x):
    if x == types.float32:

        def via_tanh(x):
            half = np.float32(0.5)
            return half + half * tanh(half * x)

        return via_tanh
    return lambda x: 1.0 / (1.0 + math.exp(-x))


@njit(inline="always", **_JIT)
def _link_forward(params, off, j, t, h1, h2, g, n):
    """The monotone link of benchmark ``j`` (hidden size :data:`HIDDEN`) on ``t = tanh(eta)``.

    Keeps h1, h2 (10, n) and g (n,). Each layer's weights are read into scalars first, so a
    model's whole weighted sum stays in registers (one load per product, none stored).
    """
    w1, b1, w2, b2, w3 = off[5] + j * 10, off[6] + j * 10, off[7] + j * 100, off[8] + j * 10, off[9] + j * 10
    for i in range(10):
        a, b = params[w1 + i], params[b1 + i]
        for m in range(n):
            h1[i, m] = tanh(a * t[m] + b)
    for i in range(10):
        r = w2 + i * 10
        c0, c1, c2, c3, c4 = params[r], params[r + 1], params[r + 2], params[r + 3], params[r + 4]
        c5, c6, c7, c8, c9 = params[r + 5], params[r + 6], params[r + 7], params[r + 8], params[r + 9]
        b = params[b2 + i]
        for m in range(n):
            s = b + c0 * h1[0, m] + c1 * h1[1, m] + c2 * h1[2, m] + c3 * h1[3, m] + c4 * h1[4, m]
            s += c5 * h1[5, m] + c6 * h1[6, m] + c7 * h1[7, m] + c8 * h1[8, m] + c9 * h1[9, m]
            h2[i, m] = tanh(s)
    c0, c1, c2, c3, c4 = params[w3], params[w3 + 1], params[w3 + 2], params[w3 + 3], params[w3 + 4]
    c5, c6, c7, c8, c9 = params[w3 + 5], params[w3 + 6], params[w3 + 7], params[w3 + 8], params[w3 + 9]
    b = params[off[10] + j]
    for m in range(n):
        s = b + c0 * h2[0, m] + c1 * h2[1, m] + c2 * h2[2, m] + c3 * h2[3, m] + c4 * h2[4, m]
        s += c5 * h2[5, m] + c6 * h2[6, m] + c7 * h2[7, m] + c8 * h2[8, m] + c9 * h2[9, m]
        g[m] = sigmoid(s)


@njit(inline="always", **_JIT)
def _link_backward(params, grad, off, j, t, h1, h2, d_out, d_eta, n):
    """Gradients of benchmark ``j``'s link blocks (hidden size :data:`HIDDEN`) from ``d_out`` (n,).

    Writes ``d_eta`` (n,); overwrites ``h2`` with the gradient at the second layer's input.
    """
    w1, b1, w2, b2, w3 = off[5] + j * 10, off[6] + j * 10, off[7] + j * 100, off[8] + j * 10, off[9] + j * 10
    zero, one = params.dtype.type(0.0), params.dtype.type(1.0)
    total = zero
    for m in range(n):
        total += d_out[m]
    grad[off[10] + j] = total
    for i in range(10):
        w, acc, total = params[w3 + i], zero, zero
        for m in range(n):
            acc += d_out[m] * h2[i, m]
            d_a2 = w * d_out[m] * (one - h2[i, m] * h2[i, m])
            total += d_a2
            h2[i, m] = d_a2
        grad[w3 + i], grad[b2 + i] = acc, total
    for m in range(n):
        d_eta[m] = zero
    for k in range(10):
        # Column k of W2: d h1_k = sum_i W2[i, k] d_a2_i; and row k of d W2^T in the same pass.
        r = w2 + k
        c0, c1, c2, c3, c4 = params[r], params[r + 10], params[r + 20], params[r + 30], params[r + 40]
        c5, c6, c7, c8, c9 = params[r + 50], params[r + 60], params[r + 70], params[r + 80], params[r + 90]
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = zero
        w, total, acc = params[w1 + k], zero, zero
        for m in range(n):
            e0, e1, e2, e3, e4 = h2[0, m], h2[1, m], h2[2, m], h2[3, m], h2[4, m]
            e5, e6, e7, e8, e9 = h2[5, m], h2[6, m], h2[7, m], h2[8, m], h2[9, m]
            hk = h1[k, m]
            a0 += e0 * hk
            a1 += e1 * hk
            a2 += e2 * hk
            a3 += e3 * hk
            a4 += e4 * hk
            a5 += e5 * hk
            a6 += e6 * hk
            a7 += e7 * hk
            a8 += e8 * hk
            a9 += e9 * hk
            s = c0 * e0 + c1 * e1 + c2 * e2 + c3 * e3 + c4 * e4 + c5 * e5 + c6 * e6 + c7 * e7 + c8 * e8 + c9 * e9
            d_a1 = s * (one - hk * hk)
            total += d_a1
            acc += d_a1 * t[m]
            d_eta[m] += w * d_a1
        grad[r], grad[r + 10], grad[r + 20], grad[r + 30], grad[r + 40] = a0, a1, a2, a3, a4
        grad[r + 50], grad[r + 60], grad[r + 70], grad[r + 80], grad[r + 90] = a5, a6, a7, a8, a9
        grad[b1 + k], grad[w1 + k] = total, acc
    for m in range(n):
        d_eta[m] *= one - t[m] * t[m]


@njit(inline="always", **_JIT)
def loss_grad(params, grad, off, full, x, fam, y, mask, inv_count, chance, n, beta, hbuf, vbuf, tbuf):
    """Mean smooth-L1 loss and MAE of one problem; writes d loss / d params into ``grad``.

    ``x`` (3, N) covariates (transposed), ``fam`` (N,) family index, ``y`` and ``mask``
    (J, N), ``chance`` (J,); only the first ``n`` models are used (the rest is padding).
    Work arrays: ``hbuf`` (2, HIDDEN, N), ``vbuf`` (4, N), ``tbuf`` (2, d, N).
    """
    n_bench, d = y.shape[0], tbuf.shape[1]
    zero, one = params.dtype.type(0.0), params.dtype.type(1.0)
    half_over_beta, half_beta, inv_beta = one / (beta + beta), beta / (one + one), one / beta
    theta, d_theta = tbuf[0], tbuf[1]
    h1, h2 = hbuf[0], hbuf[1]
    t, g, d_out, d_eta = vbuf[0], vbuf[1], vbuf[2], vbuf[3]
    o_b, o_alpha, o_lam, o_c, o_floor = off[0], off[1], off[2], off[3], off[4]
    grad[:] = 0
    for k in range(d):
        for m in range(n):
            theta[k, m] = params[o_alpha + fam[m] * d + k]
            d_theta[k, m] = 0
        for c in range(3):
            b = params[o_b + c * d + k]
            for m in range(n):
                theta[k, m] += x[c, m] * b
    loss, mae = zero, zero
    for j in range(n_bench):
        for m in range(n):
            t[m] = params[o_c + j]
        for k in range(d):
            lam = params[o_lam + k * n_bench + j]
            for m in range(n):
                t[m] += theta[k, m] * lam
        floor, asymptote = chance[j], zero
        if full:
            for m in range(n):
                t[m] = tanh(t[m])
            _link_forward(params, off, j, t, h1, h2, g, n)
            asymptote = sigmoid(params[o_floor + j])
            if floor > 0:
                floor = asymptote
        else:
            for m in range(n):
                g[m] = sigmoid(t[m])
        d_asymptote = zero
        for m in range(n):
            resid = floor + (one - floor) * g[m] - y[j, m]
            size = abs(resid)
            weight = mask[j, m] * inv_count
            small = size < beta
            loss += weight * (half_over_beta * resid * resid if small else size - half_beta)
            mae += weight * size
            d_yhat = weight * (resid * inv_beta if small else (one if resid > 0 else (-one if resid < 0 else zero)))
            d_asymptote += d_yhat * (one - g[m])
            d_out[m] = d_yhat * (one - floor) * g[m] * (one - g[m])
        if full:
            if chance[j] > 0:
                grad[o_floor + j] = d_asymptote * asymptote * (one - asymptote)
            _link_backward(params, grad, off, j, t, h1, h2, d_out, d_eta, n)
        else:
            d_eta[:n] = d_out[:n]
        _skill_backward(params, grad, off, j, theta, d_theta, d_eta, n)
    for k in range(d):
        for c in range(3):
            acc = zero
            for m in range(n):
                acc += x[c, m] * d_theta[k, m]
            grad[o_b + c * d + k] = acc
        for m in range(n):
            grad[o_alpha + fam[m] * d + k] += d_theta[k, m]
    return loss, mae


@njit(inline="always", **_JIT)
def _skill_backward(params, grad, off, j, theta, d_theta, d_eta, n):
    """Benchmark ``j``'s share of the gradients of ``c``, ``Lambda`` and ``theta``."""
    n_bench, zero = off[4] - off[3], params.dtype.type(0.0)
    total = zero
    for m in range(n):
        total += d_eta[m]
    grad[off[3] + j] = total
    for k in range(theta.shape[0]):
        lam, acc = params[off[2] + k * n_bench + j], zero
        for m in range(n):
            acc += theta[k, m] * d_eta[m]
            d_theta[k, m] += d_eta[m] * lam
        grad[off[2] + k * n_bench + j] = acc


@njit(**_JIT)
def fit_problem(start, trainable, nonneg, lr, off, full, x, fam, y, mask, inv_count, chance, n, d, sched, best):
    """Optimise one problem from ``start`` (T,); writes its best parameters into ``best``.

    Returns (best training MAE, steps run). ``sched`` holds :data:`SCHEDULE_FIELDS`; with
    ``cosine`` nonzero the learning rate follows a cosine from ``lr`` to 0 over ``max_steps`` in
    place of ``ReduceLROnPlateau``.
    """
    dt = start.dtype.type
    zero, one = dt(0.0), dt(1.0)
    factor, patience, threshold = dt(sched[0]), int(sched[1]), dt(sched[2])
    stop_patience, stop_tol, max_steps = int(sched[3]), dt(sched[4]), int(sched[5])
    beta1, beta2, eps, beta = sched[6], sched[7], dt(sched[8]), dt(sched[9])
    cosine, start_lr = sched[10] != 0.0, lr
    size, width = start.shape[0], y.shape[1]
    params, grad = start.copy(), np.empty_like(start)
    moment, second = np.zeros_like(start), np.zeros_like(start)
    hbuf = np.zeros((2, HIDDEN, width), dtype=start.dtype)
    vbuf = np.zeros((4, width), dtype=start.dtype)
    tbuf = np.zeros((2, d, width), dtype=start.dtype)
    best[:] = start
    best_mae, plateau_best, stall, bad = dt(np.inf), dt(np.inf), 0, 0
    for step in range(1, max_steps + 1):
        loss, mae = loss_grad(params, grad, off, full, x, fam, y, mask, inv_count, chance, n, beta, hbuf, vbuf, tbuf)
        if best_mae > mae + stop_tol:
            best[:] = params
            best_mae, stall = mae, 0
        else:
            stall += 1
        if cosine:
            lr = start_lr * dt(0.5 + 0.5 * math.cos(math.pi * (step - 1) / max_steps))
        # torch's Adam (no weight decay), then the clip at 0 of the link weights.
        step_size = lr / dt(1.0 - beta1**step)
        root = dt(math.sqrt(1.0 - beta2**step))
        keep1, keep2 = dt(1.0 - beta1), dt(1.0 - beta2)
        for i in range(size):
            g = grad[i] * trainable[i]
            moment[i] += keep1 * (g - moment[i])
            second[i] = second[i] * dt(beta2) + keep2 * g * g
            value = params[i] - moment[i] * step_size / (math.sqrt(second[i]) / root + eps)
            params[i] = zero if (nonneg[i] and value < zero) else value
        # ReduceLROnPlateau (mode min, relative threshold).
        if not cosine:
            if loss < plateau_best * (one - threshold):
                plateau_best, bad = loss, 0
            else:
                bad += 1
            if bad > patience:
                if lr * (one - factor) > dt(1e-8):
                    lr = lr * factor
                bad = 0
        if stall >= stop_patience or step == max_steps:
            return best_mae, step
    return best_mae, 0
