"""Print the loss2loss reproduction tables, ours beside the papers'.

1. Train-to-train loss-to-loss prediction at 1e21 FLOPs (20x past the largest fitted budget)
   on the loss-to-loss sweep (Brandfonbrener et al. 2024; read from ../shared/data/loss2loss,
   never from the registry: it has no licence).
2. Translating a compute law to a new data set from 8 of its runs, against fitting it alone.
3. The two-step task law on the OLMo ladder (Bhagia et al. 2024), from the database: fitted on
   {190M, 370M, 760M, 1.3B} x {1, 2, 5, 10}xC, predicting OLMo-2 7B and 13B.

Usage::

    .venv/bin/python scripts/bench/loss2loss_tables.py [--shared ../shared/data] [--db FILE]

Without ``--db`` the registry is loaded into an in-memory database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl
from obslaws_loss2loss.composite import add_weighted_task
from obslaws_loss2loss.fitter import Loss2LossFitter
from obslaws_loss2loss.laws import fit_law
from obslaws_loss2loss.pairings import (
    dataset_laws,
    fit_shifted_free_ey,
    pair_runs,
    r_squared,
    train_to_train,
    translate_law,
)
from obslaws_loss2loss.sweep import OWN_LOSS, read_sweep

import obslaws
from obslaws.data import FitData
from obslaws.registry import load_registry
from obslaws.shared_data import shared_data_dir
from obslaws.store.read import load_fit_data

LADDER_SIZES = ("190M", "370M", "760M", "1B")
LADDER_MULTS = ("1xC", "2xC", "5xC", "10xC")
LADDER_TARGETS = {"allenai/OLMo-2-1124-7B": "7B-4T", "allenai/OLMo-2-1124-13B": "13B-5T"}
# The paper's 8 tasks (OLMo ladder code: `v2_main`), ranked-classification format, 5-shot.
# MMLU is one task: bits per byte and accuracy are the item-weighted means of its four test subjects.
MMLU = "olmo_mmlu_test_rc_5shot"
MMLU_PARTS = {
    "olmo_mmlu_stem_test_rc_5shot": 3018,
    "olmo_mmlu_humanities_test_rc_5shot": 4705,
    "olmo_mmlu_social_sciences_test_rc_5shot": 3077,
    "olmo_mmlu_other_test_rc_5shot": 3242,
}
LADDER_TASKS = {
    "MMLU": MMLU,
    "HellaSwag": "olmo_hellaswag_val_rc_5shot",
    "ARC-Challenge": "olmo_arc_challenge_test_rc_5shot",
    "ARC-Easy": "olmo_arc_easy_test_rc_5shot",
    "PIQA": "olmo_piqa_val_rc_5shot",
    "CSQA": "olmo_csqa_val_rc_5shot",
    "SocialIQA": "olmo_socialiqa_val_rc_5shot",
    "OpenBookQA": "olmo_openbookqa_test_rc_5shot",
}  # fmt: skip
LAST_N = 5  # a target's accuracy and task loss: the mean of its last 5 evaluations, as in the paper
# Translation: the new data set contributes one run per FLOP budget (the median-size one), 8 in all.


def train_to_train_table(shared: Path) -> None:
    sweep, extrap = read_sweep(shared / "loss2loss")
    laws = dataset_laws(sweep, OWN_LOSS, form="kaplan")
    results = train_to_train(sweep, laws, OWN_LOSS, targets=extrap)
    print("## 1. Train-to-train loss-to-loss prediction at 1e21 FLOPs (loss2loss sweep)\n")
    print("| x (source) | y (target) | pairs | K | kappa | R^2 | predicted | actual | error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.x} | {r.y} | {r.law.n_points} | {r.law.K:.3f} | {r.law.kappa:.3f} | {r.law.r2:.4f} "
            f"| {r.prediction:.4f} | {r.target_y:.4f} | {100 * r.relative_error:.2f}% |"
        )
    errors = np.array([r.relative_error for r in results])
    direct = []
    for name, law in laws.items():
        row = extrap.filter(pl.col("dataset") == name)
        direct.append(abs(law.predict(row["params"][0], row["tokens"][0])[0] / row[OWN_LOSS][0] - 1))
    print("\n| method | mean error | max error | paper mean | paper max |")
    print("|---|---|---|---|---|")
    print(
        f"| loss-to-loss, {len(errors)} ordered pairs | {100 * errors.mean():.2f}% "
        f"| {100 * errors.max():.2f}% | 0.9% | 2.1% |"
    )
    print(
        f"| each data set's own law extrapolated (baseline) | {100 * np.mean(direct):.2f}% "
        f"| {100 * np.max(direct):.2f}% | | |"
    )
    print("\nE per data set (kaplan law on sweep.csv): " + ", ".join(f"{k} {v.E:.3f}" for k, v in laws.items()))

    print("\n## 2. Translating a law to a new data set from 8 of its runs (one per FLOP budget)\n")
    print(
        "x: its law from all its runs; y: K, kappa, E_y from 8 runs. R^2 on every other run of y (and its 1e21 run);"
        " paper: 0.986-0.991 translated vs 0.45-0.975 alone.\n"
    )
    print(
        "| x (full law) | y (new) | y runs used | R^2 translated | R^2 fitted alone "
        "| 1e21 error translated | 1e21 error alone |"
    )
    print("|---|---|---|---|---|---|---|")
    trans_r2, alone_r2 = [], []
    for x, law_x in laws.items():
        for y in laws:
            if x == y:
                continue
            runs_y = sweep.filter(pl.col("dataset") == y).with_columns(
                (pl.col("params").rank("ordinal").over("iso_flop") == pl.len().over("iso_flop") // 2 + 1).alias("few")
            )
            few = runs_y.filter(pl.col("few"))
            rest = pl.concat([runs_y.filter(~pl.col("few")).drop("few"), extrap.filter(pl.col("dataset") == y)])
            shift = fit_shifted_free_ey(law_x.predict(few["params"], few["tokens"]), few[OWN_LOSS].to_numpy(), law_x.E)
            translated = translate_law(law_x, shift)
            alone = fit_law(few["params"].to_numpy(), few["tokens"].to_numpy(), few[OWN_LOSS].to_numpy(), form="kaplan")
            truth = rest[OWN_LOSS].to_numpy()
            pt, pa = translated(rest["params"], rest["tokens"]), alone.predict(rest["params"], rest["tokens"])
            trans_r2.append(r_squared(truth, pt))
            alone_r2.append(r_squared(truth, pa))
            print(
                f"| {x} | {y} | {few.height} | {trans_r2[-1]:.3f} | {alone_r2[-1]:.3f} "
                f"| {100 * abs(pt[-1] / truth[-1] - 1):.2f}% | {100 * abs(pa[-1] / truth[-1] - 1):.2f}% |"
            )
    print(
        f"\nTranslated R^2 {min(trans_r2):.3f}-{max(trans_r2):.3f} (median {np.median(trans_r2):.3f}); "
        f"fitted alone {min(alone_r2):.3f}-{max(alone_r2):.3f} (median {np.median(alone_r2):.3f})."
    )
    _ = pair_runs  # the pairing rule the laws above use (inner join on tokens)


def _last_mean(data: FitData, model: str, frame: str, key: str, value: str, n: int = LAST_N) -> float:
    """Mean of ``model``'s last ``n`` evaluations (itself and its latest checkpoints, by tokens)."""
    runs = data.models.filter((pl.col("model_id") == model) | (pl.col("checkpoint_of") == model))
    table = getattr(data, frame).filter(pl.col(key) == value).join(runs.select("model_id", "tokens"), on="model_id")
    return float(table.sort("tokens")["value"].tail(n).mean())


