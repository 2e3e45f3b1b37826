"""The engine's optimiser on the compiled kernel: each problem fitted whole, problems on threads.

:func:`optimise` takes what :func:`obslaws_sloth.optimiser.optimise` takes (with the layout in
place of a loss function) and returns the same :class:`~obslaws_sloth.optimiser.Result`. Each
problem runs from start to stop in one call of :func:`obslaws_sloth.kernel.fit_problem`, which
releases the GIL, so independent problems run on ``threads`` threads at once; every problem's
result is the same whatever the thread count.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from obslaws.fitting.kernels import kernel_loads
from obslaws_sloth import link
from obslaws_sloth.design import Batch
from obslaws_sloth.model import Layout, cut_rows, place_rows
from obslaws_sloth.optimiser import Result, Schedule


def available() -> bool:
    """Whether the kernel loads (the torch engine is the fallback without numba, or where numba
    finds no place for its cache and so refuses the module)."""
    return kernel_loads("obslaws_sloth.kernel", "sloth", "the torch engine")


def supports(layout: Layout, batch: Batch) -> bool:
    """Whether the kernel can fit ``batch``: the link's hidden size 10, family weights one-hot,
    padding models at the end."""
    if layout.full and layout.hidden != link.HIDDEN:
        return False
    onehot = batch.onehot
    if not bool(((onehot == 0) | (onehot == 1)).all()):
        return False
    rows = onehot.sum(dim=2)  # (P, N): 1 for a real model, 0 for padding
    if not bool(((rows == 0) | (rows == 1)).all()):
        return False
    active = _active_models(rows)
    index = torch.arange(rows.shape[1])
    padding = index.unsqueeze(0) >= active.unsqueeze(1)
    real_rows_have_family = bool((rows[~padding] == 1).all())
    padding_unscored = bool((batch.mask.sum(dim=1)[padding] == 0).all())
    return real_rows_have_family and padding_unscored


def _active_models(rows: torch.Tensor) -> torch.Tensor:
    """Per problem, one past the last model with a family (the models after it are padding)."""
    index = torch.arange(1, rows.shape[1] + 1)
    return (rows * index).amax(dim=1).long()


def _offsets(layout: Layout) -> np.ndarray:
    from obslaws_sloth.kernel import OFFSET_FIELDS

    starts = {name: a for name, (a, _) in layout.offsets().items()}
    return np.array([starts.get(name, 0) for name in OFFSET_FIELDS], dtype=np.int64)


def _schedule_array(s: Schedule) -> np.ndarray:
    from obslaws_sloth.kernel import SCHEDULE_FIELDS

    return np.array([float(getattr(s, name)) for name in SCHEDULE_FIELDS], dtype=np.float64)


# The kernel's loops over models run to a multiple of this (padding models have zero weight): a
# loop's remainder runs without vectors and cost more than the padding (16.5 us for a step of 95
# models, 13.5 us for 96; docs/speed.md).
MODEL_BLOCK = 8


@dataclass
class _Arrays:
    """A batch as the kernel takes it (numpy, contiguous, one row per problem)."""

    x: np.ndarray  # (P, 3, N) covariates, transposed
    fam: np.ndarray  # (P, N) family index
    y: np.ndarray
    mask: np.ndarray
    inv_count: np.ndarray
    chance: np.ndarray  # (P, J)
    active: np.ndarray  # (P,) models before the padding

    @classmethod
    def of(cls, batch: Batch, dtype: type) -> _Arrays:
        """The batch with its models padded to a multiple of :data:`MODEL_BLOCK` (zero weight)."""
        as_np = functools.partial(_numpy, dtype=dtype)
        total, width = batch.x.shape[0], batch.x.shape[1]
        wide = -(-width // MODEL_BLOCK) * MODEL_BLOCK

        def padded(a: np.ndarray) -> np.ndarray:
            out = np.zeros((*a.shape[:-1], wide), dtype=a.dtype)
            out[..., :width] = a
            return out

        active = _active_models(batch.onehot.sum(dim=2)).numpy()
        return cls(
            x=padded(as_np(batch.x).transpose(0, 2, 1)),
            fam=padded(batch.onehot.argmax(dim=2).numpy().astype(np.int64)),
            y=padded(as_np(batch.y)),
            mask=padded(as_np(batch.mask)),
            inv_count=as_np(batch.inv_count).reshape(total),
            chance=as_np(batch.chance[:, :, 0]),
            active=np.minimum(-(-active // MODEL_BLOCK) * MODEL_BLOCK, wide),
        )


def _numpy(t: torch.Tensor, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy(), dtype=dtype)


def _np_dtype(dtype: torch.dtype) -> type:
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"sloth's compiled kernel takes float32 or float64, not {dtype}")
    return np.float32 if dtype == torch.float32 else np.float64


def loss_and_grad(
    layout: Layout, flat: torch.Tensor, batch: Batch, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The kernel's loss (P,), MAE (P,) and gradient (P, T), as :data:`obslaws_sloth.gradient.Gradient`."""
    from obslaws_sloth.kernel import HIDDEN, loss_grad

    dtype = _np_dtype(flat.dtype)
    params, arrays = _numpy(flat, dtype), _Arrays.of(batch, dtype)
    grad = np.empty_like(params)
    loss, mae = np.empty(len(params), dtype=dtype), np.empty(len(params), dtype=dtype)
    width = arrays.y.shape[2]
    hbuf, vbuf = np.zeros((2, HIDDEN, width), dtype=dtype), np.zeros((4, width), dtype=dtype)
    tbuf = np.zeros((2, layout.d, width), dtype=dtype)
    off, a = _offsets(layout), arrays
    for p in range(len(params)):
        loss[p], mae[p] = loss_grad(
            params[p], grad[p], off, layout.full, a.x[p], a.fam[p], a.y[p], a.mask[p], a.inv_count[p],
            a.chance[p], int(a.active[p]), dtype(beta), hbuf, vbuf, tbuf,
        )  # fmt: skip
    return torch.from_numpy(loss), torch.from_numpy(mae), torch.from_numpy(grad)


