"""The report's figures. Each function draws one PNG from plain data and returns its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

DPI = 110


def _save(fig: plt.Figure, path: Path, tight: bool = True) -> Path:
    if tight:
        fig.tight_layout()
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


# The predicted-vs-actual grid has fixed margins (inches) instead of tight_layout: every panel
# carries the same labels and ticks, and tight_layout's extra draw was a third of its CPU time.
PANEL_INCHES = (4.2, 4.0)
MARGIN_INCHES = {
    "left": 0.65,
    "right": 0.2,
    "top": 0.75,
    "bottom": 0.55,
    "legend_row": 0.2,
    "gap_w": 0.75,
    "gap_h": 0.9,
}
PERCENT_TICKS = [0, 20, 40, 60, 80, 100]


def _panel_grid(rows: int, cols: int, legend_rows: int) -> tuple[plt.Figure, np.ndarray]:
    """A figure of rows x cols square-ish panels with fixed margins and room for a legend below."""
    m = MARGIN_INCHES
    bottom = m["bottom"] + m["legend_row"] * legend_rows  # the figure grows with its legend
    width, height = PANEL_INCHES[0] * cols, PANEL_INCHES[1] * rows + bottom - m["bottom"]
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    panel_w = (width - m["left"] - m["right"]) / cols
    panel_h = (height - m["top"] - bottom) / rows
    fig.subplots_adjust(
        left=m["left"] / width,
        right=1 - m["right"] / width,
        bottom=bottom / height,
        top=1 - m["top"] / height,
        wspace=m["gap_w"] / (panel_w - m["gap_w"]),
        hspace=m["gap_h"] / (panel_h - m["gap_h"]),
    )
    return fig, axes


def predicted_vs_actual(cells: pl.DataFrame, title: str, path: Path) -> Path:
    """One panel per fitter: backtest predictions against the held-out truth, with intervals.

    ``cells``: fitter, benchmark, truth, prediction, lower, upper. Each panel is two artists (all
    its intervals, all its points, coloured per benchmark): a few thousand cells draw in about
    half a second.
    """
    fitters = sorted(cells["fitter"].unique().to_list())
    benchmarks = sorted(cells["benchmark"].unique().to_list())
    cols = min(3, max(len(fitters), 1))
    rows = int(np.ceil(len(fitters) / cols)) or 1
    legend_cols = min(2 * cols, max(len(benchmarks), 1))  # two legend columns fit a panel's width
    fig, axes = _panel_grid(rows, cols, int(np.ceil(len(benchmarks) / legend_cols)))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(benchmarks), 1)))
    order = {bench: i for i, bench in enumerate(benchmarks)}
    index = pl.col("benchmark").replace_strict(order, return_dtype=pl.Int64)
    cells = cells.with_columns(index.alias("_colour")).sort("_colour", maintain_order=True)  # benchmarks drawn in turn
    for ax, fitter in zip(axes.flat, fitters, strict=False):
        mine = cells.filter(pl.col("fitter") == fitter)
        colour = colours[mine["_colour"].to_numpy()]
        truth, pred = mine["truth"].to_numpy() * 100, mine["prediction"].to_numpy() * 100
        has = (mine["lower"].is_not_null() & mine["upper"].is_not_null()).to_numpy()
        if has.any():
            lower, upper = mine["lower"].to_numpy()[has] * 100, mine["upper"].to_numpy()[has] * 100
            ax.vlines(truth[has], lower, upper, colors=colour[has], alpha=0.25, lw=0.8)
        ax.scatter(truth, pred, s=12, c=colour, zorder=3)
        mae = float((mine["prediction"] - mine["truth"]).abs().mean() * 100) if mine.height else float("nan")
        ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xticks(PERCENT_TICKS)
        ax.set_yticks(PERCENT_TICKS)
        ax.set_title(f"{fitter} (cell MAE {mae:.1f} pt)", fontsize=10)
        ax.set_xlabel("actual (%)")
        ax.set_ylabel("predicted (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(fitters) :]:
        ax.axis("off")
    if benchmarks:
        handles = [Line2D([], [], ls="", marker="o", ms=4, color=colour) for colour in colours[: len(benchmarks)]]
        fig.legend(handles, benchmarks, loc="lower center", ncol=legend_cols, fontsize=7, frameon=False)
    fig.suptitle(title)
    return _save(fig, path, tight=False)  # laid out by _panel_grid


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
