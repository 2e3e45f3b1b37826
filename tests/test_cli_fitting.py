"""The fitting commands: obslaws plugins, fit, predict, backtest."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.cli import main
from obslaws.cli.fitting import parse_option_values

FAST = ["-o", "n_iter_no_change=50", "-o", "learning_rates=[0.1]"]


@pytest.fixture
def db(registry_db: Path, tmp_path: Path) -> Path:
    """A writable copy of the registry database."""
    path = tmp_path / "cli.duckdb"
    shutil.copy(registry_db, path)
    return path


def run(capsys, db: Path | None, *args: str) -> tuple[int, str, str]:
    argv = (["--db", str(db)] if db else []) + list(args)
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def count(db: Path, sql: str, params=None) -> int:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()[0][0]
    finally:
        conn.close()


def test_option_values_parse_as_json_literals_else_strings():
    parsed = parse_option_values(("a=1", "b=0.5", "c=true", "d=[0.1, 0.01]", "e=hello", "f=", 'g="x"', "h=null"))
    assert parsed == {"a": 1, "b": 0.5, "c": True, "d": [0.1, 0.01], "e": "hello", "f": "", "g": "x", "h": None}


def test_plugins_json_lists_the_baselines_and_their_plugin(capsys):
    code, out, _ = run(capsys, None, "plugins", "--format", "json")
    assert code == 0
    listing = json.loads(out)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["baselines"]["fitters"] == ["flops-sigmoid", "flops-sigmoid-family"]
    assert plugins["baselines"]["hooks"] == ["register_fitters"]
    assert plugins["baselines"]["distribution"] == "obslaws" and plugins["baselines"]["version"]
    fitters = {f["name"]: f for f in listing["fitters"]}
    assert fitters["flops-sigmoid"]["plugin"] == "baselines"
    assert fitters["flops-sigmoid-family"]["hyperparameters"]["learning_rates"] == [0.1, 0.01, 0.001]
    code, out, _ = run(capsys, None, "plugins")
    assert code == 0 and "baselines" in out and "flops-sigmoid-family" in out


def test_fit_stores_one_idempotent_fit(capsys, db):
    args = ["fit", "flops-sigmoid", "--benchmarks", "oll-v2", "--source", "sloth-data-v2", *FAST, "--format", "json"]
    code, out, err = run(capsys, db, *args)
    assert code == 0, err
    fit = json.loads(out)
    assert fit["plugin"] == "baselines" and fit["hyperparameters"]["learning_rates"] == [0.1]
    assert set(fit["learned"]) >= {"leaderboard_ifeval", "targets"}
    code, out, _ = run(capsys, db, *args)
    assert json.loads(out)["fit_id"] == fit["fit_id"]
    assert count(db, "SELECT count(*) FROM fits") == 1
    row = count(db, "SELECT hyperparameters FROM fits WHERE fit_id = ?", [fit["fit_id"]])
    assert json.loads(row)["n_iter_no_change"] == 50


def test_predict_known_and_hypothetical_models(capsys, db):
    code, out, err = run(
        capsys, db, "predict", "flops-sigmoid-family", "--benchmarks", "oll-v2", "--source", "sloth-data-v2",
        "--model", "qwen2-7b", "--params", "7e9", "--tokens", "2e12", "--family", "qwen2", "--name", "my-7b",
        *FAST, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    models = {p["model_id"] for p in result["predictions"]}
    assert models == {"Qwen/Qwen2-7B", "my-7b"}
    assert len(result["predictions"]) == 12
    for p in result["predictions"]:
        assert p["lower"] <= p["prediction"] <= p["upper"]
    assert count(db, "SELECT count(*) FROM predictions WHERE fit_id = ?", [result["fit_id"]]) == 12
    code, _, err = run(
        capsys, db, "predict", "flops-sigmoid", "--model", "no-such-model", "--benchmarks", "oll-v2", *FAST
    )
    assert code == 1 and "unknown model 'no-such-model'" in err and len(err.strip().splitlines()) == 1


def test_backtest_compute_cutoff_json_summary(capsys, db):
    code, out, err = run(
        capsys, db, "backtest", "flops-sigmoid", "--protocol", "compute-cutoff", "--benchmarks", "mmlu,arc_challenge",
        *FAST, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["fitter"] == "flops-sigmoid" and summary["protocol"] == "compute-cutoff"
    assert set(summary["benchmarks"]) == {"mmlu", "arc_challenge"}
    for metrics in summary["benchmarks"].values():
        assert {"mae_pt", "mse", "n"} <= set(metrics)
    assert {"mae_pt", "mse"} <= set(summary["average"])
    assert summary["n_groups"] == 1 and summary["noise_floor_pt"] > 0
    lower, upper = summary["mae_interval_pt"]  # resampled over the test models' families
    assert lower < summary["average"]["mae_pt"] < upper
    assert (
        count(db, "SELECT count(*) FROM backtests WHERE backtest_id = ?", [summary["backtest_id"]])
        == summary["n_cells"]
    )


def test_backtest_family_holdout_paper_groups_table(capsys, db):
    code, out, err = run(
        capsys, db, "backtest", "flops-sigmoid-family", "--protocol", "family-holdout", "--benchmarks", "oll-v2",
        "--source", "sloth-data-v2", "--groups", "sloth-paper", "--n-train", "1", *FAST,
    )  # fmt: skip
    assert code == 0, err
    assert "12 split(s)" in out and "average MAE" in out and "noise floor" in out
    assert "90% interval over resampled families" in out
    assert count(db, "SELECT count(DISTINCT split) FROM backtests") == 12


def test_backtest_time_split(capsys, db):
    code, out, err = run(
        capsys, db, "backtest", "flops-sigmoid", "--protocol", "time-split", "--date", "2024-01-01",
        "--benchmarks", "oll-v1", *FAST, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["options"]["date"] == "2024-01-01" and summary["average"]["mae_pt"] > 0


def test_backtest_rolling_forecast_of_recent_base_models_names_what_a_cut_could_not_score(capsys, registry_db):
    """No model released before July 2024 has a reported MATH Level 5 score in the registry: the
    first cut leaves that target out for every fitter, and the command says so."""
    code, out, err = run(
        capsys, registry_db, "backtest", "flops-sigmoid", "--protocol", "rolling-forecast",
        "--benchmarks", "swallow-reported", "-P", "start=2024-07-01", "-P", "base_only=true", *FAST, "--no-write",
    )  # fmt: skip
    assert code == 0, err
    assert "base_only=True" in out and "4 split(s)" in out
    assert "not scored at split 2024-07-01: epoch_math_lvl5 (no training model has a score)" in out


def test_backtest_without_benchmarks_takes_the_fitters_default_set(capsys, db):
    """As --help says; it used to target every benchmark of the database (356) and fail."""
    code, out, err = run(
        capsys, db, "backtest", "flops-sigmoid", "--protocol", "time-split", "--date", "2024-01-01",
        *FAST, "--no-write", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["options"]["benchmarks"] == list(resolve_benchmarks("oll-v1"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["fit", "no-such-fitter"], 'unknown fitter "no-such-fitter"'),
        (["fit", "flops-sigmoid", "-o", "nope=1"], "unknown hyperparameter(s) ['nope']"),
        # a word for a number used to fail in the fit with numpy's UFuncTypeError, naming nothing
        (["fit", "flops-sigmoid", "-o", "tol=abc"], "hyperparameter 'tol' takes a number (default 1e-05), got 'abc'"),
        # JSON's false is lower case: "False" arrived as text, which the fitter read as true
        (["fit", "flops-sigmoid", "-o", "learn_floor=False"], "'learn_floor' takes true or false, got 'False'"),
        (["backtest", "flops-sigmoid", "--protocol", "time-split"], "time-split needs a date"),
        (["backtest", "flops-sigmoid", "--benchmarks", "oll-v9"], "unknown benchmark set"),
        # protocol options: named by protocol and option (they said "time-split:" for a rolling
        # forecast's start, "RollingForecast.__init__() got an unexpected keyword", int()'s error)
        (["backtest", "flops-sigmoid", "--protocol", "rolling-forecast", "-P", "start=soon"], "forecast start:"),
        (["backtest", "flops-sigmoid", "--protocol", "rolling-forecast", "-P", "nope=1"], "unknown option(s) ['nope']"),
        (["backtest", "flops-sigmoid", "--protocol", "cell-holdout", "-P", "folds=x"], "'folds' takes a number"),
        (
            ["backtest", "flops-sigmoid", "--protocol", "time-split", "--date", "2024-01-01", "-P", "base_only=maybe"],
            "time-split: option 'base_only' takes true or false, got 'maybe'",
        ),
    ],
)
def test_errors_are_one_line(capsys, db, args, needle):
    code, _, err = run(capsys, db, *args)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_usage_errors_for_options_of_another_protocol(capsys, db):
    code, _, err = run(capsys, db, "backtest", "flops-sigmoid", "--protocol", "compute-cutoff", "--date", "2024-01-01")
    assert code == 2 and "--date applies to --protocol time-split only" in err


@pytest.mark.parametrize(
    "args",
    [
        # --date is a hypothetical model's release date: with --model alone it used to build a
        # second, sizeless model "hypothetical:model", on which densing failed with "has no params"
        ["densing", "--model", "qwen2-7b", "--date", "2024-06-01"],
        ["flops-sigmoid", "--model", "qwen2-7b", "--date", "2024-06-01"],
        ["flops-sigmoid", "--family", "qwen2", "--name", "my-7b"],
    ],
)
def test_predict_refuses_a_hypothetical_model_without_a_size(capsys, db, args):
    code, _, err = run(capsys, db, "predict", *args, "--benchmarks", "oll-v2")
    assert code == 2, err
    assert "a hypothetical model needs a size (--params, --tokens or --flops)" in err
    assert ("they do not change the --model models" in err) == ("--model" in args)
    assert count(db, "SELECT count(*) FROM fits") == 0 and count(db, "SELECT count(*) FROM predictions") == 0


def test_protocol_options_with_a_flag_also_work_as_dash_p(capsys, db):
    """-P date=... used to be dropped for the --date flag's None: "time-split needs a date"."""
    args = ["backtest", "flops-sigmoid", "--benchmarks", "mmlu,arc_challenge", *FAST, "--no-write", "--format", "json"]
    code, out, err = run(capsys, db, *args, "--protocol", "time-split", "-P", "date=2024-01-01")
    assert code == 0, err
    assert json.loads(out)["options"]["date"] == "2024-01-01"
    code, out, err = run(capsys, db, *args, "--protocol", "compute-cutoff", "-P", "cutoff=1e22")
    assert code == 0, err
    assert json.loads(out)["options"]["cutoff"] == 1e22


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--protocol", "time-split", "--date", "2024-01-01", "-P", "date=2023-01-01"], "--date and -P date"),
        (["--protocol", "compute-cutoff", "--cutoff", "1e22", "-P", "cutoff=1e23"], "--cutoff and -P cutoff"),
        (["--protocol", "family-holdout", "--n-train", "1", "-P", "n_train=2"], "--n-train and -P n_train"),
        (["--protocol", "rolling-forecast", "--n-train", "0", "-P", "n_train=1"], "--n-train and -P n_train"),
        (["--protocol", "family-holdout", "--groups", "all", "-P", "groups=sloth-paper"], "--groups and -P groups"),
    ],
)
def test_a_protocol_option_given_as_flag_and_as_dash_p_is_a_usage_error(capsys, db, args, flag):
    code, _, err = run(capsys, db, "backtest", "flops-sigmoid", *args)
    assert code == 2 and f"{flag}=... both given; give one" in err


def test_a_command_closes_its_connection_when_it_returns(capsys, db):
    # run in-process (a test, a notebook), the CLI must not leave the file open until the garbage
    # collector finds its connection: a read-only connection would be refused meanwhile
    gc.disable()
    try:
        args = ["fit", "flops-sigmoid", "--benchmarks", "oll-v2", "--source", "sloth-data-v2", *FAST]
        code, _, err = run(capsys, db, *args)
        assert code == 0, err
        assert count(db, "SELECT count(*) FROM fits") == 1
    finally:
        gc.enable()
