"""Sloth's family hold-outs with its default optimiser and with the cosine option, in one process.

The refresh fits Sloth with ``restarts = 1`` (``obslaws/refresh/default.toml``). The cosine
option (``max_iter=2000, full_learning_rates=(0.06,), full_schedule="cosine"``) takes about half
the CPU; it was measured for the refresh and not adopted there (docs/speed.md). Per set (the
paper's groups, n = 1, sloth-data-v2) this prints each optimiser's CPU seconds, the backtest's
MAE and coverage, the members' mean training MAE and full-stage steps, the two alternating so
that load drifts hit both, and the total CPU ratio. ``--restarts`` sets the seeds per fit.

    .venv/bin/python scripts/bench/bench_sloth_cosine.py [--sets oll-v1 ...] [--restarts 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from obslaws_sloth.batch import family_holdout
from obslaws_sloth.fitter import SlothFitter

from obslaws.backtest.paper import sloth_fit_data
from obslaws.threads import set_threads

DEFAULT: dict = {}
COSINE = {"max_iter": 2000, "full_learning_rates": (0.06,), "full_schedule": "cosine"}


def run(options: dict, data, bench_set: str, restarts: int) -> tuple[float, dict]:
    """CPU seconds and the figures of one family-holdout backtest."""
    fitter = SlothFitter(restarts=restarts, **options)
    tic = time.process_time()
    result = family_holdout(fitter, data, benchmarks=bench_set, n_train=1, groups="sloth-paper")
    cpu = time.process_time() - tic
    members = [m.model for fitted in result.fitted for m in fitted.members_]
    average = result.summary()["average"]
    return cpu, {
        "mae": average["mae_pt"],
        "coverage": average.get("coverage"),
        "train_mae": 100 * float(np.mean([m.train_mae for m in members])),
        "steps": float(np.mean([m.steps for m in members])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["oll-v1", "oll-v2", "oll-all"])
    parser.add_argument("--restarts", type=int, default=1, help="seeds per fit (the refresh's: 1)")
    args = parser.parse_args()
    set_threads(1)  # as on the refresh's workers
    data = sloth_fit_data()
    run(COSINE, data, "oll-v2", 1)  # load the compiled kernel before timing
    print("set      optimiser  CPU s   MAE    coverage  train MAE (pt)  full-stage steps (mean)")
    totals = {"default": 0.0, "cosine": 0.0}
    for bench_set in args.sets:
        for label, options in (("default", DEFAULT), ("cosine", COSINE)):
            cpu, f = run(options, data, bench_set, args.restarts)
            totals[label] += cpu
            print(
                f"{bench_set:8s} {label:9s} {cpu:6.1f}  {f['mae']:5.2f}  {f['coverage']:.2f}      "
                f"{f['train_mae']:.3f}           {f['steps']:.0f}",
                flush=True,
            )
    print(
        f"total CPU s: default {totals['default']:.1f}, cosine {totals['cosine']:.1f}, "
        f"ratio {totals['default'] / totals['cosine']:.2f}x"
    )


if __name__ == "__main__":
    main()