def optimise(
    flat: torch.Tensor,
    batch: Batch,
    lr: torch.Tensor,
    layout: Layout,
    trainable: torch.Tensor,
    nonnegative: torch.Tensor,
    schedule: Schedule | None = None,
    threads: int = 1,
    own: Sequence[Layout] | None = None,
) -> Result:
    """Minimise Sloth's training loss for every row of ``flat`` (P, T) independently.

    The arguments are those of :func:`obslaws_sloth.optimiser.optimise`, with ``layout`` (the
    rows' parameter layout) in place of the loss function; ``threads`` problems run at once.
    ``own``: per row, the layout of its own families and skills, where the batch pads them. Each
    row is fitted in its own layout and placed back: the kernel's contracted and reassociated sums
    round by the shape they run over, so a padded fit would differ from the problem fitted alone
    in the last bits, and that grows over a fit's steps (``tests/test_sloth_kernel.py``).
    """
    from obslaws_sloth.kernel import fit_problem

    dtype = _np_dtype(flat.dtype)
    padded, a = _numpy(flat, dtype), _Arrays.of(batch, dtype)
    total, size = padded.shape
    rates = _numpy(lr.reshape(-1), dtype)
    trains = np.ascontiguousarray(np.broadcast_to(_numpy(trainable, dtype), (total, size)))
    nonneg = np.ascontiguousarray(nonnegative.detach().numpy() != 0)
    sched = _schedule_array(schedule or Schedule())
    layouts = list(own) if own is not None else [layout] * total
    groups: dict[Layout, list[int]] = {}  # each own layout's rows
    for p, lay in enumerate(layouts):
        groups.setdefault(lay, []).append(p)
    start, train, fixed = {}, {}, {}  # per row its start and mask; per layout its offsets and nonnegative mask
    for lay, rows in groups.items():
        cut = (lambda m: m) if lay == layout else functools.partial(cut_rows, layout, own=lay)
        fixed[lay] = (_offsets(lay), np.ascontiguousarray(cut(nonneg[None])[0]))
        start.update(zip(rows, cut(padded[rows]), strict=True))
        train.update(zip(rows, cut(trains[rows]), strict=True))
    best = {p: np.empty_like(s) for p, s in start.items()}
    mae = np.empty(total, dtype=dtype)
    steps = np.empty(total, dtype=np.int64)

    def fit(p: int) -> None:
        lay, (off, keep) = layouts[p], fixed[layouts[p]]
        mae[p], steps[p] = fit_problem(
            start[p], train[p], keep, rates[p], off, lay.full, a.x[p], a.fam[p], a.y[p], a.mask[p],
            a.inv_count[p], a.chance[p], int(a.active[p]), lay.d, sched, best[p],
        )  # fmt: skip

    if threads <= 1 or total == 1:
        for p in range(total):
            fit(p)
    else:
        with ThreadPoolExecutor(min(threads, total)) as pool:
            list(pool.map(fit, range(total)))
    placed = np.empty_like(padded)
    for lay, rows in groups.items():
        mine = np.stack([best[p] for p in rows])
        placed[rows] = mine if lay == layout else place_rows(lay, mine, layout)
    return Result(torch.from_numpy(placed), torch.from_numpy(mae), torch.from_numpy(steps))
