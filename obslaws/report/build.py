"""The refresh report: a markdown page with PNG figures and a CSV of predictions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pluggy
import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError, PluginError
from obslaws.plugins import call_each, plugin_manager
from obslaws.refresh.config import RefreshConfig
from obslaws.refresh.outcome import RefreshOutcome
from obslaws.report import plots
from obslaws.report.figures import FigurePool, draw_ahead
from obslaws.report.forward import detail_lines
from obslaws.report.intervals import interval_text, mae_intervals
from obslaws.report.markdown import markdown_table
from obslaws.report.section import layout
from obslaws.report.shared import shared_maes
from obslaws.store.query import read_frame

if TYPE_CHECKING:
    from obslaws.refresh.parallel import Workers


# The covariates a fitter may need of the models it predicts, and those the score-vs-compute
# curve's hypothetical models carry (scores and losses are what a fitter learns from).
COVARIATES = frozenset({"params", "tokens", "flops", "family", "release_date"})
CURVE_COVARIATES = frozenset({"flops", "family"})


def _curve_figure(conn, fits: list, config: RefreshConfig) -> tuple[tuple, str]:
    """The arguments of the score-vs-compute figure (for the report's benchmark, with the curve
    fitter's per-family curves) but its path, or ``()`` and why there is none."""
    benchmark = config.report.get("curve_benchmark", "mmlu")
    wanted = config.curve_fitter
    fit = next((f for f in fits if f.fitter == wanted and f.instance is not None), None)
    if fit is None or benchmark not in fit.benchmarks:
        return (), f"(no score-vs-compute figure: fitter {wanted} was not fitted on {benchmark})"
    # The curve's models have only a family and FLOPs: a fitter that reads more cannot draw it.
    lacking = sorted((set(fit.instance.requires.needs) & COVARIATES) - CURVE_COVARIATES)
    if lacking:
        return (), f"(no score-vs-compute figure: fitter {wanted} needs {', '.join(lacking)}, a FLOPs curve has none)"
    points = read_frame(
        conn,
        "SELECT f.model_id, f.family, f.flops, s.value FROM model_features f "
        "JOIN preferred_scores s USING (model_id) WHERE s.benchmark = ? AND f.flops IS NOT NULL "
        "AND NOT f.is_checkpoint ORDER BY f.model_id",  # ordered: the same data compare equal (draw_ahead)
        [benchmark],
    )
    # Ties broken by name: group_by's order varies from run to run, the report must not.
    big = points.group_by("family").len().filter(pl.col("len") >= 4)
    big = big.sort(["len", "family"], descending=[True, False]).head(12)
    points = points.filter(pl.col("family").is_in(big["family"].to_list()))
    rows = []
    for family in big["family"]:
        flops = points.filter(pl.col("family") == family)["flops"]
        for value in np.geomspace(flops.min() / 1.5, flops.max() * 1.5, 40):
            rows.append(
                {
                    "model_id": f"curve:{family}:{value:.4g}",
                    "family": family,
                    "family_group": family,
                    "flops": float(value),
                }
            )
    query = FitData.build(pl.DataFrame(rows), benchmarks=read_frame(conn, "SELECT * FROM benchmarks"))
    try:
        predicted = fit.instance.predict(query).filter(pl.col("benchmark") == benchmark)
    except FitterError as exc:  # a figure is not worth the whole report
        return (), f"(no score-vs-compute figure: {exc})"
    grid = pl.DataFrame(rows).join(predicted, on="model_id")
    return (points, grid, benchmark, wanted), ""


CURVES_PNG = "score_vs_compute.png"


def draw_curves_ahead(conn, shared: Workers, fits: list, config: RefreshConfig) -> None:
    """Queue the score-vs-compute figure on the refresh's workers once the fits are stored, so
    that they draw it while the parent writes the backtests; the report copies it in when its
    data are still the same (:func:`obslaws.report.figures.draw_ahead`)."""
    args, _ = _curve_figure(conn, fits, config)
    if args:
        draw_ahead(shared, plots.score_vs_compute, *args, name=CURVES_PNG)


def _backtest_section(conn, outcome: RefreshOutcome, out: Path, figures: FigurePool) -> list[str]:
    lines = [
        "## Backtests",
        "",
        "MAE in points on held-out models (family-holdout: averaged within held-out family groups, then "
        "across groups, then benchmarks, as in the Sloth paper). Noise floor: the mean sampling standard "
        "error of the test scores. Coverage: share of truths inside the fitter's 90% interval; width: its "
        "mean width in points (a wider interval covers more). "
        "MAE interval: where 90% of the MAEs fall when the test models' families are resampled with "
        "replacement (2,000 draws): how much the figure rests on which families were tested.",
        "",
    ]
    labels = list(dict.fromkeys(b.label for b in outcome.backtests))
    intervals = mae_intervals(conn, {b.backtest_id: b.summary for b in outcome.backtests if b.summary is not None})
    for label in labels:
        backtests = [b for b in outcome.backtests if b.label == label]
        done = {b.backtest_id: b.summary for b in backtests if b.summary is not None}
        cells = protocol_cells(conn, list(done))  # read once: the shared-cells column and the figure
        shared, n_shared = shared_maes(cells, done)
        lines += [f"### {label}", ""]
        lines += _protocol_table(backtests, intervals, shared)
        if shared:
            lines += [
                "The fitters were scored on different test cells (a fitter leaves out the models it lacks "
                f"covariates for); `MAE, shared cells` compares them on the {n_shared} cells every one of "
                "them scored.",
                "",
            ]
        lines += detail_lines(
            label.split(" ")[0], [(b.fitter, b.summary) for b in outcome.backtests if b.label == label]
        )
        if done:
            points, title, name = _predicted_vs_actual(cells, label)
            figures.draw(plots.predicted_vs_actual, points, title, out / name)
            lines += [f"![predicted vs actual, {label}]({name})", ""]
    return lines


def _protocol_table(backtests: list, intervals: dict, shared: dict[str, float | None]) -> list[str]:
    """One protocol's table, a row per fitter, ranked by MAE on the shared cells where the fitters
    were scored on different cells (``shared``: backtest id -> that MAE), else by their own MAE."""
    header = ["fitter", "MAE (pt)", "MAE interval", "MSE", "coverage", "width (pt)", "interval score (pt)"]
    header += ["splits", "cells", "noise floor (pt)", "time"]
    if shared:
        header.insert(3, "MAE, shared cells (pt)")
    rows = []
    for b in backtests:
        if b.summary is None:
            rows.append([b.fitter, *[None] * (len(header) - 2), b.status])
            continue
        avg, summary = b.summary.get("average", {}), b.summary
        row = [b.fitter, avg.get("mae_pt"), interval_text(intervals.get(b.backtest_id)), avg.get("mse")]
        row += [avg.get("coverage"), avg.get("interval_width_pt"), avg.get("interval_score_pt")]
        row += [summary.get("n_groups"), summary.get("n_cells")]
        row.append(summary.get("noise_floor_pt"))
        if shared:
            row.insert(3, shared.get(b.backtest_id))
        rows.append([*row, f"{b.seconds:.1f} s"])
    rank = 3 if shared else 1
    rows.sort(key=lambda r: (r[rank] is None, r[rank] if r[rank] is not None else 0, r[1] is None, r[1] or 0))
    return markdown_table(header, rows)


def protocol_cells(conn, backtest_ids: list[str]) -> pl.DataFrame:
    """The stored cells of one protocol's backtests."""
    return read_frame(
        conn,
        "SELECT backtest_id, fitter, split, model_id, benchmark, truth, prediction, lower, upper FROM backtests "
        "WHERE list_contains($ids, backtest_id)",
        {"ids": backtest_ids},
    )


def _predicted_vs_actual(cells: pl.DataFrame, label: str) -> tuple[pl.DataFrame, str, str]:
    """The points, title and file name of one protocol's predicted-vs-actual figure."""
    points = cells.select("fitter", "benchmark", "truth", "prediction", "lower", "upper")
    name = "pred_vs_actual_" + "".join(c if c.isalnum() else "_" for c in label).strip("_") + ".png"
    return points, f"Predicted vs actual: {label}", name


def draw_protocol_figure_ahead(conn, shared: Workers, label: str, backtests: list) -> None:
    """Queue the predicted-vs-actual figure of one protocol (``backtests``: its outcomes, all
    written) on the refresh's workers, so that they draw it while the parent writes the rest;
    the report uses it if its cells are still the same (:func:`obslaws.report.figures.draw_ahead`)."""
    ids = [b.backtest_id for b in backtests if b.summary is not None]
    if ids:
        points, title, name = _predicted_vs_actual(protocol_cells(conn, ids), label)
        draw_ahead(shared, plots.predicted_vs_actual, points, title, name=name)


def build_report(
    conn: duckdb.DuckDBPyConnection,
    outcome: RefreshOutcome,
    config: RefreshConfig,
    out: Path,
    pm: pluggy.PluginManager | None = None,
    workers: int | None = None,
    shared: Workers | None = None,
) -> Path:
    """Write index.md, figures and predictions.csv into ``out``; returns the page's path.

    After the backtests come the plugins' sections (``report_sections``, plugins of ``pm``,
    default the process's). The backtests' figures are drawn on ``workers`` processes (default
    one per core, as the refresh's; ``shared``: the refresh's own, already started) while the
    rest of the page is built.
    """
    from obslaws.refresh.parallel import default_workers

    out.mkdir(parents=True, exist_ok=True)
    with FigurePool(default_workers() if workers is None else workers, shared) as figures:
        page = _write_page(conn, outcome, config, out, pm, figures)
    return page


def _write_page(
    conn: duckdb.DuckDBPyConnection,
    outcome: RefreshOutcome,
    config: RefreshConfig,
    out: Path,
    pm: pluggy.PluginManager | None,
    figures: FigurePool,
) -> Path:
    from obslaws.registry import summary

    lines = [
        "# obslaws leaderboard refresh",
        "",
        f"Refresh `{outcome.refresh_id}`, {datetime.now():%Y-%m-%d %H:%M}. Plan: `{config.path}`.",
        "",
    ]
    lines += markdown_table(["what the database holds", "count"], [[k, v] for k, v in summary(conn).items()])
    lines += _fits_section(outcome)
    backtests = _backtest_section(conn, outcome, out, figures)  # first: its figures are drawn meanwhile
    curves, note = _curve_figure(conn, outcome.fits, config)
    if curves:
        figures.draw(plots.score_vs_compute, *curves, out / CURVES_PNG)
    lines += ["## Score vs compute", ""] + ([f"![score vs compute]({CURVES_PNG})", ""] if curves else [note, ""])
    lines += backtests
    pm = pm if pm is not None else plugin_manager()
    drawing: set[str] = set()  # the plugins' figures drawn on the figure workers

    def draw(function: Callable[..., Any], *args: Any) -> None:
        drawing.add(Path(args[-1]).name)
        figures.draw(_plugin_figure, function, *args)

    lines += layout(list(call_each(pm, "report_sections", conn=conn, out=out, draw=draw)), out, drawing)
    if outcome.new_models is not None and outcome.new_models.height:
        lines += _new_models_section(outcome.new_models.sort(["model_id", "benchmark"]))
    if outcome.predictions is not None and outcome.predictions.height:
        frame = outcome.predictions.sort(["model_id", "benchmark"])
        frame.write_csv(out / "predictions.csv")
        lines += _predictions_section(frame)
    lines += ["## Timing", ""]
    lines += markdown_table(["step", "seconds"], [[k, v] for k, v in outcome.steps.items()])
    page = out / "index.md"
    page.write_text("\n".join(lines), encoding="utf-8")
    return page


def _plugin_figure(function: Callable[..., Any], *args: Any) -> Any:
    """A plugin's figure (the ``report_sections`` hook's ``draw``): a failure names its function."""
    try:
        return function(*args)
    except Exception as exc:
        name = getattr(function, "__qualname__", None) or repr(function)
        raise PluginError(f"figure {Path(args[-1]).name} ({name}) failed: {type(exc).__name__}: {exc}") from exc


def _fits_section(outcome: RefreshOutcome) -> list[str]:
    rows = [
        [
            f.fitter,
            f.plugin,
            f.status,
            ", ".join(f.benchmarks[:6]) + ("…" if len(f.benchmarks) > 6 else ""),
            f"{f.seconds:.1f} s",
        ]
        for f in outcome.fits
    ]
    return ["## Fits", "", *markdown_table(["fitter", "plugin", "status", "benchmarks", "time"], rows)]


def _interval(row: dict) -> str:
    return "–" if row["lower"] is None else f"{row['lower'] * 100:.1f}–{row['upper'] * 100:.1f}"


def _new_models_section(frame: pl.DataFrame) -> list[str]:
    """The new models' predicted scores (from a fit without them) beside the measured ones."""
    scored = frame.filter(pl.col("measured").is_not_null())
    mae = float((scored["prediction"] - scored["measured"]).abs().mean() * 100) if scored.height else None
    lines = [
        "## New models in this refresh",
        "",
        f"Predicted by **{frame['fitter'][0]}** fitted without them (out of sample), against what was measured"
        + (f"; MAE {mae:.1f} points." if mae is not None else "."),
        "",
    ]
    return lines + markdown_table(
        ["model", "benchmark", "predicted (%)", "interval (%)", "measured (%)", "error (pt)"],
        [
            [
                r["model_id"],
                r["benchmark"],
                r["prediction"] * 100,
                _interval(r),
                None if r["measured"] is None else r["measured"] * 100,
                None if r["measured"] is None else (r["prediction"] - r["measured"]) * 100,
            ]
            for r in frame.iter_rows(named=True)
        ],
    )


def _predictions_section(frame: pl.DataFrame) -> list[str]:
    """The first predicted missing scores (all of them are in predictions.csv)."""
    lines = [
        "## Predictions for models without scores",
        "",
        f"{frame.height} predicted scores (with 90% intervals) from **{frame['fitter'][0]}**; "
        "all in [predictions.csv](predictions.csv), the first 25 here.",
        "",
    ]
    checked = frame["months_checked"].drop_nulls() if "months_checked" in frame.columns else []
    if len(checked):  # the predicting fitter keeps a question horizon (obslaws/fitting/horizon.py)
        after = frame.filter(pl.col("months_after_targets") > pl.col("months_checked"))
        lines[-1:] = [
            f"{after['model_id'].n_unique()} of these models ({after.height} scores) were released more than "
            f"{checked[0]:g} months after the latest model with a target score, further ahead than the "
            "fitter's time folds tested; `months_after_targets` in predictions.csv says by how much.",
            "",
        ]
    small = frame.filter(pl.col("times_smaller_than_targets") > 1) if "times_smaller_than_targets" in frame else None
    if small is not None and small.height:  # below every model with a target score (obslaws/fitting/horizon.py)
        lines[-1:] = [
            f"{small['model_id'].n_unique()} of these models ({small.height} scores) are smaller than every model "
            "with a target score, so their size trend is carried below any model fitted on; "
            "`times_smaller_than_targets` in predictions.csv says by how much.",
            "",
        ]
    return lines + markdown_table(
        ["model", "benchmark", "predicted (%)", "interval (%)"],
        [
            [r["model_id"], r["benchmark"], r["prediction"] * 100, _interval(r)]
            for r in frame.head(25).iter_rows(named=True)
        ],
    )