def _ladder_data(conn: object) -> FitData:
    benches = [b for b in LADDER_TASKS.values() if b != MMLU] + list(MMLU_PARTS)
    data = load_fit_data(conn, benches, include_checkpoints=True)
    return add_weighted_task(data, MMLU, MMLU_PARTS).with_targets(list(LADDER_TASKS.values()))


def _runs(data: FitData, sizes: tuple[str, ...]) -> list[str]:
    """Ladder runs of these sizes at the paper's multipliers, with all their checkpoints."""
    runs = [f"allenai/olmo-ladder-{s}-{m}" for s in sizes for m in LADDER_MULTS]
    rows = data.models.filter(pl.col("model_id").is_in(runs) | pl.col("checkpoint_of").is_in(runs))
    return rows["model_id"].to_list()


def _held_out(data: FitData) -> None:
    """The same law one rung down: fit on 190M-760M, predict the four 1B runs (smaller models only)."""
    fitter = Loss2LossFitter().fit(data.select_models(_runs(data, LADDER_SIZES[:-1])))
    held = [f"allenai/olmo-ladder-1B-{m}" for m in LADDER_MULTS]
    pred = fitter.predict(data.select_models(held))
    errors = {}
    for task, bench in LADDER_TASKS.items():
        rows = pred.filter(pl.col("benchmark") == bench)
        truth = [_last_mean(data, m, "scores", "benchmark", bench) for m in rows["model_id"]]
        errors[task] = 100 * np.abs(rows["prediction"].to_numpy() - np.array(truth))
    print("\nHeld-out check (fit on 190M-760M x 1-10xC, predict the 1B runs; mean |error| over 1/2/5/10xC, points):")
    print("| " + " | ".join(errors) + " | all |")
    print("|" + "---|" * (len(errors) + 1))
    print("| " + " | ".join(f"{e.mean():.1f}" for e in errors.values()) + f" | {np.mean(list(errors.values())):.2f} |")


