"""Item counts for the benchmarks whose sources give none: the build sets them (and fails on a
count that disagrees), and the current-data backtests get a noise floor from them."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from obslaws.backtest import run_backtest
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.fitting.lookup import get_fitters
from obslaws.store.read import load_fit_data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from registry_build.core import BuildError, Registry  # noqa: E402
from registry_build.item_counts import ITEM_COUNTS, add_item_counts  # noqa: E402


def _registry_with(n_items: dict[str, int | None]) -> Registry:
    reg = Registry()
    for bench, items in n_items.items():
        reg.add_benchmark(bench, "acc", 0, 0.0, "A benchmark.", items)
    return reg


def test_the_build_sets_the_count_and_says_where_it_is_from():
    reg = _registry_with({bench: None for bench in ITEM_COUNTS})
    add_item_counts(reg)
    row = reg.benchmarks["swallow_en_pre_math"]
    assert row["n_items"] == 500
    assert row["description"].startswith("A benchmark. Items: 500 (MATH-500: the split swallow-evaluation's")


def test_a_count_no_source_defines_or_one_that_disagrees_fails_the_build():
    missing = _registry_with({bench: None for bench in ITEM_COUNTS if bench != "epoch_gsm8k"})
    with pytest.raises(BuildError, match="'epoch_gsm8k', which no source defines"):
        add_item_counts(missing)
    other = _registry_with({bench: None for bench in ITEM_COUNTS} | {"epoch_gsm8k": 1000})
    with pytest.raises(BuildError, match="'epoch_gsm8k': its source gives 1000 items, item_counts.py 1319"):
        add_item_counts(other)


def test_the_current_data_time_split_has_a_noise_floor(registry_db):
    """The refresh's 2025 base-model time split on the registry: every test cell has a sampling
    error, so the summary's noise floor is the binomial one of its benchmarks."""
    with duckdb.connect(str(registry_db), read_only=True) as conn:
        data = load_fit_data(conn, resolve_benchmarks("swallow-reported"))
    fitter = get_fitters().create("benchmark-mean")
    result = run_backtest(fitter, data, "time-split", date="2025-01-01", base_only=True)
    assert result.cells["stderr"].is_not_null().all()
    summary = result.summary()
    floors = [b["noise_floor_pt"] for b in summary["benchmarks"].values()]
    assert all(0.1 < f < 3.0 for f in floors), floors
    assert 0.1 < summary["noise_floor_pt"] < 3.0
