"""The report's score-vs-compute figure with a curve fitter that cannot draw a FLOPs curve.

The curve's hypothetical models carry a family and FLOPs only. A plan naming a fitter that needs
more (densing needs sizes and dates) used to fail the whole report after the refresh had
committed ("densing: model 'curve:opt:9e+19' has no params"); now the page says why the figure is
missing and everything else is written.
"""

from __future__ import annotations

import shutil

import obslaws
from obslaws.fitting.lookup import get_fitters
from obslaws.refresh.config import load_config
from obslaws.refresh.outcome import FitOutcome, RefreshOutcome
from obslaws.report.build import build_report
from obslaws.store.read import load_fit_data

BENCHMARKS = ("mmlu", "gsm8k", "humaneval")


def test_a_curve_fitter_needing_sizes_leaves_a_note_not_a_failed_report(registry_db, tmp_path):
    db = tmp_path / "registry.duckdb"
    shutil.copy(registry_db, db)
    conn = obslaws.connect(db)  # with the plugins' tables, which their report sections read
    data = load_fit_data(conn, list(BENCHMARKS))
    usable = data.models.filter(data.models["params"].is_not_null() & data.models["release_date"].is_not_null())
    densing = get_fitters().create("densing").fit(data.select_models(usable["model_id"].to_list()))
    plan = tmp_path / "plan.toml"
    plan.write_text('[report]\ncurve_benchmark = "mmlu"\ncurve_fitter = "densing"\n')
    outcome = RefreshOutcome(refresh_id="refresh-test", nothing_new=False, state_hash="x")
    outcome.fits = [FitOutcome("densing", "densing", "fitted", benchmarks=BENCHMARKS, instance=densing)]
    page = build_report(conn, outcome, load_config(plan), tmp_path / "report", workers=1).read_text()
    curve = page.split("## Score vs compute", 1)[1].split("\n## ", 1)[0]
    assert "no score-vs-compute figure: fitter densing needs params, release_date" in curve
    assert not (tmp_path / "report" / "score_vs_compute.png").exists()
    conn.close()
