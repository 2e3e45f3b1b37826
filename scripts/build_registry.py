"""Build the curated seed CSVs in registry/ from the public data in ../shared/data.

Usage: python scripts/build_registry.py [--shared PATH]   (default: $OBSLAWS_SHARED or ../shared)

Reads only the shared data and the hand-kept registry/corrections.csv,
registry/release_dates.csv, registry/training_facts.csv, registry/unmatched_names.csv and
registry/reported/*.toml;
writes the other registry/*.csv deterministically (sorted rows, fixed float formatting), so
running it twice gives byte-identical files.
Loaders run in precedence order: for a model's metadata the first source that gives a field
wins (Sloth before ObsScaling, so every Sloth model keeps Sloth's family and sizes; the
DATA.md errors are then fixed by corrections.csv).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_build.benchmarks import add_core_benchmarks  # noqa: E402
from registry_build.core import Registry, check_rendered, render_csv, write_if_changed  # noqa: E402
from registry_build.dates import add_release_dates  # noqa: E402
from registry_build.eee_names import add_eee_aliases  # noqa: E402
from registry_build.epoch_hub import load_epoch_hub  # noqa: E402
from registry_build.epoch_notable import fill_notable_dates, load_epoch_notable_2026  # noqa: E402
from registry_build.finalize import add_self_aliases, apply_corrections, build_families, derive_compute  # noqa: E402
from registry_build.hand_sources import add_hand_sources  # noqa: E402
from registry_build.item_counts import add_item_counts  # noqa: E402
from registry_build.ladder import load_ladder  # noqa: E402
from registry_build.obsscaling import load_obsscaling  # noqa: E402
from registry_build.oll_dumps import load_oll_v2_snapshot  # noqa: E402
from registry_build.overtrain import load_overtrain  # noqa: E402
from registry_build.pythia import load_pythia  # noqa: E402
from registry_build.reported import fill_reported_dates, load_reported  # noqa: E402
from registry_build.sloth import load_sloth  # noqa: E402
from registry_build.swallow import load_swallow  # noqa: E402
from registry_build.training_facts import add_fact_sources, apply_training_facts  # noqa: E402

from obslaws.shared_data import shared_root  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUTPUT_TABLES = ("sources", "benchmarks", "families", "models", "model_aliases", "scores", "losses")


def shared_data(cli_value: str | None) -> Path:
    """--shared, else $OBSLAWS_SHARED, else ../shared beside the project (obslaws.shared_data)."""
    root = Path(cli_value) if cli_value else shared_root()
    data = root / "data" if (root / "data").is_dir() else root
    if not (data / "sloth").is_dir():
        sys.exit(f"shared data not found at {data} (set $OBSLAWS_SHARED or --shared)")
    return data


def build(shared: Path, registry_dir: Path) -> Registry:
    reg = Registry()
    add_core_benchmarks(reg)
    add_hand_sources(reg, registry_dir)
    load_sloth(reg, shared)  # first: Sloth's families and sizes win for its 188 models
    load_obsscaling(reg, shared)
    load_pythia(reg, shared)
    load_overtrain(reg, shared)
    load_ladder(reg, shared)
    load_swallow(reg, shared)  # 2025-2026 models: after the older sources, whose rows win
    load_epoch_hub(reg, shared)
    notable_dates = load_epoch_notable_2026(reg, shared)  # fills sizes, tokens of models loaded above
    add_fact_sources(reg)
    apply_training_facts(reg, registry_dir / "training_facts.csv")
    reported_dates = load_reported(reg, registry_dir / "reported", registry_dir / "corrections.csv")
    load_oll_v2_snapshot(reg, shared)  # v2 scores the tables above leave out, for models loaded above
    # loss2loss/ is deliberately not read: its repository grants no licence.
    apply_corrections(reg, registry_dir / "corrections.csv")
    derive_compute(reg)
    add_release_dates(reg, shared, registry_dir / "release_dates.csv")
    fill_notable_dates(reg, notable_dates)
    fill_reported_dates(reg, reported_dates)  # model cards' dates fill what Epoch and the hand rows leave
    build_families(reg)
    add_eee_aliases(reg, shared, registry_dir / "unmatched_names.csv")  # HELM/EEE ids -> our models
    add_self_aliases(reg)
    add_item_counts(reg)  # after every loader: the benchmarks whose sources give no count
    return reg


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="path to the shared folder (or its data/ folder)")
    parser.add_argument("--out", default=str(REPO / "registry"), help="registry folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    reg = build(shared_data(args.shared), out)
    tables = reg.tables()
    rendered = {name: render_csv(name, tables[name]) for name in OUTPUT_TABLES}
    check_rendered(rendered)
    for name in OUTPUT_TABLES:
        write_if_changed(out / f"{name}.csv", rendered[name])
        print(f"{name + '.csv':22s} {len(tables[name]):8d} rows")
    print(f"built in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
