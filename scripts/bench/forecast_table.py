"""Every fitter x every forecasting protocol, side by side, in one run.

    python scripts/bench/forecast_table.py                    # the registry (built in a temporary file)
    python scripts/bench/forecast_table.py --fitters forecast,flops-sigmoid-family --protocols time-split
    python scripts/bench/forecast_table.py --refresh          # also: the refresh, twice, timed
    python scripts/bench/forecast_table.py --fitters forecast --seeds 0,1,2   # and its inner folds' seeds

Protocols (oll-v1 on the registry unless said): time-split at 2024-01-01; compute-cutoff at
8.4e22 and a sweep of cut-offs (on the ObsScaling source, as the refresh runs them); the rolling
forecast (quarterly cuts from 2023-07-01, 6-month horizon) with n = 0 and n = 1; the Sloth
paper's family hold-out (n = 1, its groups, sloth-data-v2; oll-v1, oll-v2, oll-all); the cell
hold-out (half of each model's scores hidden, 3 folds, random_state 0) on the registry's OLL
table and on Epoch AI's benchmark hub. Each cell: MAE (points) / bias / coverage of the 90%
intervals / seconds. The noise floor row is the mean sampling error of the test scores.
Below the table, each MAE's 90% interval from resampling the test models' families
(obslaws/backtest/uncertainty.py: what the figure could have read on other families), and each
fitter's MAE over the reference fitter's (--reference, flops-sigmoid-family: the issue's ratio
targets) on the same resampled families.
With --seeds, a fitter with a ``random_state`` (the forecaster's inner folds: which family groups
and which half of each model's scores each fold holds out) runs once per seed, and a table gives
each figure's range over the seeds: how much of a difference between two versions one draw of the
inner folds could make.
Timings are wall-clock on whatever machine runs this; compare them within one run. The table
ends with the machine it ran on (scripts/bench/machine.py): figures differ slightly across CPUs.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path


def _hub() -> Path:
    from obslaws.shared_data import shared_data_dir

    return shared_data_dir() / "epoch-ai" / "benchmark-stitching-2025-12"


HUB = _hub()
FITTERS = (
    "benchmark-mean",
    "logit-svd",
    "flops-sigmoid",
    "flops-sigmoid-family",
    "obsscaling-logflops",
    "lowrank",
    "sloth",
    "forecast",
)
# name -> (protocol, benchmarks, source, options)
RECENT = {"start": "2024-07-01", "base_only": True}
PROTOCOLS = {
    "time-split": ("time-split", "oll-v1", None, {"date": "2024-01-01"}),
    "compute-cutoff": ("compute-cutoff", "oll-v1", "obsscaling-4d6e1e4", {"cutoff": 8.4e22}),
    "compute-sweep": ("compute-sweep", "oll-v1", "obsscaling-4d6e1e4", {}),
    "rolling n=0": ("rolling-forecast", "oll-v1", None, {"n_train": 0}),
    "rolling n=1": ("rolling-forecast", "oll-v1", None, {"n_train": 1}),
    # the same question on current data: the 2024-2025 base models (Swallow's pretrained suite and
    # the model cards' reported numbers), quarterly cuts from 2024-07-01
    "rolling 2024+ n=0": ("rolling-forecast", "swallow-reported", None, {"n_train": 0, **RECENT}),
    "rolling 2024+ n=1": ("rolling-forecast", "swallow-reported", None, {"n_train": 1, **RECENT}),
    "family v1": ("family-holdout", "oll-v1", "sloth-data-v2", {"n_train": 1, "groups": "sloth-paper"}),
    "family v2": ("family-holdout", "oll-v2", "sloth-data-v2", {"n_train": 1, "groups": "sloth-paper"}),
    "family v1+v2": ("family-holdout", "oll-all", "sloth-data-v2", {"n_train": 1, "groups": "sloth-paper"}),
    "cells oll-v1": ("cell-holdout", "oll-v1", None, {}),
    "cells epoch": ("cell-holdout", "epoch", None, {}),
}
# Sloth's default takes minutes per family-holdout set: it runs the protocols it was made for
# unless --fitters names it with --all-protocols.
SLOW = {"sloth": {"family v1", "family v2", "family v1+v2", "time-split", "compute-cutoff"}}


@functools.cache  # one database for every seed's run in a process
def _database() -> tuple[object, str]:
    import obslaws
    from obslaws.registry import load_registry

    path = os.environ.get("OBSLAWS_BENCH_DB") or str(Path(tempfile.mkdtemp(prefix="forecast-bench-")) / "db.duckdb")
    conn = obslaws.connect(path)
    load_registry(conn)
    return conn, path


def _data(conn, benchmarks: str, source: str | None, cache: dict):
    key = (benchmarks, source)
    if key not in cache:
        if benchmarks == "epoch":
            from obslaws_forecast.epoch_hub import load_hub

            cache[key] = load_hub(HUB)
        else:
            from obslaws.benchmark_sets import resolve_benchmarks
            from obslaws.store.read import load_fit_data

            cache[key] = load_fit_data(conn, resolve_benchmarks(benchmarks), source=source)
    return cache[key]


def run_table(
    fitters: list[str], protocols: list[str], all_protocols: bool, progress=print, seed: int | None = None
) -> list[dict]:
    """Every fitter on every protocol; with ``seed``, only the fitters with a ``random_state`` other
    than ``seed`` by default, created with it (the default run has the other)."""
    from obslaws.backtest import run_backtest
    from obslaws.fitting.lookup import default_hyperparameters, get_fitters

    conn, _ = _database()
    registered, cache, rows = get_fitters(), {}, []
    for fitter in fitters:
        defaults = default_hyperparameters(registered[fitter].cls)
        if seed is not None and defaults.get("random_state", seed) == seed:
            continue
        seeded = {} if seed is None else {"random_state": seed}
        for label in protocols:
            protocol, benchmarks, source, options = PROTOCOLS[label]
            if fitter in SLOW and label not in SLOW[fitter] and not all_protocols:
                continue
            if label == "cells epoch" and not HUB.exists():
                continue
            data = _data(conn, benchmarks, source, cache)
            tic = time.perf_counter()
            try:
                result = run_backtest(registered[fitter].create(**seeded), data, protocol, write=False, **options)
            except Exception as exc:  # a fitter that cannot run a protocol is a table entry, not a crash
                progress(f"{fitter:22s} {label:14s} skipped: {' '.join(str(exc).split())[:100]}")
                continue
            summary = result.summary()
            clusters = result.clusters
            row = {
                "fitter": fitter,
                "protocol": label,
                "seed": seeded.get("random_state", defaults.get("random_state")),
                "mae": summary["average"]["mae_pt"],
                "bias": summary["average"]["bias_pt"],
                "coverage": summary["average"]["coverage"],
                "width": summary["average"].get("interval_width_pt"),
                "interval_score": summary["average"].get("interval_score_pt"),
                "noise": summary["noise_floor_pt"],
                "seconds": time.perf_counter() - tic,
                "pooled": summary["pooled"],
                "splits": summary["splits"],
                "interval": _interval(summary),
                "scored": (result.cells, clusters, result.averaging),
            }
            rows.append(row)
            cov = "-" if row["coverage"] is None else f"{row['coverage']:.2f}"
            width = "-" if row["width"] is None else f"{row['width']:.1f}"
            score = "-" if row["interval_score"] is None else f"{row['interval_score']:.1f}"
            seeded_as = "" if row["seed"] is None else f"seed {row['seed']} "
            progress(
                f"{fitter:22s} {label:14s} {seeded_as}MAE {row['mae']:6.2f}  bias {row['bias']:+6.2f}  "
                f"cov {cov}  width {width}  interval score {score}  {row['seconds']:6.1f} s"
            )
    return rows


def _interval(summary: dict):
    """The summary's MAE with the interval it carries (None without one)."""
    from obslaws.backtest.uncertainty import Interval

    bounds = summary.get("mae_interval_pt")
    return None if bounds is None else Interval(summary["average"]["mae_pt"], *bounds)


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    cov = "–" if row["coverage"] is None else f"{row['coverage']:.2f}"
    return f"{row['mae']:.2f} / {row['bias']:+.1f} / {cov} / {row['seconds']:.0f}s"


