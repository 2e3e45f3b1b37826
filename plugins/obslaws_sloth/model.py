"""The Sloth model, batched: many independent problems share one flat parameter tensor.

Problem p has skills ``theta = x B + onehot alpha`` (N x d), linear predictors
``eta = theta Lambda + c`` (J x N after transposing) and scores
``mu = s + (1 - s) g(eta)``, with ``g`` the logistic function (basic) or a per-benchmark
monotone network (full, see :mod:`obslaws_sloth.link`) and ``s`` the lower asymptote.

All parameters of a problem live in one row of a (P, T) tensor, so that the optimiser is a
handful of tensor operations whatever the number of parameter blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from obslaws_sloth import link
from obslaws_sloth.design import Batch

N_COVARIATES = 3


@dataclass(frozen=True)
class Layout:
    """Where each parameter block sits in a problem's flat parameter row.

    Blocks: ``B`` (3, d) slopes, ``alpha`` (F, d) family intercepts, ``lam`` (d, J) loadings,
    ``c`` (J,) benchmark intercepts, ``floor`` (J,) logit of the lower asymptote, and with
    ``full`` the link blocks of :data:`obslaws_sloth.link.BLOCKS`.
    """

    n_families: int
    d: int
    n_bench: int
    full: bool
    hidden: int = link.HIDDEN

    def shapes(self) -> dict[str, tuple[int, ...]]:
        j, d = self.n_bench, self.d
        out = {"B": (N_COVARIATES, d), "alpha": (self.n_families, d), "lam": (d, j), "c": (j,), "floor": (j,)}
        if self.full:
            out.update(link.block_shapes(j, self.hidden))
        return out

    def offsets(self) -> dict[str, tuple[int, int]]:
        out, start = {}, 0
        for name, shape in self.shapes().items():
            size = math.prod(shape)
            out[name] = (start, start + size)
            start += size
        return out

    @property
    def size(self) -> int:
        return sum(math.prod(s) for s in self.shapes().values())

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-block views (P, *shape) into ``flat`` (P, T); autograd flows back to ``flat``."""
        shapes = self.shapes()
        # One split (its backward is one concatenation) rather than a slice per block.
        parts = flat.split([math.prod(s) for s in shapes.values()], dim=1)
        return {
            name: part.reshape(flat.shape[0], *shape) for (name, shape), part in zip(shapes.items(), parts, strict=True)
        }

    def block_mask(self, names: set[str]) -> torch.Tensor:
        """A (T,) 0/1 mask selecting the named blocks."""
        mask = torch.zeros(self.size)
        for name, (a, b) in self.offsets().items():
            if name in names:
                mask[a:b] = 1.0
        return mask

    def with_link(self) -> Layout:
        return Layout(self.n_families, self.d, self.n_bench, True, self.hidden)


def cut_rows(padded: Layout, rows: np.ndarray, own: Layout) -> np.ndarray:
    """Rows (R, T) of ``padded`` cut to ``own``'s families and skills: each block's leading part."""
    shapes, wide, parts = own.shapes(), padded.shapes(), []
    for name, (a, b) in padded.offsets().items():
        block = rows[:, a:b].reshape(len(rows), *wide[name])
        parts.append(block[(slice(None), *(slice(0, n) for n in shapes[name]))].reshape(len(rows), -1))
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def place_rows(own: Layout, rows: np.ndarray, padded: Layout) -> np.ndarray:
    """Rows (R, T') of ``own`` placed in ``padded``'s layout, zeros on its padding (``cut_rows``' inverse)."""
    out, shapes, wide = np.zeros((len(rows), padded.size), dtype=rows.dtype), own.shapes(), padded.shapes()
    for (name, (a, b)), (c, e) in zip(own.offsets().items(), padded.offsets().values(), strict=True):
        block = np.zeros((len(rows), *wide[name]), dtype=rows.dtype)
        block[(slice(None), *(slice(0, n) for n in shapes[name]))] = rows[:, a:b].reshape(len(rows), *shapes[name])
        out[:, c:e] = block.reshape(len(rows), -1)
    return out