def ladder_table(conn: object) -> None:
    data = _ladder_data(conn)
    train_ids = _runs(data, LADDER_SIZES)
    fitter = Loss2LossFitter().fit(data.select_models(train_ids))
    query = data.select_models(list(LADDER_TARGETS))
    pred = fitter.predict(query)
    loss = fitter.predict_loss(query)
    print("\n## 3. Two-step task law on the OLMo ladder (final.json ladder -> OLMo-2 7B and 13B)\n")
    print(
        f"Fitted on {len(train_ids)} ladder models and checkpoints (16 final runs, every evaluation; step 1 on the "
        f"final runs, each the mean of its last {fitter.moving_avg} evaluations; step 2 on all, first "
        f"{fitter.skip_fraction:.0%} of each run skipped, moving average {fitter.moving_avg}). Actual: mean of the "
        f"target's last {LAST_N} evaluations (13B: steps 592k-596k; 7B: its one annealed row); last row alone in "
        "brackets.\n"
    )
    print(
        "| task | target | task loss pred / actual (bpb) | accuracy pred / actual (last row) | error (pt) | within 2 |"
    )
    print("|---|---|---|---|---|---|")
    passed = {m: [] for m in LADDER_TARGETS}
    for task, bench in LADDER_TASKS.items():
        dataset = bench.removeprefix("olmo_")
        for model, label in LADDER_TARGETS.items():
            acc_p = pred.filter((pl.col("model_id") == model) & (pl.col("benchmark") == bench))["prediction"][0]
            los_p = loss.filter((pl.col("model_id") == model) & (pl.col("benchmark") == bench))["loss"][0]
            acc_t = _last_mean(data, model, "scores", "benchmark", bench)
            acc_last = _last_mean(data, model, "scores", "benchmark", bench, n=1)
            los_t = _last_mean(data, model, "losses", "dataset", dataset)
            err = 100 * (acc_p - acc_t)
            ok = abs(err) <= 2.0
            if ok:
                passed[model].append(task)
            print(
                f"| {task} | {label} | {los_p:.3f} / {los_t:.3f} | {100 * acc_p:.1f} / {100 * acc_t:.1f} "
                f"({100 * acc_last:.1f}) | {err:+.1f} | {'yes' if ok else 'no'} |"
            )
    both = [t for t in LADDER_TASKS if all(t in v for v in passed.values())]
    print(
        f"\nTasks within 2 points for both targets: {len(both)} of {len(LADDER_TASKS)} "
        f"({', '.join(both) or 'none'}); "
        + "; ".join(f"{LADDER_TARGETS[m]} alone: {len(v)}" for m, v in passed.items())
        + ". Paper: 4 of 8."
    )
    _held_out(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=shared_data_dir(), help="shared data (default: $OBSLAWS_SHARED)")
    parser.add_argument("--db", default=None, help="obslaws database (default: the registry, in memory)")
    args = parser.parse_args(argv)
    if (args.shared / "loss2loss" / "sweep.csv").exists():
        train_to_train_table(args.shared)
    else:
        print(f"(skipping the loss2loss sweep tables: {args.shared / 'loss2loss'} not found)", file=sys.stderr)
    if args.db:
        conn = obslaws.connect(args.db, read_only=True, plugins=False)
    else:
        conn = obslaws.connect(":memory:", plugins=False)
        load_registry(conn)
    ladder_table(conn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
