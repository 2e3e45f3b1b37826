"""Time the loss2loss and densing fits against naive single-start scipy fits, in one process.

Timings on a shared machine are noisy: each is the median of ``--repeat`` runs.

1. Compute laws on the loss-to-loss sweep (6 data sets, kaplan form, ~90 runs each):
   ours (5,400-start grid evaluated in one numpy pass, best 8 refined by L-BFGS-B with analytic
   gradients) vs one L-BFGS-B run from a single start (numerical gradients), vs L-BFGS-B from
   every grid point (the exhaustive reference procedure, on a 1-in-``--stride`` subsample of
   the grid so it finishes), reporting time and the objective each reaches.
2. The ``loss2loss`` fitter on the OLMo ladder (11 task targets), and ``densing`` on the registry.

Usage::

    .venv/bin/python scripts/bench/bench_loss2loss_densing.py [--shared ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl
from obslaws_densing.fitter import DensingFitter
from obslaws_loss2loss import laws
from obslaws_loss2loss.fitter import Loss2LossFitter
from obslaws_loss2loss.sweep import OWN_LOSS, read_sweep
from scipy.optimize import minimize

import obslaws
from obslaws.registry import load_registry
from obslaws.shared_data import shared_data_dir
from obslaws.store.read import load_fit_data

NAIVE_START = np.array([10.0, 10.0, 0.5, 0.5, 0.5])  # log A, log B, log E, alpha, beta: the grid centre, one start


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def naive_fit(n, d, loss, form="kaplan", delta=1e-3):
    ln, ld, ll = np.log(n), np.log(d), np.log(loss)

    def f(theta):
        return float(laws.objective_batch(theta[None, :], ln, ld, ll, form, delta)[0])

    res = minimize(f, NAIVE_START, method="L-BFGS-B", bounds=laws._BOUNDS)
    return res.fun


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=shared_data_dir(), help="shared data (default: $OBSLAWS_SHARED)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stride", type=int, default=60, help="exhaustive baseline: every n-th grid start")
    args = parser.parse_args(argv)

    sweep, _ = read_sweep(args.shared / "loss2loss")
    print("## Compute-law fits on the loss-to-loss sweep (kaplan form)\n")
    print(
        f"| data set | ours s | naive single start s | exhaustive (grid/{args.stride}) s "
        "| objective ours | naive | exhaustive |"
    )
    print("|---|---|---|---|---|---|---|")
    tot = {"ours": 0.0, "naive": 0.0, "exh": 0.0}
    grid = laws.default_grid("kaplan")[:: args.stride]
    for (name,), runs in sweep.group_by("dataset", maintain_order=True):
        n, d, loss = runs["params"].to_numpy(), runs["tokens"].to_numpy(), runs[OWN_LOSS].to_numpy()
        t_ours, ours = timed(lambda: laws.fit_law(n, d, loss), args.repeat)  # noqa: B023
        t_naive, naive = timed(lambda: naive_fit(n, d, loss), args.repeat)  # noqa: B023
        t_exh, exh = timed(lambda: laws.fit_law(n, d, loss, grid=grid, n_refine=0), 1)  # noqa: B023
        tot["ours"] += t_ours
        tot["naive"] += t_naive
        tot["exh"] += t_exh
        print(
            f"| {name} | {t_ours:.3f} | {t_naive:.3f} | {t_exh:.2f} "
            f"| {ours.objective:.3e} | {naive:.3e} | {exh.objective:.3e} |"
        )
    print(
        f"\nTotal: ours {tot['ours']:.2f} s, naive {tot['naive']:.2f} s "
        f"(ratio ours/naive {tot['ours'] / tot['naive']:.2f}), "
        f"exhaustive on 1/{args.stride} of the grid {tot['exh']:.1f} s "
        f"(full grid ~{tot['exh'] * args.stride:.0f} s; ours is {tot['exh'] * args.stride / tot['ours']:.0f}x faster)."
    )

    conn = obslaws.connect(":memory:", plugins=False)
    load_registry(conn)
    tasks = [
        "mmlu_stem_test",
        "mmlu_humanities_test",
        "mmlu_social_sciences_test",
        "mmlu_other_test",
        "hellaswag_val",
        "arc_challenge_test",
        "arc_easy_test",
        "piqa_val",
        "csqa_val",
        "socialiqa_val",
        "openbookqa_test",
    ]
    data = load_fit_data(conn, [f"olmo_{t}_rc_5shot" for t in tasks], include_checkpoints=True)
    ladder = [f"allenai/olmo-ladder-{s}-{m}xC" for s in ("190M", "370M", "760M", "1B") for m in (1, 2, 5, 10)]
    train = data.select_models(
        data.models.filter(pl.col("model_id").is_in(ladder) | pl.col("checkpoint_of").is_in(ladder))["model_id"]
    )
    t_l2l, _ = timed(lambda: Loss2LossFitter().fit(train), args.repeat)
    t_l2l_1, _ = timed(lambda: Loss2LossFitter(n_refine=1).fit(train), args.repeat)
    dens_data = load_fit_data(conn, ["mmlu", "gsm8k", "humaneval"])
    t_dens, _ = timed(lambda: DensingFitter(reference_family="llama").fit(dens_data), args.repeat)
    t_dens0, _ = timed(lambda: DensingFitter(reference_family="llama", n_bootstrap=0).fit(dens_data), args.repeat)
    print(f"\n## Fitter fits (median of {args.repeat})\n")
    print("| fit | seconds |")
    print("|---|---|")
    n_train = train.models.height
    print(f"| loss2loss on the OLMo ladder (11 targets, {n_train} models/checkpoints; refine 8 starts) | {t_l2l:.2f} |")
    print(f"| same, refining 1 start | {t_l2l_1:.2f} |")
    print(f"| densing, mmlu+gsm8k+humaneval, reference llama, 500 bootstrap resamples | {t_dens:.2f} |")
    print(f"| same, no bootstrap | {t_dens0:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
