"""The base-model time split and rolling forecast: instruct models are left out, and the plan may
list time splits and rolling forecasts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from test_backtest import LogLinear

from obslaws.backtest import RollingForecast, run_backtest
from obslaws.errors import ValidationError
from obslaws.refresh.config import load_config
from obslaws.testing import synthetic_data


def _with_instruct(first: int) -> tuple:
    """Synthetic data where every third model from the ``first`` is made an instruct model."""
    data = synthetic_data()
    ids = data.models["model_id"].to_list()
    instruct = set(ids[first::3])
    marked = data.models.with_columns(pl.col("model_id").is_in(list(instruct)).alias("instruct"))
    return replace(data, models=marked), ids, instruct


def test_base_only_time_split_tests_and_trains_on_base_models_only():
    data, ids, instruct = _with_instruct(0)
    plain = run_backtest(LogLinear(), data, "time-split", date="2022-12-01")
    base = run_backtest(LogLinear(), data, "time-split", date="2022-12-01", base_only=True)
    assert instruct & set(plain.cells["model_id"].to_list())
    assert not instruct & set(base.cells["model_id"].to_list())
    assert not instruct & set(base.splits[0].train)
    dates = dict(data.models.select("model_id", "release_date").iter_rows())
    assert set(base.cells["model_id"].to_list()) == {
        m for m in ids if m not in instruct and dates[m] >= dt.date(2022, 12, 1)
    }


def _plan(tmp_path: Path, backtest: str) -> Path:
    """A plan file whose [backtest] section is ``backtest``."""
    plan = tmp_path / "plan.toml"
    plan.write_text("[backtest]\n" + backtest, encoding="utf-8")
    return plan


def _planned(tmp_path: Path, backtest: str, protocol: str) -> list:
    """The steps of ``protocol`` in a plan whose [backtest] section is ``backtest``."""
    return [s for s in load_config(_plan(tmp_path, backtest)).backtests if s.protocol == protocol]


def test_plan_lists_time_splits_and_keeps_the_old_options(tmp_path: Path):
    entries = (
        '{ benchmarks = "oll-v1", date = "2024-01-01" }, '
        '{ benchmarks = "swallow-reported", date = "2025-01-01", base_only = true }'
    )
    steps = _planned(tmp_path, f"time_split = [{entries}]\n", "time-split")
    assert [s.options for s in steps] == [{"date": "2024-01-01"}, {"date": "2025-01-01", "base_only": True}]
    default = [s for s in load_config().backtests if s.protocol == "time-split"]
    assert {"date": "2025-01-01", "base_only": True} in [s.options for s in default]


def test_base_only_rolling_forecast_tests_and_trains_on_base_models_only():
    data, _, instruct = _with_instruct(1)
    plain = run_backtest(LogLinear(), data, RollingForecast(start="2022-07-01", n_train=1))
    proto = RollingForecast(start="2022-07-01", n_train=1, base_only=True)
    base = run_backtest(LogLinear(), data, proto)
    assert instruct & set(plain.cells["model_id"].to_list())
    assert not instruct & set(base.cells["model_id"].to_list())
    assert all(not instruct & set(split.train) for split in base.splits)
    assert base.cells.height and len(base.splits) > 1
    # the option names the backtest only when set: the existing rolling forecasts keep their ids
    assert proto.options()["base_only"] is True
    assert "base_only" not in RollingForecast(start="2022-07-01").options()


def test_plan_lists_rolling_forecasts(tmp_path: Path):
    entries = (
        '{ benchmarks = "oll-v1", start = "2023-07-01", n_train = [0, 1] }, '
        '{ benchmarks = "swallow-reported", start = "2024-07-01", n_train = 1, base_only = true }'
    )
    steps = _planned(tmp_path, f"rolling_forecast = [{entries}]\n", "rolling-forecast")
    assert [(s.benchmarks, s.options) for s in steps] == [
        ("oll-v1", {"start": "2023-07-01", "n_train": 0}),
        ("oll-v1", {"start": "2023-07-01", "n_train": 1}),
        ("swallow-reported", {"start": "2024-07-01", "base_only": True, "n_train": 1}),
    ]


def test_a_plan_entry_that_is_not_a_table_is_a_clear_error(tmp_path: Path):
    plan = _plan(tmp_path, 'rolling_forecast = [{ start = "2023-07-01" }, "oll-v1"]\n')
    with pytest.raises(
        ValidationError, match=r"plan.toml.*backtest.rolling_forecast.*expected a table or a list of tables"
    ):
        load_config(plan)
