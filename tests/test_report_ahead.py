"""The refresh's tail off the parent: the score-vs-compute figure queued on the refresh's workers
once the fits are stored, and the plugins' figures drawn through the hook's ``draw``.

On a real database built from the registry with the cut-down plan of tests/test_refresh_schedule.py.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_refresh_schedule import FAST_PLUGINS_ONLY, PLAN

import obslaws
from obslaws import hookimpl
from obslaws.errors import PluginError
from obslaws.plugins import get_plugin_manager
from obslaws.refresh.config import load_config
from obslaws.refresh.parallel import Workers
from obslaws.refresh.pipeline import refresh
from obslaws.report import Figure, ReportSection, plots
from obslaws.report.build import CURVES_PNG, build_report


class _Drawer:
    """A plugin whose section's figure is drawn by the hook's ``draw``; ``broken`` draws one that fails."""

    __name__ = "drawer"

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken

    @hookimpl
    def report_sections(self, conn, out, draw):
        cells = conn.sql("SELECT fitter, benchmark, truth, prediction, lower, upper FROM backtests").pl()
        draw(plots.predicted_vs_actual, cells.drop("truth") if self.broken else cells, "drawer", out / "drawer.png")
        return ReportSection("Drawer", "", [Figure("drawer.png", "drawn on the workers")])


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_figures_drawn_ahead_and_by_plugins_are_the_parents(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", FAST_PLUGINS_ONLY)
    (tmp_path / "plan.toml").write_text(PLAN)
    config = load_config(tmp_path / "plan.toml")
    conn = obslaws.connect(tmp_path / "refresh.duckdb")
    with Workers(2) as shared:
        outcome = refresh(conn, config, progress=lambda _line: None, shared=shared)
        assert CURVES_PNG in shared.ahead  # queued while the backtests ran, before the report
        build_report(conn, outcome, config, tmp_path / "shared", shared=shared)
        assert CURVES_PNG not in shared.ahead  # the report took it
        pm = get_plugin_manager(load_entry_points=False, extra=[_Drawer()])
        build_report(conn, outcome, config, tmp_path / "plugin", pm=pm, shared=shared)
        with pytest.raises(PluginError, match="drawer.png .*predicted_vs_actual"):
            broken = get_plugin_manager(load_entry_points=False, extra=[_Drawer(broken=True)])
            build_report(conn, outcome, config, tmp_path / "broken", pm=broken, shared=shared)
    build_report(conn, outcome, config, tmp_path / "serial", workers=1)  # every figure drawn here
    serial, plugin = _pngs(tmp_path / "serial"), _pngs(tmp_path / "plugin")
    assert CURVES_PNG in serial and _pngs(tmp_path / "shared") == serial
    assert "![drawn on the workers](drawer.png)" in (tmp_path / "plugin" / "index.md").read_text()
    cells = conn.sql("SELECT fitter, benchmark, truth, prediction, lower, upper FROM backtests").pl()
    plots.predicted_vs_actual(cells, "drawer", tmp_path / "drawer.png")
    assert plugin.pop("drawer.png") == (tmp_path / "drawer.png").read_bytes() and plugin == serial
    assert isinstance(cells, pl.DataFrame) and cells.height
