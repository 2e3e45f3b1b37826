"""Tables of lowrank backtests: the paper reproduction, and lowrank vs the log-FLOPs baseline on every task."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import polars as pl

from obslaws.data import FitData
from obslaws_lowrank.default_set import PAPER_SOURCE, obsscaling_default_data
from obslaws_lowrank.fitter import LowRankFitter
from obslaws_lowrank.logflops import LogFlopsSigmoidFitter

CUTOFF = 8.4e22  # Llama-2-7B
ARITHMETIC_CUTOFF = 2.1e22  # a quarter, for the arithmetic tasks
ROBUSTNESS_TASKS = re.compile(r"^(bigbench_|gsm8k_|bbh_|leaderboard_)")

# Test MSE published by Ruan et al. (docs/lowrank.md, the paper's numbers): 3 PCs and the log-FLOPs baseline.
PAPER_MSE: dict[str, tuple[float, float]] = {
    "bigbench_word_unscrambling": (2.4e-3, 1.8e-2),
    "bigbench_arithmetic_2_digit_multiplication": (1.1e-2, 8.8e-2),
    "gsm8k_cot_flexible_extract": (4.7e-3, 3.7e-2),
    "gsm8k_cot_self_consistency_maj5_flexible_extract": (5.6e-3, 3.8e-2),
}
# Published logit coefficients (PC1, PC2, PC3, intercept).
PAPER_COEFFICIENTS: dict[str, tuple[float, float, float, float]] = {
    "gsm8k_cot_flexible_extract": (2.56, 4.63, 4.30, -2.50),
    "bigbench_word_unscrambling": (6.75, -3.21, -1.37, -4.93),
}


def cutoff_for(task: str) -> float:
    """The paper's compute cut-off for a task (a quarter of Llama-2-7B's for arithmetic)."""
    return ARITHMETIC_CUTOFF if "arithmetic" in task else CUTOFF


def _run(fitter: Any, data: FitData, task: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    from obslaws.backtest import run_backtest

    result = run_backtest(fitter, data.with_targets([task]), "compute-cutoff", cutoff=cutoff_for(task), write=False)
    learned = json.loads(result.fit_rows[0]["learned"]) if result.fit_rows else {}
    return result.summary()["benchmarks"][task], learned, len(result.splits[0].train)


def compare_task(data: FitData, task: str, lowrank: LowRankFitter, baseline: LogFlopsSigmoidFitter) -> dict[str, Any]:
    """One row: lowrank and the baseline on one task's compute cut-off backtest."""
    low, learned, n_train = _run(lowrank, data, task)
    base, _, _ = _run(baseline, data, task)
    law = learned["laws"][task]
    return {
        "task": task,
        "cutoff": cutoff_for(task),
        "n_train": n_train,
        "n_test": low["n"],
        "lowrank_mse": low["mse"],
        "logflops_mse": base["mse"],
        "ratio": low["mse"] / base["mse"] if base["mse"] else None,
        "lowrank_coverage": low["coverage"],
        "logflops_coverage": base["coverage"],
        "max_abs_coefficient": law["max_abs_coefficient"],
        "max_std_slope": law["max_std_slope"],
        "floor": law["floor"],
        "starts_at_best": law["starts_at_best"],
    }


def robustness_table(
    conn: duckdb.DuckDBPyConnection,
    *,
    source: str = "obsscaling-4d6e1e4",
    tasks: Sequence[str] | None = None,
    lowrank: LowRankFitter | None = None,
    progress: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """lowrank vs ``obsscaling-logflops`` on every emergent, post-training and leaderboard-v2 task.

    Parameters
    ----------
    conn:
        An open obslaws database.
    source:
        Score source (default the newest ObsScaling files: they hold leaderboard v2).
    tasks:
        Benchmarks to run; default every ``bigbench_*``, ``gsm8k_*``, ``bbh_*`` and
        ``leaderboard_*`` benchmark the source scores.
    lowrank:
        The lowrank fitter to use (default hyperparameters).
    """
    from obslaws.store.read import load_fit_data

    data = load_fit_data(conn, None, source=source)
    if tasks is None:
        tasks = sorted(b for b in data.scores["benchmark"].unique().to_list() if ROBUSTNESS_TASKS.match(b))
    lowrank = lowrank if lowrank is not None else LowRankFitter()
    baseline = LogFlopsSigmoidFitter()
    rows = []
    for task in tasks:
        rows.append(compare_task(data, task, lowrank, baseline))
        if progress is not None:
            progress(f"{task}: lowrank {rows[-1]['lowrank_mse']:.2e} vs log-FLOPs {rows[-1]['logflops_mse']:.2e}")
    return pl.DataFrame(rows)


def reproduction_table(conn: duckdb.DuckDBPyConnection, *, lowrank: LowRankFitter | None = None) -> pl.DataFrame:
    """The paper's four compute cut-off backtests on its 77-model default set, ours beside the paper's."""
    lowrank = lowrank if lowrank is not None else LowRankFitter()
    rows = []
    for task, (paper_pcs, paper_flops) in PAPER_MSE.items():
        data = obsscaling_default_data(conn, [task], source=PAPER_SOURCE)
        row = compare_task(data, task, lowrank, LogFlopsSigmoidFitter())
        rows.append(
            {
                "task": task,
                "n_train": row["n_train"],
                "n_test": row["n_test"],
                "paper_lowrank_mse": paper_pcs,
                "lowrank_mse": row["lowrank_mse"],
                "lowrank_vs_paper": row["lowrank_mse"] / paper_pcs,
                "paper_logflops_mse": paper_flops,
                "logflops_mse": row["logflops_mse"],
                "lowrank_coverage": row["lowrank_coverage"],
            }
        )
    return pl.DataFrame(rows)


def coefficient_table(conn: duckdb.DuckDBPyConnection, *, lowrank: LowRankFitter | None = None) -> pl.DataFrame:
    """Our fitted logit coefficients (PC1..PC3, intercept) on the paper's training split, beside the paper's."""
    lowrank = lowrank if lowrank is not None else LowRankFitter()
    rows = []
    for task, paper in PAPER_COEFFICIENTS.items():
        data = obsscaling_default_data(conn, [task], source=PAPER_SOURCE)
        _, learned, n_train = _run(lowrank, data, task)
        law = learned["laws"][task]
        ours = [*law["pc_weights"], law["intercept"]]
        for name, p, o in zip(["PC1", "PC2", "PC3", "intercept"], paper, ours, strict=False):
            rows.append({"task": task, "term": name, "paper": p, "ours": round(float(o), 3), "n_train": n_train})
    return pl.DataFrame(rows)
