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


GROUP = """
import sys
from obslaws.backtest.folds import batch_invariant
from obslaws.fitting.lookup import get_fitters
from obslaws.refresh.parallel import Job
info = get_fitters()["sloth"]
jobs = [Job("sloth", {}, "p", None, proto, "oll-v1", {}, info) for proto in ("time-split", "compute-cutoff")]
assert jobs[0].batch() == jobs[1].batch(), "Sloth claims batch invariance: one job per source and target set"
assert "numba" not in sys.modules, "grouping the refresh's jobs imported numba: group by the fitter's claim"
assert batch_invariant(info.cls) and "numba" in sys.modules  # the check itself loads the kernel
"""


def test_grouping_the_refreshs_jobs_loads_no_compiled_kernel():
    # The parent groups jobs by a fitter's claim; the worker that fits them checks it (0.4 CPU s
    # of numba that the parent, which fits nothing, would otherwise import while it plans).
    result = subprocess.run([sys.executable, "-c", GROUP], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
