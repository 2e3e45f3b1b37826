"""Time lowrank per task against a faithful re-implementation of the ObsScaling pipeline, in one process.

The paper's pipeline (upstream ``utils/data.py``): z-score, mean-fill, then 1,000 rounds of
scikit-learn rank-1 PCA reconstruction (its stopping test compares the whole matrix with its
reconstruction and never passes), the same loop for the test rows, PCA, and one
``scipy.optimize.curve_fit`` from p0 = (0, 0.01, ..., 0). lowrank: converged imputation, closed
form for test rows, a batched multi-start link fit, and (in the full fitter) 200 bootstrap refits.

Usage::

    python scripts/bench/bench_lowrank.py --db obslaws.duckdb            # every task
    python scripts/bench/bench_lowrank.py --db obslaws.duckdb --limit 20  # the first 20 tasks

Timings on a shared machine are noisy: compare the ratios, which come from the same process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import polars as pl
from obslaws_lowrank import LowRankFitter
from obslaws_lowrank.tables import ROBUSTNESS_TASKS, cutoff_for
from scipy.optimize import curve_fit
from sklearn.decomposition import PCA

import obslaws
from obslaws.backtest import run_backtest
from obslaws.store.read import load_fit_data


def paper_impute(train: np.ndarray, test: np.ndarray, max_iter: int = 1000, tol: float = 1e-4):
    """The upstream ``pca_impute`` (rank 1), on numpy arrays."""
    mean, sd = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    z = (train - mean) / sd
    miss = np.isnan(z)
    z[miss] = 0.0
    pca = PCA(n_components=1)
    for _ in range(max_iter):
        pca = PCA(n_components=1)
        inv = pca.inverse_transform(pca.fit_transform(z))
        if np.allclose(z, inv, atol=tol):
            break
        z[miss] = inv[miss]
    zt = (test - mean) / sd
    mt = np.isnan(zt)
    zt[mt] = 0.0
    for _ in range(max_iter):
        inv = pca.inverse_transform(pca.transform(zt))
        if np.allclose(zt, inv, atol=tol):
            break
        zt[mt] = inv[mt]
    return np.clip(z * sd + mean, 0, 1), np.clip(zt * sd + mean, 0, 1)


def _sigmoid_floor(x1: np.ndarray, *p: float) -> np.ndarray:
    return (1 - p[-1]) / (1 + np.exp(-(x1 @ np.array(p[:-1])))) + p[-1]


def paper_pipeline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, k: int = 3) -> np.ndarray:
    """Imputation, PCA (5 components, first k used) and one curve_fit, as upstream; test predictions."""
    a, b = paper_impute(x_train, x_test)
    pca = PCA(n_components=min(5, a.shape[1])).fit(a)
    ptr, pte = pca.transform(a)[:, :k], pca.transform(b)[:, :k]
    p0 = np.concatenate([[0.0], np.full(k, 1e-2), [0.0]])
    bounds = ([-np.inf] * (k + 1) + [0.0], [np.inf] * (k + 1) + [0.2])
    x1 = np.column_stack([np.ones(len(ptr)), ptr])
    popt, _ = curve_fit(_sigmoid_floor, x1, y_train, p0=p0, maxfev=10000, bounds=bounds)
    return _sigmoid_floor(np.column_stack([np.ones(len(pte)), pte]), *popt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None, help="obslaws database (default $OBSLAWS_DB)")
    parser.add_argument("--source", default="obsscaling-4d6e1e4")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks")
    args = parser.parse_args()

    conn = obslaws.connect(args.db, read_only=True, plugins=False)
    data = load_fit_data(conn, None, source=args.source)
    tasks = sorted(b for b in data.scores["benchmark"].unique().to_list() if ROBUSTNESS_TASKS.match(b))
    tasks = tasks[: args.limit] if args.limit else tasks
    fitter = LowRankFitter()
    paper_s, fit_s, core_s = [], [], []
    for task in tasks:
        one = data.with_targets([task])
        flops = one.models["flops"]
        train = one.select_models(one.models.filter(flops <= cutoff_for(task))["model_id"])
        test = one.select_models(one.models.filter(flops > cutoff_for(task))["model_id"]).hide_scores([task])
        inputs = list(fitter.inputs_for(task, train))
        wide_tr = train.matrix([*inputs, task]).filter(pl.col(task).is_not_null())
        x_tr, y_tr = wide_tr.select(inputs).to_numpy().astype(float), wide_tr[task].to_numpy()
        x_te = test.matrix(inputs).select(inputs).to_numpy().astype(float)

        tic = time.perf_counter()
        paper_pipeline(x_tr, y_tr, x_te)
        paper_s.append(time.perf_counter() - tic)

        tic = time.perf_counter()
        LowRankFitter(n_bootstrap=0).fit(train).predict(test)  # imputation, PCA, multi-start link
        core_s.append(time.perf_counter() - tic)

        tic = time.perf_counter()
        LowRankFitter().fit(train).predict(test)  # + 200 bootstrap refits for intervals + diagnostics
        fit_s.append(time.perf_counter() - tic)

    tic = time.perf_counter()
    for task in tasks:
        run_backtest(fitter, data.with_targets([task]), "compute-cutoff", cutoff=cutoff_for(task), write=False)
    backtests_s = time.perf_counter() - tic

    def line(name: str, values: list[float]) -> str:
        return f"{name:58s} median {statistics.median(values) * 1e3:7.1f} ms   total {sum(values):6.1f} s"

    print(f"{len(tasks)} tasks, source {args.source}, same process")
    print(line("paper pipeline (1,000-round imputation + one curve_fit)", paper_s))
    print(line("lowrank core (converged imputation + multi-start link)", core_s))
    print(line("lowrank fitter, with 200-replicate bootstrap intervals", fit_s))
    ratio = [p / c for p, c in zip(paper_s, core_s, strict=True)]
    ratio_full = [p / c for p, c in zip(paper_s, fit_s, strict=True)]
    print(
        f"speed-up vs paper, median per task: core {statistics.median(ratio):.1f}x, "
        f"full {statistics.median(ratio_full):.1f}x"
    )
    print(f"all {len(tasks)} compute-cut-off backtests through run_backtest (full fitter): {backtests_s:.1f} s")


if __name__ == "__main__":
    main()
