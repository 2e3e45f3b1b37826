"""The report's figures. Each function draws one PNG from plain data and returns its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

DPI = 110


def _save(fig: plt.Figure, path: Path, bottom: float = 0.0) -> Path:
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def score_vs_compute(points: pl.DataFrame, curves: pl.DataFrame, benchmark: str, fitter: str, path: Path) -> Path:
    """Score against training compute, one colour per family, with the fitted curve of each.

    ``points``: family, flops, value. ``curves``: family, flops, prediction (a grid per family).
    """
    fig, ax = plt.subplots(figsize=(8, 5.5))
    by_size = points.group_by("family").len().sort(["len", "family"], descending=[True, False])  # stable colours
    families = by_size["family"].to_list()
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(families), 1)))
    for colour, family in zip(colours, families, strict=False):
        mine = points.filter(pl.col("family") == family).sort("flops")
        ax.scatter(mine["flops"], mine["value"] * 100, color=colour, s=22, label=family, zorder=3)
        curve = curves.filter(pl.col("family") == family).sort("flops")
        if curve.height:
            ax.plot(curve["flops"], curve["prediction"] * 100, color=colour, lw=1.4, alpha=0.9)
    ax.set_xscale("log")
    ax.set_xlabel("training compute (FLOPs)")
    ax.set_ylabel(f"{benchmark} (%)")
    ax.set_title(f"{benchmark}: score vs compute per family, curves from {fitter}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper left", frameon=False)
    return _save(fig, path)


def predicted_vs_actual(cells: pl.DataFrame, title: str, path: Path) -> Path:
    """One panel per fitter: backtest predictions against the held-out truth, with intervals.

    ``cells``: fitter, benchmark, truth, prediction, lower, upper.
    """
    fitters = sorted(cells["fitter"].unique().to_list())
    cols = min(3, max(len(fitters), 1))
    rows = int(np.ceil(len(fitters) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.0 * rows), squeeze=False)
    benchmarks = sorted(cells["benchmark"].unique().to_list())
    colours = dict(zip(benchmarks, plt.get_cmap("tab20")(np.linspace(0, 1, max(len(benchmarks), 1))), strict=False))
    for ax, fitter in zip(axes.flat, fitters, strict=False):
        mine = cells.filter(pl.col("fitter") == fitter)
        for bench in benchmarks:
            part = mine.filter(pl.col("benchmark") == bench)
            if not part.height:
                continue
            truth, pred = part["truth"].to_numpy() * 100, part["prediction"].to_numpy() * 100
            has = part["lower"].is_not_null() & part["upper"].is_not_null()
            if has.any():
                lo = part.filter(has)
                ax.errorbar(
                    lo["truth"] * 100,
                    lo["prediction"] * 100,
                    yerr=[(lo["prediction"] - lo["lower"]) * 100, (lo["upper"] - lo["prediction"]) * 100],
                    fmt="none",
                    ecolor=colours[bench],
                    alpha=0.25,
                    lw=0.8,
                )
            ax.scatter(truth, pred, s=12, color=colours[bench], label=bench, zorder=3)
        mae = float((mine["prediction"] - mine["truth"]).abs().mean() * 100) if mine.height else float("nan")
        ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_title(f"{fitter} (cell MAE {mae:.1f} pt)", fontsize=10)
        ax.set_xlabel("actual (%)")
        ax.set_ylabel("predicted (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(fitters) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=7, frameon=False)
    fig.suptitle(title)
    return _save(fig, path, bottom=0.07 if handles else 0.0)


def loadings_heatmap(loadings: pl.DataFrame, title: str, path: Path) -> Path:
    """Benchmarks x skills (or capabilities) heatmap. ``loadings``: benchmark, component, loading."""
    wide = loadings.pivot(on="component", index="benchmark", values="loading", aggregate_function="first").sort(
        "benchmark"
    )
    components = [c for c in wide.columns if c != "benchmark"]
    values = wide.select(components).to_numpy().astype(float)
    fig, ax = plt.subplots(figsize=(1.3 * len(components) + 3, 0.38 * wide.height + 1.6))
    bound = np.nanmax(np.abs(values)) or 1.0
    image = ax.imshow(values, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(components)), components)
    ax.set_yticks(range(wide.height), wide["benchmark"].to_list(), fontsize=8)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    return _save(fig, path)


def bar_table(rows: Sequence[tuple[str, float]], xlabel: str, title: str, path: Path) -> Path:
    """A horizontal bar chart of (label, value) rows, smallest first."""
    rows = sorted(rows, key=lambda r: r[1])
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.5))
    ax.barh([r[0] for r in rows], [r[1] for r in rows], color="steelblue")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)