def skills(views: dict[str, torch.Tensor], x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """theta, shape (P, N, d)."""
    return torch.bmm(x, views["B"]) + torch.bmm(onehot, views["alpha"])


def predict_scores(
    layout: Layout, flat: torch.Tensor, x: torch.Tensor, onehot: torch.Tensor, chance: torch.Tensor
) -> torch.Tensor:
    """Predicted scores, shape (P, J, N).

    ``chance`` (P, J, 1) is the fixed lower asymptote; with ``layout.full`` the asymptote is
    ``sigmoid(floor)`` where the chance level is positive and stays 0 where it is 0.
    """
    v = layout.views(flat)
    eta = torch.bmm(skills(v, x, onehot), v["lam"]).transpose(1, 2) + v["c"].unsqueeze(-1)
    if layout.full:
        g = link.monotone(v, eta)
        floor = torch.where(chance > 0, torch.sigmoid(v["floor"]).unsqueeze(-1), chance)
    else:
        g = torch.sigmoid(eta)
        floor = chance
    return floor + (1.0 - floor) * g


def huber_and_mae(layout: Layout, flat: torch.Tensor, batch: Batch, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean smooth-L1 loss (torch's ``SmoothL1Loss(beta)``) and mean absolute error per problem."""
    yhat = predict_scores(layout, flat, batch.x, batch.onehot, batch.chance)
    resid = yhat - batch.y
    absr = resid.abs()
    huber = torch.where(absr < beta, (0.5 / beta) * resid * resid, absr - 0.5 * beta)
    loss = (huber * batch.mask).sum(dim=(1, 2)) * batch.inv_count
    mae = (absr.detach() * batch.mask).sum(dim=(1, 2)) * batch.inv_count
    return loss, mae


def init_basic(layout: Layout, n_families: int, seed: int) -> torch.Tensor:
    """A basic-model starting point, drawn as the upstream code draws it (one seed per problem).

    Order and law as upstream: ``B = |N(0,1)|``, ``alpha ~ N(0,1)`` (only the problem's own
    ``n_families`` rows are drawn, so padding never changes the draw), ``c ~ N(0,1)``,
    ``Lambda = |N(0,1)|``.
    """
    g = torch.Generator().manual_seed(int(seed))
    d, j = layout.d, layout.n_bench
    blocks = {
        "B": torch.normal(0.0, 1.0, size=(N_COVARIATES, d), generator=g).abs(),
        "alpha": torch.zeros(layout.n_families, d),
        "c": None,
        "lam": None,
    }
    blocks["alpha"][:n_families] = torch.normal(0.0, 1.0, size=(n_families, d), generator=g)
    blocks["c"] = torch.normal(0.0, 1.0, size=(j,), generator=g)
    blocks["lam"] = torch.normal(0.0, 1.0, size=(d, j), generator=g).abs()
    blocks["floor"] = torch.zeros(j)
    return pack(layout, blocks)


def pack(layout: Layout, blocks: dict[str, torch.Tensor]) -> torch.Tensor:
    """One flat (T,) row from named blocks (missing blocks are zeros), in the blocks' dtype (the
    first block's; torch's default without any): a float64 fit's members stay float64."""
    dtype = next((b.dtype for b in blocks.values() if torch.is_tensor(b)), torch.get_default_dtype())
    row = torch.zeros(layout.size, dtype=dtype)
    for name, (a, b) in layout.offsets().items():
        if name in blocks:
            row[a:b] = blocks[name].reshape(-1).to(row.dtype)
    return row


def extend_to_full(layout: Layout, basic: torch.Tensor, chance: torch.Tensor, seed: int) -> torch.Tensor:
    """The full model's start: the basic fit, fresh monotone links, asymptotes at logit(chance)."""
    full = layout.with_link()
    blocks = {k: v[0] for k, v in layout.views(basic.reshape(1, -1)).items()}
    blocks.update(link.init_blocks(layout.n_bench, full.hidden, seed))
    blocks["floor"] = logit(chance.reshape(-1))
    return pack(full, blocks)


def logit(p: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The upstream logit, ``log((p + eps) / (1 - p + eps))``."""
    return torch.log((p + eps) / (1 - p + eps))
