"""The training loss of :func:`obslaws_sloth.model.huber_and_mae` with its gradient, by hand.

One forward pass keeps what the backward pass needs and the backward pass is written out, so
an optimiser step builds no autograd graph. ``tests/test_sloth.py`` checks it against autograd.
The torch optimiser's default, :func:`fast_huber_mae_grad`, runs it on cache-sized chunks of
problems (1.2-1.5x less CPU than autograd on the whole batch, docs/speed.md); the engine's own
default is the compiled kernel (:mod:`obslaws_sloth.kernel`), with this as its fallback. It rounds
differently from autograd, which moves a full Sloth fit as a change of seed does;
:func:`autograd_huber_mae_grad` is the reference that reproduces the figures taken before.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from obslaws_sloth import link
from obslaws_sloth.design import Batch
from obslaws_sloth.model import Layout, huber_and_mae

Gradient = Callable[[Layout, torch.Tensor, Batch, float], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def huber_mae_grad(
    layout: Layout, flat: torch.Tensor, batch: Batch, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean smooth-L1 loss (P,), mean absolute error (P,) and d loss / d flat (P, T)."""
    v = layout.views(flat)
    theta = torch.bmm(batch.x, v["B"]).add_(torch.bmm(batch.onehot, v["alpha"]))  # (P, N, d)
    eta = torch.bmm(theta, v["lam"]).transpose(1, 2) + v["c"].unsqueeze(-1)  # (P, J, N)
    if layout.full:
        g, saved = link.forward_saved(eta, *(v[k] for k in link.BLOCKS))
        asymptote = torch.sigmoid(v["floor"]).unsqueeze(-1)
        floor = torch.where(batch.chance > 0, asymptote, batch.chance)
    else:
        g = torch.sigmoid(eta)
        floor = batch.chance
    resid = floor + (1.0 - floor) * g - batch.y
    absr = resid.abs()
    weight = batch.mask * batch.inv_count.reshape(-1, 1, 1)
    small = absr < beta
    huber = torch.where(small, (0.5 / beta) * resid * resid, absr - 0.5 * beta)
    loss = (huber * weight).sum(dim=(1, 2))
    mae = (absr * weight).sum(dim=(1, 2))

    d_yhat = torch.where(small, resid * (1.0 / beta), resid.sign()).mul_(weight)
    d_g = d_yhat * (1.0 - floor)
    grads: dict[str, torch.Tensor] = {}
    if layout.full:
        d_eta, *d_link = link.backward_from(d_g, saved)
        grads.update(zip(link.BLOCKS, d_link, strict=True))
        d_asymptote = (d_yhat * (1.0 - g)).sum(dim=2) * asymptote.squeeze(-1) * (1.0 - asymptote.squeeze(-1))
        grads["floor"] = torch.where(batch.chance.squeeze(-1) > 0, d_asymptote, 0.0)
    else:
        d_eta = d_g * g * (1.0 - g)
        grads["floor"] = torch.zeros_like(v["floor"])
    d_eta_t = d_eta.transpose(1, 2)  # (P, N, J)
    grads["c"] = d_eta.sum(dim=2)
    grads["lam"] = torch.bmm(theta.transpose(1, 2), d_eta_t)
    d_theta = torch.bmm(d_eta_t, v["lam"].transpose(1, 2))  # (P, N, d)
    grads["B"] = torch.bmm(batch.x.transpose(1, 2), d_theta)
    grads["alpha"] = torch.bmm(batch.onehot.transpose(1, 2), d_theta)
    grad = torch.cat([grads[name].reshape(flat.shape[0], -1) for name in layout.shapes()], dim=1)
    return loss, mae, grad


def autograd_huber_mae_grad(
    layout: Layout, flat: torch.Tensor, batch: Batch, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same three values through autograd (the reference the tests and the benchmark compare with)."""
    with torch.enable_grad():
        flat = flat.detach().requires_grad_(True)
        loss, mae = huber_and_mae(layout, flat, batch, beta)
        (grad,) = torch.autograd.grad(loss.sum(), flat)
    return loss.detach(), mae, grad


# Elements of one (problems x benchmarks x hidden x models) tensor of the link network per chunk:
# about 0.8 MB in float32, so a chunk's activations stay in a core's L2 cache (2 MB here) through
# the forward and backward passes. On all 144 problems of the default backtest at once they are
# 3.5 MB each and every elementwise pass streams them from memory (docs/speed.md).
CHUNK_ELEMENTS = 200_000


def chunk_size(layout: Layout, n_models: int) -> int:
    """Problems per chunk of :func:`chunked` for this layout and (padded) model count."""
    # The basic model has no link; its largest per-problem arrays are a few times J x N.
    width = layout.n_bench * n_models * (layout.hidden if layout.full else 4)
    return max(1, CHUNK_ELEMENTS // max(width, 1))


def chunked(gradient: Gradient) -> Gradient:
    """``gradient`` evaluated on cache-sized chunks of problems, concatenated.

    Problems are independent, so each problem's loss, MAE and gradient are those of one call
    over the whole batch up to rounding: MKL's batched products may round differently for
    another batch size (``tests/test_sloth.py`` checks them in float64).
    """

    def run(layout: Layout, flat: torch.Tensor, batch: Batch, beta: float):
        size = chunk_size(layout, batch.x.shape[1])
        total = flat.shape[0]
        if total <= size:
            return gradient(layout, flat, batch, beta)
        parts = [gradient(layout, flat[a : a + size], batch.rows(a, a + size), beta) for a in range(0, total, size)]
        return tuple(torch.cat(column) for column in zip(*parts, strict=True))

    return run


fast_huber_mae_grad = chunked(huber_mae_grad)
