"""The family bootstrap of a backtest's MAE: the statistic is the summary's, each replicate is the
summary of a resampled set of cells, and paired ratios share their draws."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_backtest import LogLinear

from obslaws.backtest import run_backtest, summarise
from obslaws.backtest.uncertainty import (
    MaeReplicates,
    bootstrap_weights,
    cluster_labels,
    mae_interval,
    ratio_interval,
)
from obslaws.testing import synthetic_data


def _backtests():
    data = synthetic_data()
    return data, [
        run_backtest(LogLinear(), data, "family-holdout", write=False),  # averaged by split
        run_backtest(LogLinear(), data, "compute-cutoff", cutoff=1e21, write=False),  # by cell
        run_backtest(LogLinear(), data, "cell-holdout", write=False),  # by cell, over three folds
    ]


def test_the_estimate_is_the_summary_mae_on_real_backtests():
    data, results = _backtests()
    assert {r.averaging for r in results} == {"split", "cell"}
    for result in results:
        clusters = cluster_labels(result.cells, data.models)
        families = dict(data.models.select("model_id", "family").iter_rows())
        assert clusters.tolist() == [families[m] for m in result.cells["model_id"].to_list()]
        interval = mae_interval(result.cells, result.averaging, clusters)
        assert interval.estimate == pytest.approx(result.summary()["average"]["mae_pt"], rel=1e-12)
        assert interval.lower <= interval.estimate <= interval.upper
        assert interval.lower < interval.upper  # families differ in their errors


@pytest.mark.parametrize("averaging", ["split", "cell"])
def test_a_replicate_is_the_summary_of_the_resampled_cells(averaging):
    """Weights w per family give the MAE of the cells with each family's rows repeated w times
    (a family drawn 0 times is gone, from every split it was in)."""
    data, results = _backtests()
    cells = results[0].cells if averaging == "split" else results[2].cells
    clusters = cluster_labels(cells, data.models)
    universe = np.unique(clusters)
    replicates = MaeReplicates(cells, averaging, np.searchsorted(universe, clusters), universe.size)
    for weights in bootstrap_weights(universe.size, n_boot=5, seed=3):
        repeated = pl.concat(
            [
                cells.filter(pl.Series(clusters == family))
                for family, w in zip(universe, weights, strict=True)
                for _ in range(int(w))
            ]
        )
        expected = summarise(repeated, averaging)["average"]["mae_pt"]
        assert replicates.evaluate(weights[None, :])[0] == pytest.approx(expected, rel=1e-12)


def _cells(errors: dict[str, list[float]]) -> tuple[pl.DataFrame, np.ndarray]:
    rows = [
        {"split": "s", "model_id": f"{family}-{i}", "benchmark": b, "truth": 0.5, "prediction": 0.5 + e}
        for family, errs in errors.items()
        for i, e in enumerate(errs)
        for b in ("x", "y")
    ]
    cells = pl.DataFrame(rows).with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("lower", "upper", "stderr"))
    return cells, np.array([m.split("-")[0] for m in cells["model_id"].to_list()])


def test_equal_errors_give_no_width_and_one_family_carrying_the_error_gives_much():
    even, even_clusters = _cells({f"f{k}": [0.05, -0.05] for k in range(8)})
    assert mae_interval(even, "cell", even_clusters) == pytest.approx(mae_interval(even, "cell", even_clusters))
    flat = mae_interval(even, "cell", even_clusters)
    assert (flat.lower, flat.estimate, flat.upper) == pytest.approx((5.0, 5.0, 5.0))
    one, one_clusters = _cells({"f0": [0.3, 0.3], **{f"f{k}": [0.01, 0.01] for k in range(1, 8)}})
    skewed = mae_interval(one, "cell", one_clusters)
    assert skewed.upper - skewed.lower > 5  # whether f0 is drawn 0, 1 or 2 times moves the MAE by points
    # the same cells as if every model were its own family: narrower, since 2 of 16 carry the error
    by_model = mae_interval(one, "cell", one["model_id"].to_numpy())
    assert by_model.upper - by_model.lower < skewed.upper - skewed.lower


def test_draws_are_fixed_by_the_seed_and_the_level_sets_the_percentiles():
    cells, clusters = _cells({f"f{k}": [0.01 * k, -0.02 * k] for k in range(10)})
    first, again = mae_interval(cells, "cell", clusters), mae_interval(cells, "cell", clusters)
    assert first == again
    assert mae_interval(cells, "cell", clusters, seed=1) != first
    wide = mae_interval(cells, "cell", clusters, level=0.99)
    assert wide.lower <= first.lower and wide.upper >= first.upper and wide.level == 0.99


def test_ratios_are_paired_on_the_same_draws():
    cells, clusters = _cells({f"f{k}": [0.01 * (k + 1), -0.03 * (k % 3)] for k in range(9)})
    same = ratio_interval((cells, clusters), (cells, clusters), "cell")
    assert (same.lower, same.estimate, same.upper) == pytest.approx((1.0, 1.0, 1.0))
    # twice the error in every cell: exactly 0.5 on every draw, however wide each MAE's own interval
    doubled = cells.with_columns((0.5 + 2 * (pl.col("prediction") - 0.5)).alias("prediction"))
    half = ratio_interval((cells, clusters), (doubled, clusters), "cell")
    assert (half.lower, half.estimate, half.upper) == pytest.approx((0.5, 0.5, 0.5))
    alone = mae_interval(cells, "cell", clusters)
    assert alone.upper - alone.lower > 0.1
    # cells only one backtest scored (a family a FLOPs-based fitter left out) are compared in
    # neither: the extra family's large errors do not move the ratio off 0.5 on any draw
    extra, extra_clusters = _cells({"g": [0.2, 0.2]})
    more = pl.concat([cells, extra])
    ratio = ratio_interval((more, np.r_[clusters, extra_clusters]), (doubled, clusters), "cell")
    assert (ratio.lower, ratio.estimate, ratio.upper) == pytest.approx((0.5, 0.5, 0.5))
    assert summarise(more, "cell")["average"]["mae_pt"] > 1.3 * summarise(cells, "cell")["average"]["mae_pt"]


def test_a_model_without_a_family_is_its_own_cluster():
    cells = pl.DataFrame({"model_id": ["a", "b", "c"]})
    models = pl.DataFrame({"model_id": ["a", "b"], "family": ["fa", ""]})
    assert cluster_labels(cells, models).tolist() == ["fa", "b", "c"]
    assert cluster_labels(cells, models.drop("family")).tolist() == ["a", "b", "c"]


def test_the_summary_carries_the_interval_and_sql_reads_it():
    import json

    import obslaws

    conn = obslaws.connect(":memory:", plugins=False)
    data = synthetic_data()
    result = run_backtest(LogLinear(), data, "family-holdout", conn=conn)
    expected = mae_interval(result.cells, result.averaging, cluster_labels(result.cells, data.models))
    assert result.summary()["mae_interval_pt"] == [expected.lower, expected.upper]
    stored = conn.execute(
        "SELECT summary->>'$.mae_interval_pt[0]', summary->>'$.mae_interval_pt[1]', summary FROM backtest_runs"
    ).fetchall()[0]
    assert [float(stored[0]), float(stored[1])] == pytest.approx([expected.lower, expected.upper])
    assert json.loads(stored[2])["mae_interval_pt"] == pytest.approx([expected.lower, expected.upper])


def test_the_report_recomputes_an_interval_an_older_summary_lacks():
    import obslaws
    from obslaws.report.intervals import mae_intervals

    conn = obslaws.connect(":memory:", plugins=False)
    data = synthetic_data()
    # the report reads the test models' families from `models`
    for model in data.models.iter_rows(named=True):
        conn.execute(
            "INSERT INTO families (family, family_group) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [model["family"], model["family"]],
        )
        conn.execute(
            "INSERT INTO models (model_id, family, variant, source_id) VALUES (?, ?, 'base', 'test')",
            [model["model_id"], model["family"]],
        )
    results = [
        run_backtest(LogLinear(), data, "family-holdout", conn=conn),
        run_backtest(LogLinear(), data, "compute-cutoff", conn=conn, cutoff=1e21),
    ]
    summaries = {r.backtest_id: r.summary() for r in results}
    assert mae_intervals(conn, summaries) == {i: tuple(s["mae_interval_pt"]) for i, s in summaries.items()}
    older = {i: {k: v for k, v in s.items() if k != "mae_interval_pt"} for i, s in summaries.items()}
    recomputed = mae_intervals(conn, older)
    for backtest_id, summary in summaries.items():
        assert recomputed[backtest_id] == pytest.approx(tuple(summary["mae_interval_pt"]))
