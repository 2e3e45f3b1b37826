"""Density over release dates, with the envelope and its fitted trend (matplotlib, Agg)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from obslaws_densing.trend import EPOCH, DensityTrend, days


def plot_density(
    densities: pl.DataFrame,
    trend: DensityTrend | None,
    path: str | Path,
    *,
    reference_family: str = "",
    benchmarks: tuple[str, ...] = (),
    label_envelope: bool = True,
) -> Path:
    """Write a PNG of density (log scale) against release date; returns its path.

    Parameters
    ----------
    densities:
        ``model_id, release_date, density`` and optionally ``envelope`` (bool), e.g. ``DensingFitter.densities_``.
    trend:
        The envelope's fitted trend, drawn as a line with its doubling time; ``None`` for none.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = densities.filter(pl.col("release_date").is_not_null()).sort("release_date")
    env = dated["envelope"].to_numpy() if "envelope" in dated.columns else np.zeros(dated.height, dtype=bool)
    fig, ax = plt.subplots(figsize=(8, 5))
    dates = dated["release_date"].to_list()
    ax.scatter(dates, dated["density"], s=14, color="0.6", label="models")
    ax.scatter([d for d, e in zip(dates, env, strict=True) if e], dated["density"].filter(pl.Series(env)), s=30,
               color="C3", label="envelope (density records)")  # fmt: skip
    if label_envelope:
        for row in dated.filter(pl.Series(env)).iter_rows(named=True):
            ax.annotate(row["model_id"].split("/")[-1], (row["release_date"], row["density"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
    if trend is not None and dates:
        t = np.linspace(days([dates[0]])[0], days([dates[-1]])[0], 50)
        xs = [EPOCH + dt.timedelta(days=float(v)) for v in t]
        ax.plot(xs, np.exp(trend.log_density(t)), color="C0",
                label=f"ln rho_max = {trend.slope_per_day:.4f} t + c; doubling {trend.doubling_days:.0f} d "
                      f"[{trend.doubling_lo:.0f}, {trend.doubling_hi:.0f}]")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("release date")
    ax.set_ylabel(f"density (effective / actual params), reference: {reference_family}")
    if benchmarks:
        ax.set_title("Capacity density on " + ", ".join(benchmarks))
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
