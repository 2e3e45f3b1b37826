"""Backtests compared on the cells they all scored: a fitter that leaves test models out (no FLOPs)
is ranked, and divided by, on the cells the others scored too, in the report and in ratios."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from test_backtest import LogLinear

import obslaws
from obslaws.backtest import run_backtest, summarise
from obslaws.backtest.metrics import average_mae
from obslaws.backtest.shared import on_shared, shared_keys, shared_mae
from obslaws.backtest.uncertainty import cluster_labels, ratio_interval
from obslaws.fitting.lookup import get_fitters
from obslaws.report.build import _protocol_table, protocol_cells
from obslaws.report.shared import shared_maes
from obslaws.testing import synthetic_data

SPLIT = {"date": "2023-06-01"}


def _without_flops(family: str = "fam4"):
    """Synthetic data whose test family ``family`` has no FLOPs: LogLinear (which needs them)
    cannot score it, benchmark-mean (which does not) can."""
    data = synthetic_data()
    flops = pl.when(pl.col("family") == family).then(None).otherwise(pl.col("flops"))
    return dataclasses.replace(data, models=data.models.with_columns(flops.alias("flops")))


def _pair(data, conn=None):
    options = {"conn": conn} if conn is not None else {"write": False}
    return (
        run_backtest(LogLinear(), data, "time-split", **SPLIT, **options),
        run_backtest(get_fitters().create("benchmark-mean"), data, "time-split", **SPLIT, **options),
    )


def test_a_fitter_that_left_models_out_is_compared_on_the_cells_both_scored():
    data = _without_flops()
    loglinear, mean = _pair(data)
    assert "fam4-1b" in mean.cells["model_id"].to_list()
    assert "fam4-1b" not in loglinear.cells["model_id"].to_list()
    keys = shared_keys([loglinear.cells, mean.cells])
    assert keys.height == loglinear.cells.height < mean.cells.height

    maes, n = shared_mae({"loglinear": loglinear.cells, "mean": mean.cells}, "cell")
    assert n == keys.height
    assert maes["loglinear"] == pytest.approx(loglinear.summary()["average"]["mae_pt"])
    scored_by_both = mean.cells.filter(pl.col("model_id").is_in(loglinear.cells["model_id"].unique().to_list()))
    assert maes["mean"] == pytest.approx(summarise(scored_by_both, "cell")["average"]["mae_pt"])
    assert maes["mean"] != pytest.approx(mean.summary()["average"]["mae_pt"])  # the left-out family counted

    ratio = ratio_interval(
        (mean.cells, cluster_labels(mean.cells, data.models)),
        (loglinear.cells, cluster_labels(loglinear.cells, data.models)),
        "cell",
    )
    assert ratio.estimate == pytest.approx(maes["mean"] / maes["loglinear"])
    assert ratio.estimate != pytest.approx(mean.summary()["average"]["mae_pt"] / maes["loglinear"])


@pytest.mark.parametrize(("protocol", "options"), [("family-holdout", {}), ("compute-cutoff", {"cutoff": 1e21})])
def test_the_average_mae_is_the_summarys(protocol, options):
    """The shared MAE is computed without the summary's other metrics, and equals its MAE."""
    result = run_backtest(LogLinear(), synthetic_data(), protocol, write=False, **options)
    assert result.averaging == ("split" if protocol == "family-holdout" else "cell")
    expected = result.summary()["average"]["mae_pt"]
    assert average_mae(result.cells.select("split", "benchmark", "truth", "prediction"), result.averaging) == expected
    assert average_mae(result.cells.clear(), result.averaging) is None


def test_cells_are_told_apart_by_split_and_unpredicted_cells_are_not_shared():
    """A model tested at two cuts of a rolling forecast is two cells; a cell whose prediction is
    missing or NaN was not scored."""
    base = {"model_id": ["m", "m", "n"], "benchmark": ["b", "b", "b"], "truth": [0.5, 0.5, 0.5]}
    both = pl.DataFrame({"split": ["2023-07-01", "2023-10-01", "2023-07-01"], **base, "prediction": [0.6, 0.7, 0.4]})
    one_cut = both.filter(pl.col("split") == "2023-07-01").with_columns(pl.Series("prediction", [0.6, float("nan")]))
    keys = shared_keys([both, one_cut])
    assert keys.rows() == [("2023-07-01", "m", "b")]
    assert on_shared(both, keys)["prediction"].to_list() == [0.6]
    assert shared_keys([both.with_columns(pl.lit(None, pl.Float64).alias("prediction")), both]).height == 0


def test_the_report_ranks_on_the_shared_cells_where_fitters_scored_different_cells():
    conn = obslaws.connect(":memory:", plugins=False)
    loglinear, mean = _pair(_without_flops(), conn)
    summaries = {r.backtest_id: r.summary() for r in (loglinear, mean)}
    maes, n = shared_maes(protocol_cells(conn, list(summaries)), summaries)
    expected, n_expected = shared_mae({r.backtest_id: r.cells for r in (loglinear, mean)}, "cell")
    assert n == n_expected == loglinear.cells.height
    assert maes == pytest.approx(expected)

    @dataclasses.dataclass
    class Outcome:  # the fields of a refresh outcome the table reads
        fitter: str
        backtest_id: str
        summary: dict
        seconds: float = 0.1
        status: str = "ok"

    rows = [Outcome(r.fitter, r.backtest_id, summaries[r.backtest_id]) for r in (loglinear, mean)]
    table = _protocol_table(rows, {}, maes)
    assert "MAE, shared cells (pt)" in table[0] and " cells |" in table[0]
    first = table[2].split("|")
    best = min(maes, key=maes.get)
    assert first[1].strip() == next(r.fitter for r in rows if r.backtest_id == best)
    assert first[4].strip() == f"{maes[best]:.2f}"

    # the same cells for every fitter: no shared column, nothing recomputed
    same = _pair(synthetic_data(), conn)
    same_summaries = {r.backtest_id: r.summary() for r in same}
    assert shared_maes(protocol_cells(conn, list(same_summaries)), same_summaries) == ({}, same[0].cells.height)
    assert np.isfinite(list(maes.values())).all()
