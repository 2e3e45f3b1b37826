"""Family compute efficiency: capabilities against log10 compute, per family and pooled.

Ruan et al. model each capability of family f as PC = theta_f log C + nu_f. Three things here:

- :func:`family_efficiency`: per family (>= 2 models) the slope, intercept and R^2 of each
  capability (and of the target's logit) against log10 FLOPs: the table ``family_efficiency``;
- :class:`CapabilityTrend`: one slope per capability shared by all families, one intercept per
  family (within-family regression). It predicts the capabilities of a model from its compute
  and family alone ("PCA + FLOPs (adapted)" of the Sloth paper), used when a query model has
  no benchmark scores;
- :func:`equivalent_compute`: a model's fitted logit mapped onto a reference family's compute
  axis: the FLOPs at which that family would reach the same logit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and R^2 of y on x (R^2 NaN when y does not vary or n < 3)."""
    slope, intercept = np.polyfit(x, y, 1)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if len(x) < 3 or ss_tot <= 0:
        return float(slope), float(intercept), float("nan")
    ss_res = float(((y - (slope * x + intercept)) ** 2).sum())
    return float(slope), float(intercept), 1.0 - ss_res / ss_tot


def family_efficiency(
    values: np.ndarray, names: Sequence[str], log10_flops: np.ndarray, families: Sequence[str]
) -> list[dict[str, object]]:
    """Per family and column of ``values`` (n, c): slope and intercept against log10 FLOPs, with R^2.

    Families with fewer than two models with distinct compute are skipped.
    """
    families_arr = np.asarray(families, dtype=object)
    rows: list[dict[str, object]] = []
    for family in sorted(set(families)):
        sel = families_arr == family
        x = log10_flops[sel]
        if sel.sum() < 2 or np.ptp(x) <= 0:
            continue
        for j, name in enumerate(names):
            slope, intercept, r2 = _line(x, values[sel, j])
            rows.append(
                {
                    "family": family,
                    "component": name,
                    "slope": slope,
                    "intercept": intercept,
                    "r2": None if np.isnan(r2) else r2,
                    "n_models": int(sel.sum()),
                }
            )
    return rows


@dataclass(frozen=True)
class CapabilityTrend:
    """Capabilities from compute: PC_k = slope_k log10 C + intercept_{family, k}.

    Attributes
    ----------
    slope:
        Shared slopes (K,), from within-family variation only (families with >= 2 models).
    intercepts:
        Intercept vector (K,) per family and per family group seen in training.
    global_intercept:
        Intercept (K,) for a model of an unseen family: the mean over all training models.
    residuals:
        Training residuals (n, K), resampled for intervals.
    """

    slope: np.ndarray
    intercepts: dict[str, np.ndarray]
    global_intercept: np.ndarray
    residuals: np.ndarray

    def intercept_for(self, family: str | None, group: str | None) -> np.ndarray:
        for key in (family, group):
            if key is not None and key in self.intercepts:
                return self.intercepts[key]
        return self.global_intercept

    def predict(
        self, log10_flops: np.ndarray, families: Sequence[str | None], groups: Sequence[str | None]
    ) -> np.ndarray:
        base = np.array([self.intercept_for(f, g) for f, g in zip(families, groups, strict=True)])
        return base.reshape(len(log10_flops), -1) + np.outer(log10_flops, self.slope)


def fit_capability_trend(
    pcs: np.ndarray, log10_flops: np.ndarray, families: Sequence[str], groups: Sequence[str | None]
) -> CapabilityTrend:
    """Fit the shared-slope, family-intercept model of capabilities on compute."""
    fam = np.asarray(families, dtype=object)
    xc = log10_flops.copy()
    yc = pcs.copy()
    for family in set(families):
        sel = fam == family
        xc[sel] -= log10_flops[sel].mean()
        yc[sel] -= pcs[sel].mean(axis=0)
    denom = float((xc**2).sum())
    if denom > 0:
        slope = (xc @ yc) / denom
    else:  # every family has one model (or one compute): fall back to the pooled regression
        xd = log10_flops - log10_flops.mean()
        slope = (xd @ (pcs - pcs.mean(axis=0))) / max(float((xd**2).sum()), 1e-12)
    offsets = pcs - np.outer(log10_flops, slope)
    intercepts: dict[str, np.ndarray] = {}
    for key_list in (groups, families):  # families last: a family beats its group
        keys = np.asarray([k if k is not None else "" for k in key_list], dtype=object)
        for key in set(keys) - {""}:
            intercepts[key] = offsets[keys == key].mean(axis=0)
    fitted = np.array([intercepts[f] for f in families]) + np.outer(log10_flops, slope)
    return CapabilityTrend(slope, intercepts, offsets.mean(axis=0), pcs - fitted)


def equivalent_compute(
    logits: np.ndarray,
    intercept: float,
    weights: np.ndarray,
    ref_slope: np.ndarray,
    ref_intercept: np.ndarray,
) -> np.ndarray:
    """log10 FLOPs at which the reference family reaches each model's logit.

    With the reference family's capabilities PC(C) = ref_slope log10 C + ref_intercept, its logit
    is alpha + w'ref_intercept + (w'ref_slope) log10 C; solve for log10 C. NaN where the
    reference logit does not grow with compute.
    """
    rate = float(weights @ ref_slope)
    if not np.isfinite(rate) or abs(rate) < 1e-12:
        return np.full(len(logits), np.nan)
    return (logits - intercept - float(weights @ ref_intercept)) / rate
