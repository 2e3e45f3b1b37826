"""Mean-centred (not standardised) PCA with a fixed sign convention."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Capabilities:
    """A fitted PCA: benchmark scores to K capability scores ("PCs").

    Attributes
    ----------
    mean:
        Column means of the training matrix (J,).
    components:
        Loadings (K, J), orthonormal rows. Sign convention: the loading of largest magnitude in
        each row is positive (scikit-learn >= 1.5 does the same; older versions flipped by the
        scores instead, which is why upstream coefficients change sign between versions).
    explained_variance_ratio:
        Share of the total variance each component explains (K,).
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """PC scores (n, K) of complete score rows (n, J)."""
        return (scores - self.mean) @ self.components.T


def fit_capabilities(scores: np.ndarray, n_components: int) -> Capabilities:
    """PCA of a complete (imputed) training matrix (n, J), keeping ``n_components``.

    Raises
    ------
    ValueError
        If ``n_components`` exceeds min(n, J).
    """
    from sklearn.decomposition import PCA  # imported when a fit needs it, not when plugins load

    n, j = scores.shape
    if n_components > min(n, j):
        raise ValueError(f"cannot keep {n_components} components of a {n} x {j} matrix")
    pca = PCA(n_components=n_components, svd_solver="full").fit(scores)
    comps = pca.components_
    # scikit-learn >= 1.5 already makes the largest loading positive; older versions flip by the scores
    flip = np.sign(comps[np.arange(n_components), np.abs(comps).argmax(axis=1)])
    return Capabilities(pca.mean_, comps * flip[:, None], pca.explained_variance_ratio_)
