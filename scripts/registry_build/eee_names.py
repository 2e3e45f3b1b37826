"""HELM and Every Eval Ever model ids as aliases, so `obslaws ingest eee` finds our models.

The registry stores no EEE score (those are ingested with `obslaws ingest eee`), but it reads
the shared EEE files' `model_info.id` and joins each to a registry model: by id or alias
(case-insensitive), by a bare repository name (`openai/gpt-4o-2024-05-13` -> `gpt-4o-2024-05-13`),
or by the hand-checked table below (HELM spells sizes and versions its own way). A name that
joins no model must be listed, with the reason, in registry/unmatched_names.csv; the build
fails on a name that is neither, and on a listed name that now joins a model.
"""

from __future__ import annotations

import json
from pathlib import Path

from .core import BuildError, Registry, files_sha256, read_hand_csv
from .joins import NameIndex

SOURCE = "eee-model-names-2026-02"
ROOT = "every-eval-ever-2026-02/data"
# HELM / EEE id -> registry model, each checked against the model's HELM page and HF card.
EEE_ALIASES: dict[str, str] = {
    "meta/llama-3-8b": "meta-llama/Meta-Llama-3-8B",
    "meta/llama-3-70b": "meta-llama/Meta-Llama-3-70B",
    "meta/llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "mistralai/Mistral-v0.1-7B": "mistralai/Mistral-7B-v0.1",
    "mistralai/mixtral-8x22b": "mistralai/Mixtral-8x22B-v0.1",
    "mistralai/mixtral-8x7b-32kseqlen": "mistralai/Mixtral-8x7B-v0.1",
    "together/RedPajama-INCITE-Base-v1-3B": "togethercomputer/RedPajama-INCITE-Base-3B-v1",
    "lmsys/Vicuna-v1.3-13B": "lmsys/vicuna-13b-v1.3",
    "tiiuae/Falcon-Instruct-7B": "tiiuae/falcon-7b-instruct",
    "tiiuae/Falcon-Instruct-40B": "tiiuae/falcon-40b-instruct",
    "mosaicml/MPT-Instruct-30B": "mosaicml/mpt-30b-instruct",
    "bigscience/BLOOM-176B": "bigscience/bloom",
    "allenai/olmo-1.7-7b": "allenai/OLMo-7B-0424-hf",
    "anthropic/claude-v1.3": "claude-1.3",
    "openai/davinci-175B": "davinci",
    "openai/curie-6.7B": "curie",
    "openai/babbage-1.3B": "babbage",
    "openai/ada-350M": "ada",
    "openai/gpt-4.1": "gpt-4.1-2025-04-14",
    "openai/gpt-5.1-2025-11-13": "gpt-5.1",
    "amazon/nova-lite-v1:0": "amazon.nova-lite-v1:0",
    "amazon/nova-micro-v1:0": "amazon.nova-micro-v1:0",
    "amazon/nova-pro-v1:0": "amazon.nova-pro-v1:0",
    "deepseek/chat-v3-0324": "deepseek-ai/DeepSeek-V3-0324",  # DeepSeek API chat endpoint
}


def eee_model_ids(shared: Path) -> dict[str, str]:
    """EEE model id -> the first file (relative path) that uses it."""
    found: dict[str, str] = {}
    for path in sorted((shared / ROOT).rglob("*.json")):
        found.setdefault(json.loads(path.read_bytes())["model_info"]["id"], path.relative_to(shared).as_posix())
    return found


def add_eee_aliases(reg: Registry, shared: Path, unmatched_path: Path) -> None:
    files = sorted((shared / ROOT).rglob("*.json"))
    reg.add_source(
        SOURCE,
        "dataset",
        "Every Eval Ever data files (model_info.id), evaleval/every_eval_ever commit f81424f: the "
        "names HELM, Global-MMLU-Lite and LiveCodeBench Pro use for models",
        "https://github.com/evaleval/every_eval_ever/tree/f81424f42324cf24ee2d54e95606526336e9abd8/data",
        "MIT",
        files_sha256(files, shared),
        100,
    )
    explained = {row["name"]: row for row in read_hand_csv(unmatched_path)}
    names = NameIndex(reg)
    for name, where in sorted(eee_model_ids(shared).items()):
        target = EEE_ALIASES.get(name) or names.find(name, name.split("/")[-1])
        if name in EEE_ALIASES and target not in reg.models:
            raise BuildError(f"eee_names: {name} -> unknown model {target!r}")
        if target is None:
            if name not in explained:
                raise BuildError(
                    f"EEE model {name!r} ({where}) joins no model: map it or explain it in {unmatched_path.name}"
                )
            continue
        if name in explained:
            raise BuildError(f"{unmatched_path.name}: {name!r} now joins {target}; drop the row")
        if name.lower() != target.lower() and name not in reg.aliases:
            reg.add_alias(name, target, SOURCE)
