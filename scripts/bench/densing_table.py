"""Capacity density of every dated base model, and the doubling time of the maximum density.

Fits ``densing`` on the database (default: the registry, in memory) for several reference
families and start dates, prints the trend table beside the paper's (A ~ 0.0073 / day, doubling
~95 days = 3.3 months), the density table of the default fit, writes ``densities`` and
``density_trend`` rows and a PNG plot.

Usage::

    .venv/bin/python scripts/bench/densing_table.py [--db FILE] [--benchmarks mmlu,gsm8k,humaneval]
        [--png /tmp/density.png] [--all]
"""

from __future__ import annotations

import argparse
import itertools

import polars as pl
from obslaws_densing.fitter import DensingFitter
from obslaws_densing.plot import plot_density

import obslaws
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.errors import FitterError
from obslaws.fitting.store import fit_and_store
from obslaws.registry import load_registry
from obslaws.store.read import load_fit_data

REFERENCES = ("llama", "qwen1.5", "opt", "pythia-deduped")
SINCE = (None, "2023-01-01")
ENVELOPES = (None, 91)  # record-setting models; the densest model of each quarter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="obslaws database (default: the registry, in memory)")
    parser.add_argument("--benchmarks", default="mmlu,gsm8k,humaneval")
    parser.add_argument("--png", default="density.png")
    parser.add_argument("--all", action="store_true", help="print every model's density, not only the envelope")
    args = parser.parse_args(argv)
    if args.db:
        conn = obslaws.connect(args.db, plugins=False)
    else:
        conn = obslaws.connect(":memory:", plugins=False)
        load_registry(conn)
    benches = resolve_benchmarks(args.benchmarks)
    data = load_fit_data(conn, benches)
    print(f"## Density trend on {', '.join(benches)} (base models; direct reference curves)\n")
    print(
        "| reference | models since | envelope rule | dated models | envelope | A per day [90% CI] "
        "| doubling days [90% CI] | months | R^2 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    fits = {}
    for ref, since, bins in itertools.product(REFERENCES, SINCE, ENVELOPES):
        fitter = DensingFitter(reference_family=ref, since=since, envelope_bin_days=bins)
        try:
            fit_id = fit_and_store(conn, fitter, data)
        except FitterError as exc:  # a reference whose curves do not rise with size (docs/densing.md)
            print(f"| {ref} | {since or 'all'} | refused: {exc} |")
            continue
        fitter.store_extras(conn, fit_id)
        fits[(ref, since, bins)] = fitter
        t = fitter.trend_
        rule = "records" if bins is None else f"max per {bins} d"
        print(
            f"| {ref} | {since or 'all'} | {rule} | {t.n_models} | {t.n_envelope} "
            f"| {t.slope_per_day:.4f} [{t.slope_lo:.4f}, {t.slope_hi:.4f}] "
            f"| {t.doubling_days:.0f} [{t.doubling_lo:.0f}, {t.doubling_hi:.0f}] "
            f"| {t.doubling_days / 30.44:.1f} | {t.r2:.2f} |"
        )
    print(
        "| paper (own reference models, MMLU/BBH/MATH/HumanEval/MBPP) | 2023-2024 | max | 29 | "
        "| 0.0073 | 95 | 3.3 | 0.91 |"
    )
    default = fits[(REFERENCES[0], None, None)]
    print(f"\n## Densities (reference {default.reference_family_}; {'all' if args.all else 'envelope'} models)\n")
    frame = default.densities_.sort("release_date")
    if not args.all:
        frame = frame.filter(pl.col("envelope"))
    print("| model | released | params (B) | effective (B) | density | benchmarks used |")
    print("|---|---|---|---|---|---|")
    for row in frame.iter_rows(named=True):
        print(
            f"| {row['model_id']} | {row['release_date']} | {row['params'] / 1e9:.2f} "
            f"| {row['effective_params'] / 1e9:.2f} | {row['density']:.3g} | {row['n_benchmarks']} |"
        )
    n_rows = conn.execute("SELECT count(*) FROM densities").fetchall()[0][0]
    print(f"\n{default.densities_.height} models with a density; {n_rows} rows written to `densities`.")
    path = plot_density(
        default.densities_, default.trend_, args.png, reference_family=default.reference_family_, benchmarks=benches
    )
    print(f"Plot: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