def interval_lines(rows: list[dict], reference: str) -> list[str]:
    """Each MAE's 90% family-bootstrap interval, and its ratio to ``reference``'s on the cells both
    scored (a FLOPs-based reference leaves out the test models without sizes), on the same draws."""
    from obslaws.backtest.shared import shared_keys
    from obslaws.backtest.uncertainty import ratio_interval

    by = {(r["fitter"], r["protocol"]): r for r in rows}
    lines = [
        "MAE with its 90% interval from resampling the test models' families (2,000 draws, seed 0); "
        f"ratio: MAE / {reference}'s MAE on the cells both scored, on the same draws (paired)",
        "",
        f"| fitter | protocol | MAE [90% interval] | cells | ratio to {reference} | shared cells |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["interval"] is None:
            continue
        base = by.get((reference, r["protocol"]))
        ratio, shared = "–", "–"
        if base is not None and base is not r and base["interval"] is not None:
            cells, clusters, averaging = r["scored"]
            ratio = str(ratio_interval((cells, clusters), base["scored"][:2], averaging)) + "x"
            shared = str(shared_keys([cells, base["scored"][0]]).height)
        lines.append(
            f"| {r['fitter']} | {r['protocol']} | {r['interval']} | {r['scored'][0].height} | {ratio} | {shared} |"
        )
    return [*lines, ""]


def markdown(rows: list[dict], protocols: list[str], reference: str = "flops-sigmoid-family") -> str:
    fitters = list(dict.fromkeys(r["fitter"] for r in rows))
    shown = [p for p in protocols if any(r["protocol"] == p for r in rows)]
    by = {(r["fitter"], r["protocol"]): r for r in rows}
    lines = ["| fitter | " + " | ".join(shown) + " |", "|---|" + "---|" * len(shown)]
    for fitter in fitters:
        lines.append(f"| {fitter} | " + " | ".join(_cell(by.get((fitter, p))) for p in shown) + " |")
    noise = [
        next((f"{r['noise']:.2f}" for r in rows if r["protocol"] == p and r["noise"] is not None), "–") for p in shown
    ]
    lines.append("| noise floor | " + " | ".join(noise) + " |")
    out = ["MAE (points) / bias / coverage of 90% intervals / time", "", *lines, ""]
    out += interval_lines(rows, reference)
    cells = [r for r in rows if r["protocol"].startswith("cells")]
    if cells:
        out += [
            "Cell hold-out, pooled over cells: MAE / median absolute error (points) / median absolute "
            "percentage error / share within 3 and 5 points",
            "",
            "| fitter | protocol | MAE | MdAE | MdAPE % | within 3 | within 5 | coverage |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in cells:
            p = r["pooled"]
            cov = "–" if p.get("coverage") is None else f"{p['coverage']:.2f}"
            out.append(
                f"| {r['fitter']} | {r['protocol']} | {p['mae_pt']:.2f} | {p['median_ae_pt']:.2f} | "
                f"{p['mdape_pct']:.1f} | {p['within_3pt']:.2f} | {p['within_5pt']:.2f} | {cov} |"
            )
        out.append("")
    per_split = [r for r in rows if r["protocol"].startswith(("rolling", "compute-sweep"))]
    if per_split:
        out += ["Per cut (MAE, points):", ""]
        for r in per_split:
            cuts = ", ".join(f"{k}: {v['mae_pt']:.2f}" for k, v in r["splits"].items())
            out.append(f"- {r['fitter']}, {r['protocol']}: {cuts}")
        out.append("")
    return "\n".join(out)


def seed_lines(rows: list[dict]) -> list[str]:
    """Per fitter and protocol run with more than one seed: each figure per seed and its range."""
    runs: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r.get("seed") is not None:
            runs.setdefault((r["fitter"], r["protocol"]), []).append(r)
    runs = {key: rs for key, rs in runs.items() if len(rs) > 1}
    if not runs:
        return []
    seeds = sorted({r["seed"] for rs in runs.values() for r in rs})
    lines = [
        f"Over the inner folds' seeds {', '.join(map(str, seeds))}: MAE / coverage / interval score per seed, "
        "and each one's range (largest - smallest)",
        "",
        "| fitter | protocol | " + " | ".join(f"seed {s}" for s in seeds) + " | MAE range | coverage range |",
        "|---|---|" + "---|" * (len(seeds) + 2),
    ]
    for (fitter, protocol), rs in runs.items():
        by_seed = {r["seed"]: r for r in rs}
        cells = [
            "–"
            if s not in by_seed
            else f"{by_seed[s]['mae']:.2f} / {by_seed[s]['coverage'] or 0:.2f} / "
            f"{by_seed[s]['interval_score'] or 0:.1f}"
            for s in seeds
        ]
        maes = [r["mae"] for r in rs]
        covs = [r["coverage"] for r in rs if r["coverage"] is not None]
        cov_range = f"{max(covs) - min(covs):.2f}" if covs else "–"
        lines.append(f"| {fitter} | {protocol} | {' | '.join(cells)} | {max(maes) - min(maes):.2f} | {cov_range} |")
    return [*lines, ""]


def time_refresh(progress=print) -> str:
    """The default refresh on a fresh database, then again with nothing new (should skip)."""
    import obslaws
    from obslaws.refresh.config import load_config
    from obslaws.refresh.pipeline import refresh

    path = Path(tempfile.mkdtemp(prefix="forecast-refresh-")) / "db.duckdb"
    conn = obslaws.connect(path)
    config = load_config(None)
    tic = time.perf_counter()
    first = refresh(conn, config, progress=lambda _: None)
    first_s = time.perf_counter() - tic
    tic = time.perf_counter()
    second = refresh(conn, config, progress=lambda _: None)
    second_s = time.perf_counter() - tic
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in first.steps.items())
    return (
        f"refresh on a fresh database: {first_s:.0f} s ({steps}); again with nothing new: {second_s:.1f} s, "
        f"skipped: {second.nothing_new}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fitters", default=",".join(FITTERS))
    parser.add_argument("--protocols", default=",".join(PROTOCOLS), help=f"from: {', '.join(PROTOCOLS)}")
    parser.add_argument("--all-protocols", action="store_true", help="run slow fitters on every protocol")
    parser.add_argument("--refresh", action="store_true", help="also time the refresh twice")
    parser.add_argument("--out", help="write the markdown table here too")
    parser.add_argument(
        "--seeds", default="", help="also run the fitters with a random_state with each of these seeds (0,1,2)"
    )
    parser.add_argument(
        "--reference", default="flops-sigmoid-family", help="the fitter every MAE is also given as a ratio to"
    )
    args = parser.parse_args(argv)
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        parser.error(f"unknown protocol(s) {unknown}; choose from {list(PROTOCOLS)}")
    fitters = [f.strip() for f in args.fitters.split(",") if f.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    table = run_table(fitters, protocols, args.all_protocols)  # each fitter with its default seed
    rows = table + [r for seed in seeds for r in run_table(fitters, protocols, args.all_protocols, seed=seed)]
    from machine import describe  # scripts/bench/machine.py: the figures depend on the CPU (its docstring)

    spread = "\n".join(seed_lines(rows))
    text = markdown(table, protocols, args.reference) + (f"\n{spread}" if spread else "") + f"\nMachine: {describe()}\n"
    if args.refresh:
        text += "\n" + time_refresh() + "\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
