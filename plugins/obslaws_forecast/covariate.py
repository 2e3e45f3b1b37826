"""The covariate model: per benchmark, a weighted ridge regression on the logit scale.

    z_ij = a_j + b_j . covariates_i + u_{family(i), j} + v_{group(i), j} + e_ij

Covariates are log parameters, log tokens, their product and the release date (so a family
never seen before gets the intercept its date and size predict: the drift of family
efficiency over time); family and group effects u, v are shrunk by ``pooling`` (partial pooling:
a larger value pulls a family with few models harder towards what its covariates predict: a
family with m models keeps about m / (m + pooling) of its own effect).

The normal equations of every benchmark are built once (one batched product) and solved for
each pooling value, so that comparing poolings on inner folds costs one solve each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import LEVELS, Design, ModelTable
from .scale import weight

FIXED_RIDGE = 1e-3  # keeps near-constant covariate columns (all present, all missing) solvable


@dataclass
class NormalEquations:
    """X'WX (J, p, p) and X'Wz (J, p) of every benchmark, for one design and one data set."""

    design: Design
    gram: np.ndarray
    rhs: np.ndarray

    @classmethod
    def build(
        cls,
        table: ModelTable,
        z: np.ndarray,
        observed: np.ndarray,
        terms: tuple[str, ...],
        levels: tuple[str, ...] = LEVELS,
        weight_power: float = 1.0,
    ) -> NormalEquations:
        design = Design.fit(table, terms, levels)
        x = design.matrix(table)
        w = np.where(observed, weight(z, weight_power), 0.0)
        w = w / np.maximum(w.sum(axis=0) / np.maximum(observed.sum(axis=0), 1), 1e-12)
        xw = w.T[:, :, None] * x[None, :, :]  # (J, n, p)
        gram = np.matmul(xw.transpose(0, 2, 1), x)
        rhs = np.einsum("jnp,nj->jp", xw, z)
        return cls(design, gram, rhs)

    def solve(self, pooling: float) -> CovariateModel:
        p = self.gram.shape[1]
        penalty = np.full(p, float(pooling))
        penalty[: self.design.n_fixed] = FIXED_RIDGE
        penalty[0] = FIXED_RIDGE * 1e-3
        coef = np.linalg.solve(self.gram + np.diag(penalty)[None], self.rhs[:, :, None])[:, :, 0]
        return CovariateModel(self.design, coef.T)


@dataclass
class CovariateModel:
    design: Design
    coef: np.ndarray  # (p, J)

    @classmethod
    def fit(
        cls,
        table: ModelTable,
        z: np.ndarray,
        observed: np.ndarray,
        terms: tuple[str, ...],
        pooling: float,
        levels: tuple[str, ...] = LEVELS,
    ) -> CovariateModel:
        return NormalEquations.build(table, z, observed, terms, levels).solve(pooling)

    def predict(self, table: ModelTable) -> np.ndarray:
        return self.design.matrix(table) @ self.coef
