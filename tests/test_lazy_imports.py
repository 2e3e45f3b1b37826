"""Importing obslaws, and loading every plugin, stays cheap: no torch, no fitting code at CLI start."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import obslaws
loaded = [m for m in ("obslaws.store", "obslaws.fitting.contract", "polars") if m in sys.modules]
assert not loaded, f"import obslaws loads {loaded}"
from obslaws.plugins import get_plugin_manager
pm = get_plugin_manager()
heavy = [m for m in ("torch", "sklearn", "transformers", "lm_eval") if m in sys.modules]
assert not heavy, f"loading the plugins imported {heavy}: import them inside the hook or the fitter"
print(sorted(name for name, _ in pm.list_name_plugin()))
"""


def test_loading_plugins_imports_no_heavy_library():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "baselines" in result.stdout and "sloth" in result.stdout


REGISTER = """
import sys
from obslaws.fitting.lookup import get_fitters
assert "sloth" in get_fitters() and "size-tokens" in get_fitters()
assert "torch" not in sys.modules, "registering the fitters imported torch: import it where a fit runs"
"""


def test_registering_the_fitters_imports_no_torch():
    # A refresh registers every fitter before it starts its workers; torch (about 2 CPU s) is
    # for the processes that fit, and for the parent only once a fitted Sloth comes back.
    result = subprocess.run([sys.executable, "-c", REGISTER], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
