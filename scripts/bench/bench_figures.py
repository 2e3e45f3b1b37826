"""Time the report's predicted-vs-actual figures against ``obslaws/report/plots.py`` at a baseline
revision, in the same process, on the cells of a kept refresh.

Run: .venv/bin/python scripts/bench/bench_figures.py DIR [--base REV] [--repeat N] [--out FOLDER]

DIR is a folder kept by ``bench_refresh.py --keep DIR`` (its ``refresh.duckdb``). Every protocol's
figure is drawn by the baseline module (``plots.py`` as it was at ``--base``, default ``main``)
and by the working tree's, alternating pass by pass (``--repeat`` passes each, default 3), and
the CPU seconds of each pass are printed with the ratio of their sums. The figures are written
to ``--out`` (default a temporary folder) as ``base_K.png`` and ``new_K.png``, to look at side
by side.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PLOTS = "obslaws/report/plots.py"


def baseline_plots(rev: str) -> ModuleType:
    """``obslaws/report/plots.py`` at git revision ``rev``, imported as ``plots_base``."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{PLOTS}"], check=True, capture_output=True).stdout
    path = Path(tempfile.mkdtemp(prefix="plots-base-")) / "plots_base.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("plots_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def protocol_figures(database: Path) -> list[tuple[object, str]]:
    """Per protocol of the kept refresh (fitters grouped as the report groups them): its cells and title."""
    import obslaws
    from obslaws.report.build import _predicted_vs_actual, protocol_cells

    conn = obslaws.connect(database, plugins=False, read_only=True)
    groups: dict[tuple[str, str], list[str]] = {}
    runs = conn.execute("SELECT backtest_id, protocol, options FROM backtest_runs").fetchall()
    for backtest_id, protocol, options in runs:
        groups.setdefault((protocol, options), []).append(backtest_id)
    figures = []
    for (protocol, options), ids in groups.items():
        points, title, _name = _predicted_vs_actual(protocol_cells(conn, ids), f"{protocol} {options[:50]}")
        figures.append((points, title))
    conn.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kept", type=Path, help="a folder kept by bench_refresh.py --keep")
    parser.add_argument("--base", default="main", help="git revision of the baseline plots.py (default: main)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over every figure per version (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here (default: a temporary folder)")
    args = parser.parse_args(argv)
    from obslaws.report import plots

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-figures-"))
    out.mkdir(parents=True, exist_ok=True)
    figures = protocol_figures(args.kept / "refresh.duckdb")
    versions = {"base": baseline_plots(args.base).predicted_vs_actual, "new": plots.predicted_vs_actual}
    for name, draw in versions.items():  # a warm-up each: matplotlib's first figure loads fonts
        draw(*figures[0], out / f"warm_{name}.png")
    seconds: dict[str, list[float]] = {name: [] for name in versions}
    for _ in range(args.repeat):
        for name, draw in versions.items():
            tic = time.process_time()
            for k, (points, title) in enumerate(figures):
                draw(points, title, out / f"{name}_{k}.png")
            seconds[name].append(time.process_time() - tic)
    for name, values in seconds.items():
        print(f"{name}: {len(figures)} figures, CPU s per pass {', '.join(f'{v:.2f}' for v in values)}")
    print(f"new / base (sums over passes): {sum(seconds['new']) / sum(seconds['base']):.3f}; figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
