"""Two-stage Sloth fits for many (training set, seed) problems in one batched program.

Stage 1 fits the basic model (logistic link, asymptotes fixed at chance) at every learning
rate and keeps, per problem, the lowest training MAE. Stage 2 starts the full model from that
fit (fresh monotone links, asymptotes at logit(chance)), again at every learning rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from obslaws.threads import task_threads
from obslaws_sloth import compiled, link
from obslaws_sloth.design import LEARNING_RATES, Batch, Design, pad_designs
from obslaws_sloth.gradient import Gradient, fast_huber_mae_grad
from obslaws_sloth.model import Layout, cut_rows, extend_to_full, init_basic, pack, place_rows, predict_scores
from obslaws_sloth.optimiser import Result, Schedule, optimise

__all__ = ["LEARNING_RATES", "Member", "adapt_intercepts", "fit_many"]


@dataclass
class Member:
    """One fitted model: its layout (with the design's own family count) and parameter row."""

    layout: Layout
    params: torch.Tensor
    train_mae: float
    steps: int
    lr: float

    def blocks(self) -> dict[str, np.ndarray]:
        return {k: v[0].numpy().copy() for k, v in self.layout.views(self.params.reshape(1, -1)).items()}

    def predict(self, x: np.ndarray, weights: np.ndarray, chance: np.ndarray) -> np.ndarray:
        """Scores (Q, J) for covariates ``x`` (Q, 3) and family weights ``weights`` (Q, F)."""
        with torch.no_grad():
            t = lambda a: torch.as_tensor(np.asarray(a), dtype=self.params.dtype).unsqueeze(0)  # noqa: E731
            out = predict_scores(self.layout, self.params.unsqueeze(0), t(x), t(weights), t(chance).reshape(1, -1, 1))
        return out[0].T.numpy().astype(float)


def _unpad(layout: Layout, row: torch.Tensor, n_families: int, d: int) -> tuple[Layout, torch.Tensor]:
    """A padded problem's row cut to its own family count and number of skills."""
    own = Layout(n_families, d, layout.n_bench, layout.full, layout.hidden)
    return own, torch.from_numpy(cut_rows(layout, row.reshape(1, -1).numpy(), own)[0])


def _pad_row(own: Layout, row: torch.Tensor, padded: Layout) -> torch.Tensor:
    """A problem's row (its own ``d`` and family count) placed in the padded layout, zeros elsewhere."""
    return torch.from_numpy(place_rows(own, row.reshape(1, -1).numpy(), padded)[0])


def _skill_mask(padded: Layout, d: int) -> torch.Tensor:
    """(T,) 1 where a problem with ``d`` skills has parameters, 0 on the padding of B, alpha, lam."""
    blocks = {k: torch.ones(shape) for k, shape in padded.shapes().items()}
    blocks["B"][:, d:] = 0.0
    blocks["alpha"][:, d:] = 0.0
    blocks["lam"][d:] = 0.0
    return pack(padded, blocks)


def _optimise(
    layout: Layout,
    start: torch.Tensor,
    batch: Batch,
    lr: torch.Tensor,
    trainable: torch.Tensor,
    nonneg: torch.Tensor,
    schedule: Schedule,
    gradient: Gradient | None,
    own: Sequence[Layout] | None = None,
) -> Result:
    """Every row of ``start`` optimised: by the compiled kernel (``gradient`` None, numba
    installed), on one thread per usable core unless a count was chosen (obslaws.threads), each
    row in ``own``'s layout of its own families and skills (the batch-invariance
    ``SlothFitter.batch_invariant`` claims); else by the torch optimiser with ``gradient``
    (default: the chunked hand-written one), padded rows and all."""
    if gradient is None and compiled.available() and compiled.supports(layout, batch):
        threads = task_threads(start.shape[0])
        return compiled.optimise(start, batch, lr, layout, trainable, nonneg, schedule, threads, own)
    grad = gradient or fast_huber_mae_grad

    def loss(flat: torch.Tensor, b: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return grad(layout, flat, b, schedule.huber_beta)

    return optimise(start, batch, lr, loss, trainable, nonneg, schedule)


def _best_per_problem(mae: torch.Tensor, n_problems: int, n_lrs: int) -> torch.Tensor:
    """Row index of the lowest-MAE learning rate of each problem (first on ties, as upstream)."""
    choice = mae.reshape(n_problems, n_lrs).argmin(dim=1)
    return torch.arange(n_problems) * n_lrs + choice


def fit_many(
    designs: Sequence[Design],
    seeds: Sequence[int],
    d: int | Sequence[int],
    *,
    full: bool = True,
    fixed_loadings: bool = False,
    lrs: Sequence[float] = LEARNING_RATES,
    schedule: Schedule | None = None,
    dtype: torch.dtype = torch.float32,
    gradient: Gradient | None = None,
    full_lrs: Sequence[float] | None = None,
    full_schedule: Schedule | None = None,
) -> list[tuple[Member, Member | None]]:
    """Fit the basic (and, with ``full``, the full) model for each ``(designs[i], seeds[i], d[i])``.

    ``d`` is one number of skills for all problems or one per problem: problems with fewer
    skills than the largest are padded with frozen zero columns (the same model, exactly),
    so fits of every ``d`` share each optimiser step. ``fixed_loadings`` keeps ``Lambda`` at 1
    (the per-benchmark size-and-tokens baseline, with d = 1 and one benchmark per design).
    ``gradient`` None (the default) fits each problem whole in the compiled kernel
    (:mod:`obslaws_sloth.compiled`; the torch optimiser with the chunked hand-written gradient
    when numba is missing). A gradient function runs the torch optimiser with it:
    :func:`obslaws_sloth.gradient.fast_huber_mae_grad` or
    :func:`obslaws_sloth.gradient.autograd_huber_mae_grad`, which reproduces fits taken before
    either (they round differently, which moves full Sloth's fits as a change of seed does;
    docs/speed.md). ``full_lrs`` and ``full_schedule`` set the full stage's optimiser apart from
    the basic stage's (default: ``lrs`` and ``schedule`` for both).
    Returns ``(basic, full or None)`` per problem.
    """
    if len(designs) != len(seeds):
        raise ValueError("one seed per design")
    ds = [int(d)] * len(designs) if isinstance(d, int) else [int(v) for v in d]
    if len(ds) != len(designs):
        raise ValueError("one d per design")
    schedule = schedule or Schedule()
    n, n_lr = len(designs), len(lrs)
    batch = pad_designs(designs, dtype)
    n_bench = designs[0].y.shape[1]
    basic = Layout(batch.onehot.shape[2], max(ds), n_bench, full=False)
    start, trainable = _basic_start(basic, designs, seeds, ds, fixed_loadings, dtype)
    rep, lr = _per_rate(n, lrs, dtype)
    own = [Layout(len(designs[k].families), ds[k], n_bench, full=False) for k in rep.tolist()]
    res = _optimise(
        basic, start[rep], batch.take(rep), lr, trainable[rep], torch.zeros(basic.size), schedule, gradient, own
    )
    pick = _best_per_problem(res.mae, n, n_lr)
    basic_members = _members(basic, res, pick, lr, designs, ds)
    if not full:
        return [(b, None) for b in basic_members]

    layout = basic.with_link()
    start = torch.stack(
        [
            extend_to_full(basic, res.params[i], batch.chance[k, :, 0], seed)
            for k, (i, seed) in enumerate(zip(pick.tolist(), seeds, strict=True))
        ]
    ).to(dtype)
    skill = torch.stack([_skill_mask(layout, d_own) for d_own in ds])
    trainable = (1 - layout.block_mask({"lam"} if fixed_loadings else set())) * skill
    nonneg = layout.block_mask(set(link.NONNEGATIVE))
    lrs = lrs if full_lrs is None else full_lrs
    n_lr = len(lrs)
    rep, lr = _per_rate(n, lrs, dtype)
    schedule = full_schedule or schedule
    own = [Layout(len(designs[k].families), ds[k], n_bench, full=True) for k in rep.tolist()]
    res = _optimise(layout, start[rep], batch.take(rep), lr, trainable[rep], nonneg, schedule, gradient, own)
    pick = _best_per_problem(res.mae, n, n_lr)
    return list(zip(basic_members, _members(layout, res, pick, lr, designs, ds), strict=True))


def _per_rate(n: int, lrs: Sequence[float], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Each of ``n`` problems once per learning rate: the problem index and the rate of each run."""
    return torch.arange(n).repeat_interleave(len(lrs)), torch.tensor(list(lrs), dtype=dtype).repeat(n)


def _basic_start(
    basic: Layout,
    designs: Sequence[Design],
    seeds: Sequence[int],
    ds: Sequence[int],
    fixed_loadings: bool,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each problem's starting basic parameters, padded to ``basic``, and its trainable mask."""
    starts, skill_masks = [], []
    for design, seed, d_own in zip(designs, seeds, ds, strict=True):
        own = Layout(len(design.families), d_own, basic.n_bench, full=False)
        row = init_basic(own, len(design.families), seed)
        if fixed_loadings:
            row[slice(*own.offsets()["lam"])] = 1.0
        starts.append(_pad_row(own, row, basic))
        skill_masks.append(_skill_mask(basic, d_own))
    frozen = {"floor"} | ({"lam"} if fixed_loadings else set())
    return torch.stack(starts).to(dtype), (1 - basic.block_mask(frozen)) * torch.stack(skill_masks)


def _members(
    layout: Layout, res: Result, pick: torch.Tensor, lr: torch.Tensor, designs: Sequence[Design], ds: Sequence[int]
) -> list[Member]:
    """The chosen learning rate's fit of each problem, unpadded to its own families and d."""
    return [
        Member(
            *_unpad(layout, res.params[i], len(des.families), d_own),
            float(res.mae[i]),
            int(res.steps[i]),
            float(lr[i]),
        )
        for i, des, d_own in zip(pick.tolist(), designs, ds, strict=True)
    ]


def adapt_intercepts(
    members: Sequence[Member],
    x: np.ndarray,
    fam: np.ndarray,
    y: np.ndarray,
    chance: np.ndarray,
    start: np.ndarray,
    schedule: Schedule | None = None,
) -> list[Member]:
    """Fit the intercepts of new families to a few scored models, everything else fixed.

    Parameters
    ----------
    members:
        Fitted members (same layout shape except ``d`` may differ; fitted in groups of ``d``).
    x, fam, y:
        The scored models of the new families: covariates (M, 3), index of each model's new
        family (0..K-1), scores (M, J) with NaN where missing.
    start:
        (K, F) weights over the training families giving each new family's starting intercept
        (its group's mean, as for an unseen family).

    Returns
    -------
    list[Member]
        Each member with ``alpha`` extended by K rows.
    """
    schedule = schedule or Schedule()
    out: list[Member | None] = [None] * len(members)
    n_new = start.shape[0]
    for d in sorted({m.layout.d for m in members}):
        idx = [i for i, m in enumerate(members) if m.layout.d == d]
        rows, layouts = [], []
        for i in idx:
            m = members[i]
            lay = Layout(m.layout.n_families + n_new, d, m.layout.n_bench, m.layout.full, m.layout.hidden)
            blocks = {k: torch.as_tensor(v) for k, v in m.blocks().items()}
            blocks["alpha"] = torch.cat(
                [blocks["alpha"], torch.as_tensor(start, dtype=blocks["alpha"].dtype) @ blocks["alpha"]]
            )
            rows.append(pack(lay, blocks))
            layouts.append(lay)
        lay = layouts[0]
        n_old = members[idx[0]].layout.n_families
        slots = [""] * lay.n_families  # the old and new families, by index
        design = Design([str(k) for k in range(len(fam))], slots, [None] * len(slots), x, fam + n_old, y, chance)
        batch = pad_designs([design] * len(idx), members[idx[0]].params.dtype)
        trainable = torch.zeros(lay.size)
        a, _ = lay.offsets()["alpha"]
        trainable[a + n_old * d : a + (n_old + n_new) * d] = 1.0
        flat = torch.stack(rows).to(batch.x.dtype)
        lr = torch.full((len(idx),), 0.01, dtype=flat.dtype)
        res = _optimise(lay, flat, batch, lr, trainable, torch.zeros(lay.size), schedule, None)
        for k, i in enumerate(idx):
            m = members[i]
            out[i] = Member(lay, res.params[k], m.train_mae, m.steps, m.lr)
    return [m for m in out if m is not None]
