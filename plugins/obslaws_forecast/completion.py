"""Latent capability from a model's other scores: low-rank completion of logit residuals.

After the covariate model, what is left (residual logits r = z - z_cov) still correlates
across benchmarks: a model that beats its size on MMLU tends to beat it on ARC. The training
residual matrix (models x benchmarks, with gaps) is completed as column offsets plus rank k by
hard-impute (iterated SVD, gaps refilled from the current fit); its benchmark factors V then turn a
query model's residuals on the benchmarks it has into residuals on those it lacks, by a ridge
regression of its observed residuals on V: u = argmin |r_O - m_O - V_O u|^2 + alpha |u|^2,
prediction m + V u. A model with no scores gets the offsets m (about 0 after the covariate model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dsyevx


def _top_directions(x: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """The leading ``rank`` right singular vectors (J, rank) and singular values of ``x``, from the
    eigendecomposition of the small J x J Gram matrix (many times cheaper than an SVD of x), of its
    top ``rank`` eigenpairs only (LAPACK's dsyevx: about 2-3x cheaper than all of them, equal to
    them to rounding; the directions' signs are arbitrary either way)."""
    gram = x.T @ x
    size = gram.shape[0]
    rank = min(rank, size)
    values, vectors, found, _fail, info = dsyevx(gram, range="I", il=size - rank + 1, iu=size, lower=1)
    if info != 0 or found != rank:
        raise np.linalg.LinAlgError(f"dsyevx found {found} of the top {rank} eigenpairs (info {info})")
    # ascending, in the first ``rank`` entries: the largest first
    return vectors[:, rank - 1 :: -1], np.sqrt(np.maximum(values[rank - 1 :: -1], 0.0))


# Completions already computed in this process, by their inputs' digest: about one call in ten of
# the refresh plan's forecaster jobs repeats an earlier one (another inner fold or configuration whose
# training residuals are the same), and the digest costs about 1% of a completion.
_DONE: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
CACHED = 4096  # completions kept (a few kB each); the oldest goes first


def forget_completions() -> None:
    """Empty the cache (timing scripts that run the same fits twice in one process)."""
    _DONE.clear()


def hard_impute(r: np.ndarray, observed: np.ndarray, rank: int, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Column offsets m (J,) and factors V (J, rank) of the offsets-plus-rank-``rank`` completion of
    ``r``, V scaled so that the models' factor scores have unit variance."""
    digest = hashlib.blake2b(repr((r.shape, int(rank), int(iterations))).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(r, dtype=float).data)
    digest.update(np.ascontiguousarray(observed, dtype=bool).data)
    key = digest.digest()
    if key not in _DONE:
        if len(_DONE) >= CACHED:
            del _DONE[next(iter(_DONE))]
        _DONE[key] = _hard_impute(r, observed, rank, iterations)
    offsets, factors = _DONE[key]
    return offsets.copy(), factors.copy()


def _hard_impute(r: np.ndarray, observed: np.ndarray, rank: int, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.maximum(observed.sum(axis=0), 1)
    offsets = np.where(observed, r, 0.0).sum(axis=0) / counts
    filled = np.where(observed, r, offsets)
    gaps = np.flatnonzero(~observed)  # the gaps' flat positions, in the order a boolean mask takes them
    at_gaps = filled.take(gaps)  # filled's values there (the last sweep's, which copyto leaves)
    for _ in range(iterations):
        offsets = np.add.reduce(filled, axis=0) / filled.shape[0]  # filled.mean(axis=0), less its overhead
        centred = filled - offsets
        v, _s = _top_directions(centred, rank)
        low = centred @ v @ v.T + offsets
        now = low.take(gaps)
        change = np.sum((now - at_gaps) ** 2)
        np.copyto(low, r, where=observed)
        filled, at_gaps = low, now
        if change < 1e-10 * max(np.sum(filled**2), 1e-12):
            break
    offsets = np.add.reduce(filled, axis=0) / filled.shape[0]  # filled.mean(axis=0), less its overhead
    v, s = _top_directions(filled - offsets, rank)
    return offsets, (v * s) / np.sqrt(max(filled.shape[0], 1))


@dataclass
class ResidualCompletion:
    rank: int = 2
    alpha: float = 1.0
    offsets_: np.ndarray | None = field(default=None, repr=False)
    factors_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, residuals: np.ndarray, observed: np.ndarray) -> ResidualCompletion:
        rank = min(self.rank, *residuals.shape)
        if rank > 0:
            self.offsets_, self.factors_ = hard_impute(residuals, observed, rank)
        else:
            self.offsets_, self.factors_ = np.zeros(residuals.shape[1]), np.zeros((residuals.shape[1], 0))
        return self

    def predict(self, residuals: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Residuals (n, J) for every cell from each model's observed residuals."""
        v, m = self.factors_, self.offsets_
        out = np.tile(m, (residuals.shape[0], 1))
        if v.shape[1] == 0:
            return out
        # every model's ridge system at once: (V_O' V_O + alpha I) u = V_O' (r_O - m_O)
        o = observed.astype(float)
        gram = np.einsum("nj,jr,js->nrs", o, v, v) + self.alpha * np.eye(v.shape[1])[None]
        rhs = np.einsum("nj,jr->nr", o * (residuals - m[None, :]), v)
        u = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        return out + np.where(observed.any(axis=1)[:, None], u @ v.T, 0.0)
