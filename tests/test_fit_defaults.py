"""`obslaws fit NAME` with its defaults on a fresh registry database, for every registered fitter.

Each fitter picks its own default benchmarks, leaves out the models lacking its covariates and
says so in one line. Hyperparameters are the fitters' quick ones (``check_hyperparameters``:
fewer steps, restarts or resamples); the data selection, which is what is tested, is the default.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.cli import main
from obslaws.fitting.lookup import get_fitters

FITTERS = get_fitters()
# loss2loss fits the whole OLMo ladder with its checkpoints: the slowest default fit by far.
SLOW = {"loss2loss"}
slow = pytest.mark.skipif(not os.environ.get("OBSLAWS_SLOW"), reason="set OBSLAWS_SLOW=1 (the refresh fits it too)")


@pytest.fixture
def db(registry_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "fresh.duckdb"
    shutil.copy(registry_db, path)
    return path


def run(capsys, db: Path, *args: str) -> tuple[int, str, str]:
    try:
        main(["--db", str(db), *args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def quick_options(name: str) -> list[str]:
    options = []
    # a few optimiser steps suffice here: it is the data selection that is under test
    quick = FITTERS[name].cls.check_hyperparameters | ({"max_iter": 20} if name in ("sloth", "size-tokens") else {})
    for key, value in quick.items():
        options += ["-o", f"{key}={json.dumps(list(value) if isinstance(value, tuple) else value)}"]
    return options


def stored_fit(db: Path, fit_id: str) -> tuple[str, list[str], int]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute("SELECT fitter, benchmarks, n_models FROM fits WHERE fit_id = ?", [fit_id]).fetchone()
    finally:
        conn.close()


@pytest.mark.parametrize("name", [pytest.param(n, marks=slow) if n in SLOW else n for n in sorted(FITTERS)])
def test_fit_with_defaults_succeeds_on_a_fresh_database(capsys, db, name):
    requires = FITTERS[name].cls.requires
    code, out, err = run(capsys, db, "fit", name, *quick_options(name), "--format", "json")
    assert code == 0, err
    fit = json.loads(out)
    fitter, benchmarks, n_models = stored_fit(db, fit["fit_id"])
    assert fitter == name and n_models >= requires.min_models
    assert set(benchmarks) <= set(resolve_benchmarks(requires.default_benchmarks)) and benchmarks
    if {"params", "tokens"} & requires.needs:
        # the registry has models without a size or token count (API models, undisclosed data)
        lines = [line for line in err.splitlines() if line.startswith(f"{name}: left out")]
        assert len(lines) == 1 and "model(s) without" in lines[0], err


def test_an_explicit_selection_drops_models_without_size_or_tokens(capsys, db):
    args = ["fit", "size-tokens", "--benchmarks", "oll-v2", "--source", "sloth-data-v2", *quick_options("size-tokens")]
    code, out, err = run(capsys, db, *args)
    assert code == 0, err
    assert err.startswith("size-tokens: left out") and "without tokens" in err and len(err.splitlines()) == 1
    assert "6 benchmarks" in out


def test_benchmarks_too_few_usable_models_score_are_left_out(capsys, db):
    # the registry scores this OLMo task for two final models (the rest are checkpoints)
    thin = "olmo_arc_challenge_test_mc_5shot"
    code, out, err = run(capsys, db, "fit", "logit-linear", "--benchmarks", f"mmlu,{thin}")
    assert code == 0, err
    assert f"1 benchmark(s) scored for fewer than 3 of those models ({thin})" in err
    assert "1 benchmarks" in out
    code, _, err = run(capsys, db, "fit", "logit-linear", "--benchmarks", thin)
    assert code != 0 and "no target benchmark is scored for 3 or more models with flops" in err
