"""Sloth's trainable link: a small monotone network per benchmark, batched.

``g(eta) = sigmoid(w3 . tanh(W2 tanh(w1 tanh(eta) + b1) + b2) + b3)`` with non-negative
weights ``w1, W2, w3`` (biases free), hidden size 10, as the upstream ``IncreasingNN``.
Non-negative weights and increasing activations make ``g`` non-decreasing in ``eta``.
"""

from __future__ import annotations

import functools

import torch

HIDDEN = 10
BLOCKS = ("w1", "b1", "w2", "b2", "w3", "b3")
NONNEGATIVE = ("w1", "w2", "w3")


def block_shapes(n_bench: int, hidden: int = HIDDEN) -> dict[str, tuple[int, ...]]:
    """Shapes of the link blocks for ``n_bench`` benchmarks (``w2`` is (out, in))."""
    j, h = n_bench, hidden
    return {"w1": (j, h), "b1": (j, h), "w2": (j, h, h), "b2": (j, h), "w3": (j, h), "b3": (j,)}


def forward_saved(eta: torch.Tensor, *blocks: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    """``g(eta)`` (P, J, N) and what :func:`backward_from` needs.

    Layout (P*J, H, N): the long model axis is innermost, so every product is a small matrix
    times a wide one; the backward pass reuses the saved activations and fuses what autograd
    would do in separate passes (this is the hot loop of the whole fitter).
    """
    w1, b1, w2, b2, w3, b3 = blocks
    p, j, n = eta.shape
    h = w1.shape[-1]
    t = torch.tanh(eta).reshape(p * j, 1, n)
    w1c, w2c, w3c = w1.reshape(p * j, h, 1), w2.reshape(p * j, h, h), w3.reshape(p * j, 1, h)
    h1 = torch.baddbmm(b1.reshape(p * j, h, 1), w1c, t).tanh_()
    h2 = torch.baddbmm(b2.reshape(p * j, h, 1), w2c, h1).tanh_()
    g = torch.baddbmm(b3.reshape(p * j, 1, 1), w3c, h2).sigmoid_()
    return g.reshape(p, j, n), (t, h1, h2, g, w1c, w2c, w3c, (p, j, n, h))


def backward_from(grad: torch.Tensor, saved: tuple) -> tuple[torch.Tensor, ...]:
    """Gradients of ``(grad * g).sum()`` with respect to ``eta, w1, b1, w2, b2, w3, b3``."""
    t, h1, h2, g, w1c, w2c, w3c, (p, j, n, h) = saved
    d_out = grad.reshape(p * j, 1, n) * g * (1 - g)
    d_w3 = torch.bmm(d_out, h2.transpose(1, 2))
    d_b3 = d_out.sum(dim=2)
    d_a2 = torch.ops.aten.tanh_backward(torch.bmm(w3c.transpose(1, 2), d_out), h2)
    d_b2 = d_a2.sum(dim=2)
    d_w2 = torch.bmm(d_a2, h1.transpose(1, 2))
    d_a1 = torch.ops.aten.tanh_backward(torch.bmm(w2c.transpose(1, 2), d_a2), h1)
    d_b1 = d_a1.sum(dim=2)
    d_w1 = torch.bmm(d_a1, t.transpose(1, 2))
    d_eta = torch.ops.aten.tanh_backward(torch.bmm(w1c.transpose(1, 2), d_a1), t)
    return (
        d_eta.reshape(p, j, n),
        d_w1.reshape(p, j, h),
        d_b1.reshape(p, j, h),
        d_w2.reshape(p, j, h, h),
        d_b2.reshape(p, j, h),
        d_w3.reshape(p, j, h),
        d_b3.reshape(p, j),
    )


class _Monotone(torch.autograd.Function):
    """The batched network with the hand-written backward pass of :func:`backward_from`."""

    @staticmethod
    def forward(ctx, eta, *blocks):  # type: ignore[override]
        g, saved = forward_saved(eta, *blocks)
        ctx.save_for_backward(*saved[:-1])
        ctx.shapes = saved[-1]
        return g

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return backward_from(grad, (*ctx.saved_tensors, ctx.shapes))


def monotone(views: dict[str, torch.Tensor], eta: torch.Tensor) -> torch.Tensor:
    """Apply each benchmark's network to ``eta`` (P, J, N); returns values in (0, 1), same shape."""
    return _Monotone.apply(eta, *(views[k] for k in BLOCKS))


def monotone_reference(views: dict[str, torch.Tensor], eta: torch.Tensor) -> torch.Tensor:
    """The same network in plain autograd operations (the check for the hand-written backward)."""
    p, j, n = eta.shape
    w1, b1, w2, b2, w3, b3 = (views[k] for k in BLOCKS)
    h = w1.shape[-1]
    h1 = torch.tanh(torch.tanh(eta).unsqueeze(-1) * w1.unsqueeze(2) + b1.unsqueeze(2))
    h2 = torch.bmm(h1.reshape(p * j, n, h), w2.reshape(p * j, h, h).transpose(1, 2))
    h2 = torch.tanh(h2.reshape(p, j, n, h) + b2.unsqueeze(2))
    out = torch.bmm(h2.reshape(p * j, n, h), w3.reshape(p * j, h, 1)).reshape(p, j, n) + b3.unsqueeze(-1)
    return torch.sigmoid(out)


def init_blocks(n_bench: int, hidden: int, seed: int) -> dict[str, torch.Tensor]:
    """Initial link weights, drawn exactly as upstream: ``torch.manual_seed(seed)`` then one
    ``IncreasingNN`` (three ``nn.Linear``, weights made non-negative) per benchmark, in order.

    The global generator is forked, so callers' random state is untouched.
    """
    return {k: v.clone() for k, v in _drawn_blocks(int(n_bench), int(hidden), int(seed)).items()}


@functools.lru_cache(maxsize=64)
def _drawn_blocks(n_bench: int, hidden: int, seed: int) -> dict[str, torch.Tensor]:
    # Cached: every fold of a backtest starts its links from the same draw for a seed.
    w1, b1, w2, b2, w3, b3 = [], [], [], [], [], []
    with torch.random.fork_rng(devices=[]):
        # The CPU generator only: torch.manual_seed also queues seeds for every accelerator
        # backend, which costs more than the draw; the CPU draws are the same.
        torch.default_generator.manual_seed(seed)
        for _ in range(n_bench):
            fc1, fc2, fc3 = torch.nn.Linear(1, hidden), torch.nn.Linear(hidden, hidden), torch.nn.Linear(hidden, 1)
            w1.append(fc1.weight.detach()[:, 0].abs())
            b1.append(fc1.bias.detach())
            w2.append(fc2.weight.detach().abs())
            b2.append(fc2.bias.detach())
            w3.append(fc3.weight.detach()[0].abs())
            b3.append(fc3.bias.detach()[0])
    return {
        "w1": torch.stack(w1),
        "b1": torch.stack(b1),
        "w2": torch.stack(w2),
        "b2": torch.stack(b2),
        "w3": torch.stack(w3),
        "b3": torch.stack(b3),
    }
