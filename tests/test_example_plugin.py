"""The example third-party plugin (examples/obslaws-example-fitter), installed with pip by
scripts/setup.sh: discovered, conforming, and usable through fit, predict and backtest with no
change to obslaws."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from obslaws.fitting.lookup import get_fitters
from obslaws.testing import check_fitter

ROOT = Path(__file__).resolve().parent.parent
DIST = "obslaws-example-fitter"

try:
    metadata.distribution(DIST)
    INSTALLED = True
except metadata.PackageNotFoundError:
    INSTALLED = False

pytestmark = pytest.mark.skipif(
    not INSTALLED, reason=f"{DIST} is not installed (scripts/setup.sh installs examples/*/ with pip)"
)


def obslaws(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).with_name("obslaws")
    command = [str(exe)] if exe.exists() else [sys.executable, "-c", "from obslaws.cli import main; main()"]
    return subprocess.run([*command, "--db", str(db), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def db(registry_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "example.duckdb"
    shutil.copy(registry_db, path)
    return path


def test_the_example_is_a_separate_distribution_found_by_entry_point():
    info = get_fitters()["logit-linear"]
    assert info.plugin == "example"
    assert info.distribution == DIST
    # obslaws itself never names it.
    core = "\n".join(p.read_text() for p in (ROOT / "obslaws").rglob("*.py"))
    assert "obslaws_example_fitter" not in core and "logit-linear" not in core


def test_the_example_conforms():
    check_fitter(get_fitters().create("logit-linear"))
    check_fitter(get_fitters().create("logit-linear", ridge=1.0, interval=0.5))


def test_fit_predict_backtest_through_the_cli(db):
    listed = json.loads(obslaws(db, "plugins", "--format", "json").stdout)
    example = next(p for p in listed["plugins"] if p["name"] == "example")
    assert example["distribution"] == DIST and example["fitters"] == ["logit-linear"]

    fit = obslaws(db, "fit", "logit-linear", "--benchmarks", "oll-v2", "--source", "sloth-data-v2", "-o", "ridge=0.5",
                  "--format", "json")  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    fitted = json.loads(fit.stdout)
    assert fitted["plugin"] == "example" and fitted["hyperparameters"] == {"interval": 0.9, "ridge": 0.5}

    pred = obslaws(db, "predict", "logit-linear", "--benchmarks", "oll-v2", "--params", "7e9", "--tokens", "2e12",
                   "--name", "new-7b", "--format", "json")  # fmt: skip
    assert pred.returncode == 0, pred.stderr
    rows = json.loads(pred.stdout)["predictions"]
    assert {r["model_id"] for r in rows} == {"new-7b"} and len(rows) == 6

    back = obslaws(db, "backtest", "logit-linear", "--protocol", "family-holdout", "--benchmarks", "oll-v2",
                   "--source", "sloth-data-v2", "--groups", "sloth-paper", "--format", "json")  # fmt: skip
    assert back.returncode == 0, back.stderr
    summary = json.loads(back.stdout)
    assert summary["fitter"] == "logit-linear" and summary["plugin"] == "example" and summary["n_groups"] == 12
    assert 0 < summary["average"]["mae_pt"] < 20


# Fit only (no backtests), the report with its default settings: the refresh stays short.
REFRESH_PLAN = '[fit]\nbenchmarks = "oll-v1"\n'


def test_its_table_comes_through_register_migrations(tmp_path):
    import obslaws

    conn = obslaws.connect(tmp_path / "x.duckdb")
    assert conn.execute("SELECT version, name FROM schema_migrations WHERE migration_set = 'example'").fetchall() == [
        (1, "logit_linear_lines")
    ]
    assert "logit_linear_lines" in {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_refresh_stores_its_lines_and_shows_its_report_section(db, tmp_path, monkeypatch):
    # Only the example's fitter, so that the refresh takes seconds.
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", "baselines,sloth,lowrank,loss2loss,densing")
    (tmp_path / "plan.toml").write_text(REFRESH_PLAN)
    out = tmp_path / "report"
    proc = obslaws(db, "refresh", "--config", str(tmp_path / "plan.toml"), "--out", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.md").read_text(encoding="utf-8")
    section = page.split("## Logit-linear lines (example plugin)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| benchmark")]
    assert {row.split("|")[1].strip() for row in rows} == {
        "arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2", "winogrande", "gsm8k"
    }  # fmt: skip
    # Every slope is positive: bigger models score higher on every OLL v1 benchmark.
    assert all(float(row.split("|")[2]) > 0 for row in rows)
    # The backtest section comes before the plugins' sections.
    assert page.index("## Backtests") < page.index("## Logit-linear lines")
