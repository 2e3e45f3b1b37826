"""A target no training model of a split was scored on (a benchmark that came after a rolling
forecast's cut) is left unscored in that split, for every fitter, and the summary names it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest
from test_backtest import LogLinear

from obslaws.backtest import ProtocolError, RollingForecast, run_backtest
from obslaws.backtest.base import UNTRAINED, Split
from obslaws.backtest.planned import trained_targets
from obslaws.report.forward import detail_lines
from obslaws.testing import synthetic_data

LATE = dt.date(2023, 1, 1)


def _late_benchmark(data, target: str):
    """``data`` where ``target`` was first run on models released from ``LATE`` on."""
    early = data.models.filter(pl.col("release_date") < LATE)["model_id"].to_list()
    keep = ~(pl.col("model_id").is_in(early) & (pl.col("benchmark") == target))
    return replace(data, scores=data.scores.filter(keep))


def test_a_target_without_training_scores_is_left_out_of_that_split_only():
    data = synthetic_data()
    late = data.targets[0]
    result = run_backtest(LogLinear(), _late_benchmark(data, late), RollingForecast(start="2022-07-01"))
    untrained = result.summary()[UNTRAINED]
    early = [s.name for s in result.splits if dt.date.fromisoformat(s.name) <= LATE]
    assert early and sorted(untrained) == early and all(v == [late] for v in untrained.values())
    by_split = result.cells.group_by("split").agg(pl.col("benchmark").unique())
    for split, benchmarks in by_split.iter_rows():
        assert (late in benchmarks) == (split not in untrained)
    # the other targets' cells are those of a backtest that never asked for the late one
    others = run_backtest(
        LogLinear(), _late_benchmark(data, late).with_targets(data.targets[1:]), RollingForecast(start="2022-07-01")
    )
    mine = result.cells.filter(pl.col("benchmark") != late).select("split", "model_id", "benchmark", "prediction")
    assert mine.equals(others.cells.select("split", "model_id", "benchmark", "prediction"))
    assert UNTRAINED not in others.summary()
    # the report says which targets a cut could not score, once for the protocol
    lines = detail_lines("rolling-forecast", [("loglinear-test", result.summary()), ("other", result.summary())])
    said = [line for line in lines if line.startswith("Not scored")]
    assert said == ["Not scored (no training model has a score): " + "; ".join(f"{s}: {late}" for s in untrained)]
    assert not [line for line in detail_lines("rolling-forecast", [("x", others.summary())]) if "Not scored" in line]


def test_a_split_with_no_trained_target_is_a_clear_error():
    """Eligibility keeps only models with a target score, so a protocol's own splits do not reach
    this; a training set handed in without any is refused, naming the split."""
    data = synthetic_data()
    early = data.models.filter(pl.col("release_date") < LATE)["model_id"].to_list()
    train = _late_benchmark(data.select_models(early), data.targets[0]).with_targets(data.targets[:1])
    split = Split(name="2022-07-01", train=tuple(early), test=())
    with pytest.raises(ProtocolError, match="split '2022-07-01': no training model has a score on"):
        trained_targets(split, train)
    assert trained_targets(split, train.with_targets(data.targets)) == (
        Split(name="2022-07-01", train=tuple(early), test=(), info={UNTRAINED: [data.targets[0]]}),
        train.with_targets(data.targets[1:]),
    )
