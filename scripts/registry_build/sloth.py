"""Sloth's main table (sloth/data/data_v2.csv): 188 models, families, OLL v1 and v2 scores."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .benchmarks import OLL_V1, OLL_V2, headline
from .core import BuildError, Registry, files_sha256
from .names import PREFERRED_NAMESPACES, SLOTH_FINETUNE_FAMILIES, SLOTH_HF_OVERRIDES

SOURCE = "sloth-data-v2"


def read_sloth(shared: Path) -> pl.DataFrame:
    frame = pl.read_csv(shared / "sloth/data/data_v2.csv", infer_schema_length=None)
    if frame.height != 188:
        raise BuildError(f"sloth data_v2.csv: expected 188 rows, found {frame.height}")
    return frame


def _candidate_ids(shared: Path) -> dict[str, set[str]]:
    """Lower-case short name -> HF repo ids seen in ObsScaling and the leaderboard dumps."""
    index: dict[str, set[str]] = {}
    files = [
        shared / "obsscaling/eval_results/base_llm_benchmark_eval.csv",
        shared / "sloth/data/open-llm-leaderboard_old.csv",
        shared / "sloth/data/open-llm-leaderboard_new.csv",
    ]
    for path in files:
        for name in pl.read_csv(path, columns=["Model"], infer_schema_length=None)["Model"]:
            if "/" not in name:
                continue  # bare legacy names (e.g. `gpt2`) are not repo ids with a namespace
            short = name.split("/")[-1].lower()
            index.setdefault(short, set()).add(name)
            if short.endswith("-hf"):
                index.setdefault(short[:-3], set()).add(name)
    return index


def sloth_hf_ids(shared: Path, names: list[str]) -> dict[str, str]:
    """Map Sloth's lower-case short names to HF repo ids: hand overrides first, then a unique
    match on the repo's short name, then the preferred namespace among several."""
    index = _candidate_ids(shared)
    mapping: dict[str, str] = {}
    for name in names:
        if name in SLOTH_HF_OVERRIDES:
            mapping[name] = SLOTH_HF_OVERRIDES[name]
            continue
        found = sorted(index.get(name, set()))
        if len(found) > 1:
            preferred = [f for f in found if f.split("/")[0] in PREFERRED_NAMESPACES]
            found = preferred if len(preferred) == 1 else found
        if len(found) != 1:
            raise BuildError(f"Sloth model {name!r}: no unique HF repo ({found}); add an override")
        mapping[name] = found[0]
    return mapping


def load_sloth(reg: Registry, shared: Path) -> dict[str, str]:
    """Add Sloth's models (family = Family2 exactly) and their 12 OLL scores, exactly as given."""
    reg.add_source(
        SOURCE,
        "dataset",
        "Maia Polo et al., Sloth: scaling laws for LLM skills to predict multi-benchmark performance "
        "across families, arXiv:2412.06540; data/data_v2.csv at commit 6dc6bb3",
        "https://github.com/felipemaiapolo/sloth/blob/6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1/data/data_v2.csv",
        "MIT",
        files_sha256([shared / "sloth/data/data_v2.csv"], shared),
        20,
    )
    frame = read_sloth(shared)
    ids = sloth_hf_ids(shared, frame["Model"].to_list())
    if len(set(ids.values())) != len(ids):
        raise BuildError("two Sloth models map to one HF repo id")
    for row in frame.iter_rows(named=True):
        model_id = ids[row["Model"]]
        family = row["Family2"]
        variant = "base"
        if row["Instruct"]:
            variant = "finetune" if family in SLOTH_FINETUNE_FAMILIES else "instruct"
        params = row["#Params (B)"]
        tokens = row["Pretraining Data Size (T)"]
        flops = row["FLOPs (1E21)"]
        reg.add_model(
            model_id,
            SOURCE,
            family=family,
            variant=variant,
            organization=model_id.split("/")[0] if "/" in model_id else None,
            params_total=params * 1e9 if params is not None else None,
            tokens=tokens * 1e12 if tokens is not None else None,
            flops=flops * 1e21 if flops is not None else None,
        )
        reg.sloth_group[family] = row["Family"]  # type: ignore[attr-defined]
        reg.add_alias(row["Model"], model_id, SOURCE)
        for column in list(OLL_V1) + list(OLL_V2):
            bench, metric, shots = headline(column)
            reg.add_score(model_id, bench, metric, shots, row[column], SOURCE, harness="lm-eval")
    return ids
