"""Fitters that return NaN, and a refresh that meets a hostile file or a half-written report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import obslaws
from obslaws import FitData, Fitter
from obslaws.backtest import run_backtest
from obslaws.errors import FitterError
from obslaws.fitting.store import fit_and_store, predict_and_store
from obslaws.store.snapshot import snapshot_path
from obslaws.testing import synthetic_data


class NaNPredictor(Fitter):
    """Fits fine, predicts NaN for one benchmark."""

    name = "nan-test"
    version = "1"

    def __init__(self) -> None:
        pass

    def _fit(self, data: FitData) -> None:
        self.mean_ = {b: float(data.scores.filter(pl.col("benchmark") == b)["value"].mean()) for b in self.targets_}

    def _predict(self, query: FitData) -> pl.DataFrame:
        first = self.targets_[0]
        return self.grid(query, lambda m, b: float("nan") if b == first else self.mean_[b])


def _count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_a_fitter_returning_nan_is_a_named_error_and_the_backtest_writes_nothing():
    conn = obslaws.connect(":memory:", plugins=False)
    named = r"nan-test on family-holdout split '.*': nan-test: \d+ prediction\(s\) not finite"
    with pytest.raises(FitterError, match=named):
        run_backtest(NaNPredictor(), synthetic_data(), "family-holdout", conn=conn)
    assert [_count(conn, t) for t in ("backtests", "backtest_runs", "fits")] == [0, 0, 0]


def test_nan_predictions_are_not_stored():
    conn = obslaws.connect(":memory:", plugins=False)
    data = synthetic_data()
    fitter = NaNPredictor()
    fit_id = fit_and_store(conn, fitter, data)
    with pytest.raises(FitterError, match="not finite"):
        predict_and_store(conn, fitter, fit_id, data)
    assert _count(conn, "predictions") == 0
    assert np.isfinite(list(fitter.mean_.values())).all()


# Only the forecast plugin's fitters (benchmark-mean reports): what is tested here is the ingest, the
# report and the snapshot.
NO_FITTERS = "baselines,sloth,lowrank,loss2loss,densing,example"
PLAN = """
[[ingest]]
ingestor = "lm-eval"
paths = ["results"]

[fit]
benchmarks = "oll-v1"

[fit.fitters.flops-sigmoid]
skip_protocols = ["time-split"]

[backtest]
time_split = { benchmarks = "oll-v1", date = "2024-01-01" }

[report]
curve_benchmark = "mmlu"
curve_fitter = "benchmark-mean"
predict_benchmarks = "oll-v1"
predict_fitter = "benchmark-mean"
"""


@pytest.fixture
def workspace(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", NO_FITTERS)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "plan.toml").write_text(PLAN)
    monkeypatch.setenv("OBSLAWS_DB", str(tmp_path / "refresh.duckdb"))
    assert cli(["init"]) == 0
    return tmp_path


def test_refresh_names_a_hostile_file_goes_on_with_allow_skips_and_rebuilds_a_stale_report(workspace, capsys, cli):
    report = workspace / "report"
    args = ["refresh", "--config", str(workspace / "plan.toml"), "--out", str(report), "--quiet"]
    assert cli(args) == 1
    err = capsys.readouterr().err
    assert "deep.json: nested too deeply" in err and "RecursionError:" not in err.replace("(RecursionError)", "")

    assert cli([*args, "--allow-skips"]) == 0
    assert capsys.readouterr().out.startswith("Refreshed:")
    assert snapshot_path(workspace / "refresh.duckdb").exists()
    stamp = json.loads((report / "refresh.json").read_text())

    # A refresh killed in its report step: the database is committed, the report is the previous
    # one (or none), and a staging folder of the dead process is left beside it.
    (report / "refresh.json").write_text(json.dumps({**stamp, "state_hash": "an-older-state"}))
    stale = workspace / f".report-{2**22 + os.getpid() % 1000}-abcd"
    stale.mkdir()
    assert cli([*args, "--allow-skips"]) == 0
    assert capsys.readouterr().out.startswith("Refreshed:")
    assert json.loads((report / "refresh.json").read_text())["state_hash"] == stamp["state_hash"]
    assert not stale.exists()
    assert cli([*args, "--allow-skips"]) == 0
    assert capsys.readouterr().out.startswith("Nothing new")
    assert Path(report / "index.md").is_file()
