"""The thread count obslaws chooses for torch and BLAS (obslaws.threads)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from obslaws import threads


def _run(code: str, env_threads: str | None = None) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OBSLAWS_THREADS", "OMP_NUM_THREADS")}
    if env_threads is not None:
        env["OBSLAWS_THREADS"] = env_threads
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_default_is_one_thread_and_the_environment_overrides(monkeypatch):
    monkeypatch.delenv("OBSLAWS_THREADS", raising=False)
    threads.set_threads(None)
    assert threads.configured_threads() == 1
    monkeypatch.setenv("OBSLAWS_THREADS", "3")
    assert threads.configured_threads() == 3
    assert threads.set_threads(2) == 2  # Python beats the environment
    threads.set_threads(None)


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_a_bad_environment_value_is_named(monkeypatch, bad):
    monkeypatch.setenv("OBSLAWS_THREADS", bad)
    monkeypatch.setattr(threads, "_chosen", None)
    with pytest.raises(ValueError, match="OBSLAWS_THREADS"):
        threads.configured_threads()


def test_a_fit_sets_torch_to_the_configured_count():
    # torch's own default on a multi-core machine is one thread per core; a fit through the
    # contract brings it to the configured count, including for torch imported before obslaws.
    code = """
import torch
torch.set_num_threads(2)
import polars as pl
from obslaws.data import FitData
from obslaws.fitting.contract import Fitter
class Mean(Fitter):
    name = "mean"
    def _fit(self, data):
        self.seen_ = torch.get_num_threads()
    def _predict(self, query):
        return pl.DataFrame()
models = pl.DataFrame({"model_id": ["a"], "flops": [1.0]})
scores = pl.DataFrame({"model_id": ["a"], "benchmark": ["b"], "value": [0.5]})
print(Mean().fit(FitData.build(models, scores, targets=["b"])).seen_)
"""
    assert _run(code) == "1"
    assert _run(code, env_threads="3") == "3"


def test_torch_imported_after_the_choice_starts_with_it():
    code = "from obslaws.threads import apply_threads; apply_threads(); import torch; print(torch.get_num_threads())"
    assert _run(code, env_threads="2") == "2"


def test_cli_option_sets_the_count():
    from obslaws.cli import main

    try:
        main(["--threads", "3", "plugins"])
        assert threads.configured_threads() == 3
    finally:
        threads.set_threads(None)
    assert threads.configured_threads() == 1
