"""The forward protocols in the harness: rolling forecast, compute sweep, cell hold-out, pooled metrics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from test_backtest import LogLinear

from obslaws import FitData
from obslaws.backtest import CellHoldout, ComputeSweep, ProtocolError, RollingForecast, run_backtest
from obslaws.backtest.metrics import pooled_metrics
from obslaws.backtest.rolling import add_months, cut_dates
from obslaws.testing import synthetic_data


def test_cut_dates_leave_the_horizon_after_the_last_cut():
    cuts = cut_dates(dt.date(2023, 7, 1), dt.date(2024, 7, 23), 3, 6)
    assert cuts == [dt.date(2023, 7, 1), dt.date(2023, 10, 1), dt.date(2024, 1, 1)]
    assert add_months(dt.date(2023, 11, 30), 3) == dt.date(2024, 2, 28)


def test_rolling_forecast_trains_before_each_cut_and_tests_the_next_months():
    data = synthetic_data()  # release dates 2022-01 .. 2023-09
    proto = RollingForecast(start="2022-07-01", step_months=3, horizon_months=6)
    eligible = proto.eligible(data, data.targets)
    dates = dict(zip(eligible.models["model_id"], eligible.models["release_date"], strict=True))
    splits = list(proto.splits(eligible, data.targets))
    assert [s.name for s in splits][:2] == ["2022-07-01", "2022-10-01"]
    for split in splits:
        cut = dt.date.fromisoformat(split.name)
        assert all(dates[m] < cut for m in split.train)
        assert all(cut <= dates[m] < add_months(cut, 6) for m in split.test)


def test_rolling_forecast_n1_trains_on_the_smallest_model_of_each_new_family():
    data = synthetic_data()
    proto = RollingForecast(start="2022-07-01", n_train=1)
    eligible = proto.eligible(data, data.targets)
    models = eligible.models
    for split in proto.splits(eligible, data.targets):
        new = split.info["new_families"]
        anchors = [m for m in split.train if models.filter(pl.col("model_id") == m)["family"][0] in new]
        assert len(anchors) == len(new)  # exactly one per new family
        for anchor in anchors:
            family = models.filter(pl.col("model_id") == anchor)["family"][0]
            tested = models.filter(pl.col("model_id").is_in(list(split.test)) & (pl.col("family") == family))
            own = models.filter(pl.col("model_id") == anchor)["params"][0]
            assert (tested["params"] >= own).all()


def test_rolling_forecast_without_room_for_a_cut_is_a_clear_error():
    data = synthetic_data()
    with pytest.raises(ProtocolError, match="no cut from 2030-01-01"):
        run_backtest(LogLinear(), data, RollingForecast(start="2030-01-01"))


def test_compute_sweep_has_one_split_per_usable_cutoff():
    data = synthetic_data()
    flops = np.sort(data.models["flops"].to_numpy())
    cutoffs = [float(flops[10]), float(flops[40]), float(flops[-1]) * 10]  # the last leaves no test model
    result = run_backtest(LogLinear(), data, ComputeSweep(cutoffs=cutoffs))
    assert len(result.splits) == 2
    assert set(result.summary()["splits"]) == {s.name for s in result.splits}


def test_cell_holdout_hides_half_of_each_models_scores_and_scores_only_those():
    data = synthetic_data()
    proto = CellHoldout(folds=3, random_state=0)
    result = run_backtest(LogLinear(), data, proto)
    per_model = len(data.targets) // 2
    assert len(result.splits) == 3
    for split in result.splits:
        cells = result.cells.filter(pl.col("split") == split.name)
        assert cells.height == len(split.hidden) == per_model * data.models.height
        assert set(zip(cells["model_id"], cells["benchmark"], strict=True)) == set(split.hidden)
        train = split.train_data(data)
        hidden = pl.DataFrame(list(split.hidden), schema=["model_id", "benchmark"], orient="row")
        assert not train.scores.join(hidden, on=["model_id", "benchmark"], how="semi").height
        query = split.query_data(data, data.targets)  # the other scores stay visible
        assert (
            query.scores.filter(pl.col("benchmark").is_in(list(data.targets))).height
            == (len(data.targets) - per_model) * data.models.height
        )
    assert result.splits[0].hidden != result.splits[1].hidden


def test_cell_holdout_folds_do_not_depend_on_the_other_models():
    data = synthetic_data()
    proto = CellHoldout()
    whole = proto.hidden_cells(data, data.targets, 0)
    some = data.select_models(data.model_ids[:7])
    assert set(proto.hidden_cells(some, data.targets, 0)) == {c for c in whole if c[0] in set(some.model_ids)}


def test_pooled_metrics_by_hand():
    cells = pl.DataFrame(
        {
            "truth": [0.50, 0.20, 0.80, 0.0],
            "prediction": [0.52, 0.26, 0.70, 0.01],
            "lower": [0.45, 0.21, None, 0.0],
            "upper": [0.55, 0.30, None, 0.05],
        }
    )
    out = pooled_metrics(cells)
    assert out["mae_pt"] == pytest.approx(100 * (0.02 + 0.06 + 0.10 + 0.01) / 4)
    assert out["bias_pt"] == pytest.approx(100 * (0.02 + 0.06 - 0.10 + 0.01) / 4)
    assert out["median_ae_pt"] == pytest.approx(100 * (0.02 + 0.06) / 2)
    assert out["mdape_pct"] == pytest.approx(12.5)  # 4%, 30%, 12.5% (truth 0 left out)
    assert out["within_3pt"] == pytest.approx(0.5)
    assert out["within_5pt"] == pytest.approx(0.5)
    assert out["coverage"] == pytest.approx(2 / 3)


def test_summary_reports_each_split():
    data = synthetic_data()
    result = run_backtest(LogLinear(), data, RollingForecast(start="2022-07-01"))
    splits = result.summary()["splits"]
    assert list(splits) == [s.name for s in result.splits]
    assert all(v["mae_pt"] >= 0 and v["n"] > 0 for v in splits.values())


def test_model_without_enough_scores_is_not_tested_in_cell_holdout():
    data = synthetic_data()
    one = data.model_ids[0]
    scores = data.scores.filter((pl.col("model_id") != one) | (pl.col("benchmark") == data.targets[0]))
    thin = FitData.build(data.models, scores, None, data.benchmarks, targets=data.targets)
    cells = CellHoldout().hidden_cells(thin, thin.targets, 0)
    assert one not in {m for m, _ in cells}


def test_refresh_plan_runs_the_forward_protocols_and_checks_their_options(tmp_path):
    from obslaws.errors import ValidationError
    from obslaws.refresh.config import load_config

    labels = [step.label for step in load_config(None).backtests]
    assert "rolling-forecast [oll-v1, start=2023-07-01, n_train=0]" in labels
    assert "rolling-forecast [oll-v1, start=2023-07-01, n_train=1]" in labels
    assert any(label.startswith("cell-holdout") for label in labels)
    plan = tmp_path / "plan.toml"
    plan.write_text('[backtest]\ncell_holdout = { benchmarks = "oll-v1", fold = 3 }\n')
    with pytest.raises(ValidationError, match=r"plan.toml.*backtest.cell_holdout.*fold"):
        load_config(plan)


def test_report_lists_each_cut_and_the_completion_figures():
    from obslaws.report.forward import detail_lines

    data = synthetic_data()
    rolling = run_backtest(LogLinear(), data, RollingForecast(start="2022-07-01")).summary()
    lines = detail_lines("rolling-forecast", [("loglinear-test", rolling), ("broken", None)])
    assert any(line.startswith("- loglinear-test: 2022-07-01:") for line in lines)
    cells = run_backtest(LogLinear(), data, CellHoldout(folds=1)).summary()
    assert "MdAPE" in "".join(detail_lines("cell-holdout", [("loglinear-test", cells)]))


def test_cli_runs_the_forward_protocols(capsys, registry_db, tmp_path):
    import json
    import shutil

    from obslaws.cli import main

    db = tmp_path / "cli.duckdb"
    shutil.copy(registry_db, db)
    main(["--db", str(db), "backtest", "benchmark-mean", "--protocol", "rolling-forecast", "--n-train", "1",
          "--benchmarks", "oll-v1", "--format", "json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["protocol"] == "rolling-forecast" and summary["options"]["n_train"] == 1
    assert "2023-07-01" in summary["splits"]
    main(["--db", str(db), "backtest", "benchmark-mean", "--protocol", "compute-sweep", "-P", "cutoffs=[1e22, 1e23]",
          "--benchmarks", "oll-v1", "--format", "json", "--no-write"])  # fmt: skip
    assert json.loads(capsys.readouterr().out)["options"]["cutoffs"] == [1e22, 1e23]
