"""The default Sloth (``SlothFitter()``) on the paper's family-holdout table, with its seed spread.

One batched backtest per set fits the default's members (d = 1..4) for ``2 x restarts`` seeds;
the members of seeds 0..R-1 and of seeds R..2R-1 are two independent default fits (seed 0 and
seed R), so their MAEs give the spread over seeds without a second backtest. Printed beside
them: each single d averaged over its seeds, and the paper's full Sloth at its headline d.

    .venv/bin/python scripts/bench/sloth_default.py                # n = 1, three sets
    .venv/bin/python scripts/bench/sloth_default.py --n 1 2 --restarts 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from obslaws_sloth.batch import family_holdout
from obslaws_sloth.fitter import SlothFitter

from obslaws.backtest import summarise
from obslaws.backtest.paper import paper_errors, sloth_fit_data
from obslaws.threads import set_threads

# The paper's full Sloth at the d of its headline table (docs/sloth-paper.md).
PAPER_D = {("oll-v1", 1): 4, ("oll-v2", 1): 2, ("oll-all", 1): 3, ("oll-v1", 2): 2, ("oll-v2", 2): 4, ("oll-all", 2): 3}


def ensemble_mae(members: pl.DataFrame) -> float:
    """MAE (points) of the mean prediction of the given members, averaged as the harness does."""
    cells = members.group_by("split", "model_id", "benchmark").agg(pl.col("prediction").mean(), pl.col("truth").first())
    none = pl.lit(None, pl.Float64)
    return summarise(cells.with_columns(none.alias("stderr"), none.alias("lower"), none.alias("upper")))["average"][
        "mae_pt"
    ]


def paper_mae(errors: pl.DataFrame, bench_set: str, n: int, d: int) -> float:
    rows = errors.filter((pl.col("set") == bench_set) & (pl.col("n_train") == n))
    column = f"abserr_factor_trainlink_faminter_d={d}"
    per = rows.group_by("benchmark", "test_group").agg(pl.col(column).mean())
    per = per.group_by("benchmark").agg(pl.col(column).mean())
    return float(100 * per[column].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1])
    parser.add_argument("--sets", nargs="+", default=["oll-v1", "oll-v2", "oll-all"])
    parser.add_argument("--restarts", type=int, default=3, help="seeds per default fit (the default's own: 3)")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: $OBSLAWS_THREADS, else 1)")
    args = parser.parse_args()
    args.threads = set_threads(args.threads)
    data, errors = sloth_fit_data(), paper_errors()
    r = args.restarts
    print(f"SlothFitter() members d=1..4 x seeds; default A = seeds 0..{r - 1}, default B = seeds {r}..{2 * r - 1}")
    print("set      n | paper (d) | default A  B  |A-B|  A+B | single d, mean of its seeds          | coverage  time")
    table = []
    for n in args.n:
        for bench_set in args.sets:
            tic = time.perf_counter()
            fitter = SlothFitter(restarts=2 * r)
            run = family_holdout(fitter, data, benchmarks=bench_set, n_train=n, groups="sloth-paper")
            seconds = time.perf_counter() - tic
            truth = run.cells.select("split", "model_id", "benchmark", "truth")
            per = run.member_predictions().join(truth, on=["split", "model_id", "benchmark"])
            a = ensemble_mae(per.filter(pl.col("seed") < r))
            b = ensemble_mae(per.filter(pl.col("seed") >= r))
            both = ensemble_mae(per)
            single = {d: ensemble_mae(per.filter(pl.col("d") == d)) for d in sorted(per["d"].unique())}
            d_paper = PAPER_D[(bench_set, n)]
            paper = paper_mae(errors, bench_set, n, d_paper)
            coverage = run.summary()["average"].get("coverage")
            table.append((n, paper, a, b))
            singles = "  ".join(f"d={d} {v:.2f}" for d, v in single.items())
            print(
                f"{bench_set:8s} {n} | {paper:5.2f} ({d_paper}) | {a:5.2f} {b:5.2f} {abs(a - b):5.2f} {both:5.2f} | "
                f"{singles} | {coverage:.2f}  {seconds:5.0f} s",
                flush=True,
            )
    for n in args.n:
        rows = np.array([t[1:] for t in table if t[0] == n])
        paper, a, b = rows.mean(axis=0)
        print(
            f"n={n} average over sets: paper {paper:.2f}, "
            f"default A {a:.2f} ({a - paper:+.2f}), B {b:.2f} ({b - paper:+.2f})"
        )


if __name__ == "__main__":
    main()
