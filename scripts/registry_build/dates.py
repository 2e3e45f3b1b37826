"""Release dates: Epoch AI's tables matched by name, else the hand-kept release_dates.csv.

Matching: (1) Epoch benchmark-hub `model_versions.csv`, whose `Hugging Face developer id` +
`id` spell the HF repo id: exact, case-insensitive; (2) the Notable AI Models and All ML
Systems tables by display name, normalised (lower case, punctuation dropped, `-hf` and the
`Meta-` prefix removed; a parenthesised qualifier such as "(finetuned)" or "(124M)" is kept,
so it never matches) and used only when the name is unambiguous. Research runs (ladder,
over-training grid) carry their paper's arXiv v1 date from their loaders.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from .core import BuildError, Registry, files_sha256, read_hand_csv

EPOCH = "epoch-ai"
HUB = "epoch-benchmark-hub-2025-12"
NOTABLE = "epoch-notable-2025-02-24"
ALL_ML = "epoch-all-ml-systems-2024-09"
# Epoch entries whose date is not the model's release (checked against the model cards):
# a date added later to the hub, or a date of a later paper/version. Left to release_dates.csv.
EPOCH_DENY = {
    (HUB, "Qwen/qwen2-7b-instruct"),  # 2024-11-28; Qwen2 was released 2024-06-07
    (HUB, "Qwen/qwen1.5-32B"),  # 2024-02-04; Qwen1.5-32B came on 2024-04-02
    (HUB, "EleutherAI/gpt-neo-2.7B"),  # 2023-03-30; GPT-Neo was released 2021-03-21
    (ALL_ML, "StableLM-Base-Alpha-7B"),  # 2023-08-05; released 2023-04-19
    (ALL_ML, "OpenLLaMA-13B"),  # 2023-05-01 is the 7B preview; 13B came 2023-06-15
}
# Registry models whose Epoch display name the normalised match cannot find (size spelt
# differently, or a family-level entry); each checked by hand against the Epoch row.
EPOCH_NAME_OVERRIDES: dict[str, tuple[str, str]] = {
    "bigscience/bloom-1b1": (ALL_ML, "BLOOM-1B"),
    "bigscience/bloom-1b7": (ALL_ML, "BLOOM-1.7B"),
    "bigscience/bloom-7b1": (ALL_ML, "BLOOM-7.1B"),
    "cerebras/btlm-3b-8k-base": (ALL_ML, "BTLM-3B"),
    "huggyllama/llama-30b": (ALL_ML, "LLaMA-33B"),
    "RWKV/rwkv-4-14b-pile": (ALL_ML, "RWKV-4 14B"),
    "stabilityai/stablelm-2-1_6b": (ALL_ML, "StableLM-2-1.6B"),
    "ai21labs/Jamba-v0.1": (ALL_ML, "Jamba"),
    "meta-llama/Meta-Llama-3.1-405B-FP8": (NOTABLE, "Llama 3.1-405B"),
    "bigcode/starcoderbase": (NOTABLE, "StarCoder"),
    "claude-2.0": (NOTABLE, "Claude 2"),
    "gpt-4-0314": (NOTABLE, "GPT-4"),
}


def _norm(name: str) -> str:
    name = name.lower().replace("meta-llama-3", "llama-3").replace("llama 3", "llama-3")
    name = re.sub(r"[-_ ]hf$", "", name)
    return re.sub(r"[^a-z0-9.()]", "", name)


def _keys(model_id: str) -> set[str]:
    short = model_id.split("/")[-1]
    return {_norm(short), _norm(re.sub(r"-base$", "", short, flags=re.IGNORECASE))}


def _epoch_sources(reg: Registry, shared: Path) -> dict[str, Path]:
    root = shared / EPOCH
    paths = {
        HUB: root / "benchmark-stitching-2025-12/model_versions.csv",
        NOTABLE: root / "notable-ai-models-2025-02-24/notable_ai_models_24_02_2025.csv",
        ALL_ML: root / "open-model-trends-2024-09/All ML Systems - full view.csv",
    }
    meta = {
        HUB: (
            "Epoch AI, AI Benchmarking Hub model versions (model_versions.csv), via "
            "epoch-research/benchmark-stitching commit f87d3cc",
            "https://github.com/epoch-research/benchmark-stitching/blob/f87d3cc8e8a8f8471be475ebce58fb9a73b4e756/data/model_versions.csv",
        ),
        NOTABLE: (
            "Epoch AI, Notable AI Models export of 2025-02-24, via "
            "IyngkarranKumar/compute_thresholds_public commit 7141f9b",
            "https://github.com/IyngkarranKumar/compute_thresholds_public/blob/7141f9bc8c2864d965ef82e031ecad44559780c7/data/notable_ai_models_24_02_2025.csv",
        ),
        ALL_ML: (
            "Epoch AI, All ML Systems database snapshot (Sept 2024), via "
            "epoch-research/open-model-trends commit a72b3e9",
            "https://github.com/epoch-research/open-model-trends/blob/a72b3e93b358ba653a775a41f3e9e5d3984709fd/data/All%20ML%20Systems%20-%20full%20view.csv",
        ),
    }
    for source_id, (citation, url) in meta.items():
        reg.add_source(source_id, "dataset", citation, url, "CC-BY-4.0", files_sha256([paths[source_id]], shared), 50)
    return paths


def _epoch_dates(reg: Registry, shared: Path) -> dict[str, tuple[str, str, str]]:
    """model_id -> (date, source_id, Epoch name) for every unambiguous match."""
    paths = _epoch_sources(reg, shared)
    hub: dict[str, tuple[str, str]] = {}
    versions = pl.read_csv(paths[HUB], infer_schema_length=None)
    for vid, date, dev in zip(
        versions["id"], versions["Version release date"], versions["Hugging Face developer id"], strict=True
    ):
        if dev and date and (HUB, f"{dev}/{vid}") not in EPOCH_DENY:
            hub[f"{dev}/{vid}".lower()] = (date[:10], f"{dev}/{vid}")
    by_name: dict[tuple[str, str], set[tuple[str, str]]] = {}
    exact: dict[tuple[str, str], str] = {}
    for source_id, column in ((NOTABLE, "Model"), (ALL_ML, "System")):
        table = pl.read_csv(paths[source_id], infer_schema_length=None)
        for name, date in zip(table[column], table["Publication date"], strict=True):
            if name and date:
                exact.setdefault((source_id, name), date[:10])
                if (source_id, name) not in EPOCH_DENY:
                    by_name.setdefault((source_id, _norm(name)), set()).add((date[:10], name))
    found: dict[str, tuple[str, str, str]] = {}
    for model_id, row in reg.models.items():
        if row["checkpoint_of"] or row["release_date"]:
            continue
        if model_id in EPOCH_NAME_OVERRIDES:
            source_id, name = EPOCH_NAME_OVERRIDES[model_id]
            if (source_id, name) not in exact:
                raise BuildError(f"Epoch name {name!r} for {model_id} not in {source_id}")
            found[model_id] = (exact[(source_id, name)], source_id, name)
            continue
        if model_id.lower() in hub:
            date, name = hub[model_id.lower()]
            found[model_id] = (date, HUB, name)
            continue
        for source_id in (NOTABLE, ALL_ML):
            hits = set().union(*(by_name.get((source_id, k), set()) for k in _keys(model_id)))
            if len({d for d, _ in hits}) == 1:
                date, name = sorted(hits)[0]
                found[model_id] = (date, source_id, name)
                break
    return found


def add_release_dates(reg: Registry, shared: Path, path: Path) -> None:
    for model_id, (date, source_id, name) in sorted(_epoch_dates(reg, shared).items()):
        row = reg.models[model_id]
        row["release_date"], row["release_date_source"] = date, source_id
        reg.add_alias(name, model_id, source_id) if name.lower() != model_id.lower() else None
    for hand in read_hand_csv(path):
        model_id = hand["model_id"]
        where = f"{path.name}: {model_id}"
        if model_id not in reg.models:
            raise BuildError(f"{where}: unknown model")
        if hand["source_id"] not in reg.sources:
            raise BuildError(f"{where}: unknown source {hand['source_id']!r}")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", hand["release_date"]):
            raise BuildError(f"{where}: date {hand['release_date']!r} is not ISO")
        row = reg.models[model_id]
        if row["release_date"]:
            raise BuildError(
                f"{where}: already dated {row['release_date']} by {row['release_date_source']}; drop the hand row"
            )
        row["release_date"], row["release_date_source"] = hand["release_date"], hand["source_id"]
