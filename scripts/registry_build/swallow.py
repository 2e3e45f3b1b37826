"""Swallow LLM Leaderboard (swallow-leaderboard-2026-06): 50 pretrained and 68 post-trained
models, all run by one team with one harness (swallow-evaluation).

Benchmark ids are `swallow_<suite>_<task>` (`swallow_en_pre_mmlu`): the same task names as
other sources, but Swallow's prompts and shots (task_pre.yml / task_post.yml), so they never
share an id with the Open LLM Leaderboard's `mmlu` or a report's number. `avg` entries are
suite means and are not stored. Models keep the HF id Swallow uses; a model an earlier source
already loaded (found through its ids and aliases) keeps that row, its sizes and its date.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .core import BuildError, Registry, files_sha256
from .joins import NameIndex, new_family, slug

SOURCE = "swallow-leaderboard-2026-06"
HARNESS = "swallow-evaluation (Swallow LLM Leaderboard)"
SUITES = ("en_pre", "ja_pre", "en_post", "ja_post")
METRICS = {
    "accuracy": "acc",
    "accuracy (exact match)": "exact_match",
    "character f1": "char_f1",
    "rouge-2": "rouge2",
    "bleu": "bleu",
    "pass@1": "pass@1",
    "pass@1 (n=10)": "pass@1",
}
# Multiple-choice tasks: 1 / number of choices (task_pre.yml / task_post.yml descriptions).
CHANCE = {
    "en_pre_openbookqa": 0.25,
    "en_pre_hellaswag": 0.25,
    "en_pre_xwino": 0.5,
    "en_pre_mmlu": 0.25,
    "ja_pre_jcomqa": 0.2,
    "ja_pre_jmmlu": 0.25,
    "en_post_hellaswag": 0.25,
    "en_post_gpqa": 0.25,
    "en_post_mmlu_pro": 0.1,
    "ja_post_gpqa": 0.25,
    "ja_post_mmlu_prox": 0.1,
    "ja_post_jamc_qa": 0.25,
}
# Swallow `family` -> the registry's family_group spelling where the group already exists.
GROUPS = {"Llama 3.1": "meta-llama-3.1", "Llama 3": "meta-llama-3", "Gemma 2": "gemma-2", "Qwen2.5": "qwen2.5"}
EXPECTED_MODELS = 118


def _english(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or "")
    return str(value or "")


def _shots(setting: str) -> int:
    """`4-shot` -> 4, `zero-shot, chain-of-thought prompt` -> 0, `0-shot, 10 trials` -> 0."""
    text = setting.lower()
    if "zero-shot" in text:
        return 0
    match = re.search(r"(\d+)-shot", text)
    if match is None:
        raise BuildError(f"Swallow task setting {setting!r}: no shot count")
    return int(match.group(1))


def _tasks(reg: Registry, shared: Path) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(suite, task name) -> (benchmark id, metric, shots); registers the benchmarks."""
    out = {}
    root = shared / "swallow-leaderboard-2026-06"
    for file in ("task_pre.yml", "task_post.yml"):
        for suite, spec in yaml.safe_load((root / file).read_text(encoding="utf-8")).items():
            if suite not in SUITES:
                continue
            for task in spec["tasks"]:
                if task.get("collective"):
                    continue  # `avg`: a suite mean, not a benchmark
                name, setting = task["name"], _english(task.get("input"))
                metric_text = _english(task.get("metric")).lower()
                if metric_text not in METRICS:
                    raise BuildError(f"Swallow task {suite}/{name}: unknown metric {metric_text!r}")
                key = f"{suite}_{slug(name)}"
                bench, metric, shots = f"swallow_{key}", METRICS[metric_text], _shots(setting)
                desc = (
                    f"{_english(task.get('title')) or name} as run by the Swallow LLM Leaderboard "
                    f"(swallow-evaluation, suite {suite}, field {task.get('field')}): {setting}; "
                    f"{_english(task.get('description'))}. Not the same prompt as other sources' {name}."
                )
                reg.add_benchmark(bench, metric, shots, CHANCE.get(key, 0.0), desc)
                out[(suite, name)] = (bench, metric, shots)
    return out


def _model(reg: Registry, names: NameIndex, entry: dict, short_names: dict[str, str]) -> str:
    hf_id = str(entry["id"])
    existing = names.find(hf_id, entry.get("model_id"))
    if existing is not None:
        reg.add_alias(hf_id, existing, SOURCE)
        return existing
    is_post = bool(entry.get("is_post"))
    base = short_names.get(str(entry.get("pre_training") or "").lower()) if is_post else None
    org = hf_id.split("/")[0] if "/" in hf_id else None
    variant = "base"
    if is_post:
        variant = "finetune" if base and org and base.split("/")[0] != org else "instruct"
    family = new_family(reg, hf_id, GROUPS.get(entry["family"], slug(entry["family"]).replace("_", "-")))
    params, active = entry.get("params"), entry.get("active_params")
    reg.add_model(
        hf_id,
        SOURCE,
        family=family,
        variant=variant,
        base_model=base,
        organization=org,
        params_total=round(float(params) * 1e9) if params else None,
        params_active=round(float(active) * 1e9) if active else None,
        release_date=str(entry["date"]),
        release_date_source=SOURCE,
    )
    names.remember(hf_id, hf_id)
    return hf_id


def load_swallow(reg: Registry, shared: Path) -> None:
    root = shared / "swallow-leaderboard-2026-06"
    files = [root / "model.yml", root / "task_pre.yml", root / "task_post.yml"]
    reg.add_source(
        SOURCE,
        "leaderboard",
        "Swallow LLM Leaderboard (c) 2025-2026 Swallow LLM team, _data/model.yml, task_pre.yml, "
        "task_post.yml at swallow-llm/leaderboard commit ed3805c (2026-06-24); one harness "
        "(swallow-evaluation) for every model",
        "https://github.com/swallow-llm/leaderboard/tree/ed3805c3926e7d9ccf62d3893fbf1d06d6a7fee2/_data",
        "CC-BY-4.0",
        files_sha256(files, shared),
        60,
    )
    tasks = _tasks(reg, shared)
    entries = yaml.safe_load((root / "model.yml").read_text(encoding="utf-8"))
    if len(entries) != EXPECTED_MODELS:
        raise BuildError(f"Swallow model.yml: expected {EXPECTED_MODELS} models, found {len(entries)}")
    names = NameIndex(reg)
    # Post-trained models name their base by its short name ("Qwen3-8B-Base"); pretrained first.
    short_names: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: (bool(e.get("is_post")), str(e["id"]))):
        model_id = _model(reg, names, entry, short_names)
        short_names.setdefault(str(entry["id"]).split("/")[-1].lower(), model_id)
        for suite, results in entry["results"].items():
            if suite not in SUITES:
                continue  # MT-Bench categories (judge scores) are not stored
            for name, value in results.items():
                if name == "avg":
                    continue
                if (suite, name) not in tasks:
                    raise BuildError(f"Swallow {entry['id']}: result {suite}/{name} has no task definition")
                bench, metric, shots = tasks[(suite, name)]
                reg.add_score(model_id, bench, metric, shots, value, SOURCE, harness=HARNESS)
