"""The refresh fits each fitter as `obslaws fit NAME` would: the plan's settings over the fitter's
own default benchmarks, less the models it cannot use, said in one line; on the plugins of the
plugin manager it is given."""

from __future__ import annotations

import shutil

import obslaws
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.fitting.lookup import get_fitters
from obslaws.plugins import get_plugin_manager
from obslaws.refresh.config import load_config
from obslaws.refresh.pipeline import refresh

PLAN = """
[fit.fitters.logit-linear]
benchmarks = "mmlu,gsm8k"

[report]
predict_fitter = "logit-linear"
predict_benchmarks = "mmlu,gsm8k"
"""


def test_each_fitter_gets_its_default_selection_unless_the_plan_names_one(registry_db, tmp_path):
    db = tmp_path / "refresh.duckdb"
    shutil.copy(registry_db, db)
    (tmp_path / "plan.toml").write_text(PLAN)
    # only densing (default benchmarks of its own) and the example's logit-linear (the plan's)
    pm = get_plugin_manager(disabled=["sloth", "lowrank", "loss2loss", "forecast", "baselines"])
    assert sorted(get_fitters(pm)) == ["densing", "logit-linear"]
    lines: list[str] = []
    conn = obslaws.connect(db)
    try:
        outcome = refresh(conn, load_config(tmp_path / "plan.toml"), pm=pm, progress=lines.append, workers=1)
        stored = dict(conn.execute("SELECT fitter, benchmarks FROM fits").fetchall())
    finally:
        conn.close()
    fits = {f.fitter: f for f in outcome.fits}
    assert set(fits) == {"densing", "logit-linear"} and all(f.status == "fitted" for f in fits.values())
    densing_defaults = resolve_benchmarks(get_fitters(pm)["densing"].cls.requires.default_benchmarks)
    assert set(fits["densing"].benchmarks) == set(stored["densing"]) == set(densing_defaults)
    assert set(fits["logit-linear"].benchmarks) == set(stored["logit-linear"]) == {"mmlu", "gsm8k"}
    # the models each left out, in one line per fitter
    notes = [line.strip() for line in lines if "left out" in line]
    assert any(n.startswith("densing: left out") and "without params" in n for n in notes), lines
    assert any(n.startswith("logit-linear: left out") and "without flops" in n for n in notes), lines
