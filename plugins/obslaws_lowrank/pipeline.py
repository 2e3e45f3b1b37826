"""One target's observational scaling law: impute -> PCA -> sigmoid link (+ bootstrap, + compute trend)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from obslaws_lowrank.diagnostics import CapabilityTrend, fit_capability_trend
from obslaws_lowrank.impute import RankOneImputer, fit_rank_one_imputer
from obslaws_lowrank.intervals import LinkBootstrap, bootstrap_link
from obslaws_lowrank.link import LinkFit, fit_link
from obslaws_lowrank.pca import Capabilities, fit_capabilities


@dataclass(frozen=True)
class Settings:
    """The numerical settings one target's fit uses (from the fitter's hyperparameters)."""

    n_components: int
    ridge: float
    n_random_starts: int
    floor_max: float
    max_slope: float
    max_logit: float
    n_bootstrap: int
    impute_tol: float
    impute_max_iter: int
    random_state: int


@dataclass(frozen=True)
class TargetLaw:
    """Everything learned for one target benchmark.

    Attributes
    ----------
    inputs:
        The benchmarks the capabilities are built from.
    imputer, capabilities, link:
        The three fitted stages.
    bootstrap:
        Link replicates and residuals for intervals (None when ``n_bootstrap`` is 0).
    trend:
        Capabilities as a function of compute and family, for query models without scores
        (None when the training models lack FLOPs).
    train_ids:
        The training models the law was fitted on (those with the target and an input score).
    train_pcs:
        Their capability scores (n, K).
    """

    target: str
    inputs: tuple[str, ...]
    imputer: RankOneImputer
    capabilities: Capabilities
    link: LinkFit
    bootstrap: LinkBootstrap | None
    trend: CapabilityTrend | None
    train_ids: tuple[str, ...]
    train_pcs: np.ndarray

    def capability_scores(self, scores: np.ndarray) -> np.ndarray:
        """Capabilities (m, K) of models with (possibly incomplete) input scores (m, J)."""
        return self.capabilities.transform(self.imputer.transform(scores))

    def benchmark_weights(self) -> np.ndarray:
        """The link's weights in benchmark space, gamma' beta: comparable across PCA sign flips."""
        return self.capabilities.components.T @ self.link.weights


def fit_target_law(
    target: str,
    inputs: tuple[str, ...],
    ids: list[str],
    x: np.ndarray,
    y: np.ndarray,
    log10_flops: np.ndarray,
    families: list[str],
    groups: list[str | None],
    settings: Settings,
) -> TargetLaw:
    """Fit one target's law on training rows (models with the target and >= 1 input score).

    Parameters
    ----------
    x:
        Input scores (n, J), NaN where missing.
    y:
        Target scores (n,).
    log10_flops:
        log10 training FLOPs (n,), NaN where unknown.
    families, groups:
        Fine-grained family and family group of each training model.
    """
    imputer, imputed = fit_rank_one_imputer(x, tol=settings.impute_tol, max_iter=settings.impute_max_iter)
    k = min(settings.n_components, imputed.shape[1], max(imputed.shape[0] - 1, 1))
    caps = fit_capabilities(imputed, k)
    pcs = caps.transform(imputed)
    link = fit_link(
        pcs,
        y,
        ridge=settings.ridge,
        n_random=settings.n_random_starts,
        seed=settings.random_state,
        floor_max=settings.floor_max,
        max_slope=settings.max_slope,
        max_logit=settings.max_logit,
    )
    boot = None
    if settings.n_bootstrap > 0:
        rng = np.random.default_rng(settings.random_state)
        boot = bootstrap_link(
            pcs,
            y,
            link.params,
            n_boot=settings.n_bootstrap,
            ridge=settings.ridge,
            floor_max=settings.floor_max,
            rng=rng,
            max_slope=settings.max_slope,
            max_logit=settings.max_logit,
        )
    known = np.isfinite(log10_flops)
    trend = None
    if known.sum() >= 2:
        trend = fit_capability_trend(
            pcs[known],
            log10_flops[known],
            [families[i] for i in np.flatnonzero(known)],
            [groups[i] for i in np.flatnonzero(known)],
        )
    return TargetLaw(target, inputs, imputer, caps, link, boot, trend, tuple(ids), pcs)
