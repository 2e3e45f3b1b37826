"""Print the loss2loss reproduction tables, ours beside the papers'.

1. Train-to-train loss-to-loss prediction at 1e21 FLOPs (20x past the largest fitted budget)
   on the loss-to-loss sweep (Brandfonbrener et al. 2024; read from ../shared/data/loss2loss,
   never from the registry: it has no licence).
2. Translating a compute law to a new data set from 8 of its runs, against fitting it alone.
3. The two-step task law on the OLMo ladder (Bhagia et al. 2024), from the database: fitted on
   {190M, 370M, 760M, 1.3B} x {1, 2, 5, 10}xC, predicting OLMo-2 7B and 13B.

Usage::

    .venv/bin/python benchmarks/loss2loss_tables.py [--shared ../shared/data] [--db FILE]

Without ``--db`` the registry is loaded into an in-memory database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl
from obslaws_loss2loss.fitter import Loss2Loss
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
from obslaws.registry import load_registry
from obslaws.store.read import load_fit_data

LADDER_SIZES = ("190M", "370M", "760M", "1B")
LADDER_MULTS = ("1xC", "2xC", "5xC", "10xC")
LADDER_TARGETS = {"allenai/OLMo-2-1124-7B": "7B-4T", "allenai/OLMo-2-1124-13B": "13B-5T"}
# Task -> (loss/score parts, weights). MMLU is the item-weighted mean of its four test subjects.
LADDER_TASKS = {
    "MMLU": (("mmlu_stem_test", 3018), ("mmlu_humanities_test", 4705),
             ("mmlu_social_sciences_test", 3077), ("mmlu_other_test", 3242)),
    "HellaSwag": (("hellaswag_val", 1),),
    "ARC-Challenge": (("arc_challenge_test", 1),),
    "ARC-Easy": (("arc_easy_test", 1),),
    "PIQA": (("piqa_val", 1),),
    "CSQA": (("csqa_val", 1),),
    "SocialIQA": (("socialiqa_val", 1),),
    "OpenBookQA": (("openbookqa_test", 1),),
}  # fmt: skip
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


def ladder_table(conn: object) -> None:
    parts = [p for task in LADDER_TASKS.values() for p, _ in task]
    targets = [f"olmo_{p}_rc_5shot" for p in parts]
    data = load_fit_data(conn, targets, include_checkpoints=True)
    ladder = [f"allenai/olmo-ladder-{s}-{m}" for s in LADDER_SIZES for m in LADDER_MULTS]
    train_ids = data.models.filter(pl.col("model_id").is_in(ladder) | pl.col("checkpoint_of").is_in(ladder))
    fitter = Loss2Loss().fit(data.select_models(train_ids["model_id"]))
    query = data.select_models(list(LADDER_TARGETS))
    pred = fitter.predict(query).join(
        query.scores.select("model_id", "benchmark", pl.col("value").alias("truth")), on=["model_id", "benchmark"]
    )
    loss = fitter.predict_loss(query).join(
        query.losses.select("model_id", "dataset", pl.col("value").alias("loss_truth")), on=["model_id", "dataset"]
    )
    print("\n## 3. Two-step task law on the OLMo ladder (final.json ladder -> OLMo-2 7B and 13B)\n")
    print(
        f"Fitted on {train_ids.height} ladder models and checkpoints "
        "(16 final runs; step 1 on final runs, step 2 on all).\n"
    )
    print("| task | target | task loss pred / actual (bpb) | accuracy pred / actual | error (points) | within 2 |")
    print("|---|---|---|---|---|---|")
    passed = {m: [] for m in LADDER_TARGETS}
    for task, task_parts in LADDER_TASKS.items():
        weights = np.array([w for _, w in task_parts], dtype=float)
        weights /= weights.sum()
        for model, label in LADDER_TARGETS.items():
            rows = [(f"olmo_{p}_rc_5shot", f"{p}_rc_5shot") for p, _ in task_parts]
            acc = pred.filter(pl.col("model_id") == model)
            los = loss.filter(pl.col("model_id") == model)
            pick = lambda frame, col, key, val: np.array([frame.filter(pl.col(key) == v)[col][0] for v in val])  # noqa: E731
            acc_p = weights @ pick(acc, "prediction", "benchmark", [b for b, _ in rows])
            acc_t = weights @ pick(acc, "truth", "benchmark", [b for b, _ in rows])
            los_p = weights @ pick(los, "loss", "dataset", [d for _, d in rows])
            los_t = weights @ pick(los, "loss_truth", "dataset", [d for _, d in rows])
            err = 100 * (acc_p - acc_t)
            ok = abs(err) <= 2.0
            if ok:
                passed[model].append(task)
            print(
                f"| {task} | {label} | {los_p:.3f} / {los_t:.3f} | {100 * acc_p:.1f} / {100 * acc_t:.1f} "
                f"| {err:+.1f} | {'yes' if ok else 'no'} |"
            )
    both = [t for t in LADDER_TASKS if all(t in v for v in passed.values())]
    print(
        f"\nTasks within 2 points for both targets: {len(both)} of {len(LADDER_TASKS)} "
        f"({', '.join(both) or 'none'}); paper: 4 of 8."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
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
