"""registry/training_facts.csv (hand-kept): parameters and training tokens of 2024-2026 models
that no table gives, each row citing the technical report or model card that states them.

A fact fills an empty field. Where a source already gave the field, the two must agree within
`TOLERANCE` (sources round sizes: Swallow gives 0.6 for Qwen3-0.6B's 0.6B); a larger gap
fails the build, naming both, so a wrong hand row or a wrong table is caught.
"""

from __future__ import annotations

from pathlib import Path

from .core import BuildError, Registry, read_hand_csv

FIELDS = ("params_total", "params_active", "tokens")
TOLERANCE = 0.12

# source_id: (kind, citation, url) for the rows of training_facts.csv
FACT_SOURCES: dict[str, tuple[str, str, str]] = {
    "paper-qwen3": (
        "paper",
        "Qwen Team, Qwen3 Technical Report, arXiv:2505.09388 (2025): all Qwen3 models pre-trained on "
        "about 36 trillion tokens; Qwen3-30B-A3B has 30.5B total and 3.3B activated parameters",
        "https://arxiv.org/abs/2505.09388",
    ),
    "paper-qwen2.5": (
        "paper",
        "Qwen Team, Qwen2.5 Technical Report, arXiv:2412.15115 (2024): pre-training data scaled to 18 trillion tokens",
        "https://arxiv.org/abs/2412.15115",
    ),
    "paper-gemma-3": (
        "paper",
        "Gemma Team, Gemma 3 Technical Report, arXiv:2503.19786 (2025): 27B trained on 14T tokens, "
        "12B on 12T, 4B on 4T, 1B on 2T",
        "https://arxiv.org/abs/2503.19786",
    ),
    "card-meta-llama-3.2": (
        "model_card",
        "meta-llama/Llama-3.2-1B model card: Llama 3.2 1B and 3B pretrained on up to 9 trillion tokens",
        "https://huggingface.co/meta-llama/Llama-3.2-1B",
    ),
    "paper-deepseek-v3": (
        "paper",
        "DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv:2412.19437: 671B total parameters, 37B "
        "activated per token, pre-trained on 14.8T tokens (DeepSeek-R1 is post-trained from V3-Base)",
        "https://arxiv.org/abs/2412.19437",
    ),
    "card-moonshotai-kimi-k2": (
        "model_card",
        "moonshotai/Kimi-K2-Instruct model card: mixture-of-experts, 32B activated and 1T total parameters",
        "https://huggingface.co/moonshotai/Kimi-K2-Instruct",
    ),
    "paper-glm-4.5": (
        "paper",
        "GLM-4.5 Team, GLM-4.5: Agentic, Reasoning, and Coding (ARC) Foundation Models, arXiv:2508.06471: "
        "355B total and 32B activated parameters",
        "https://arxiv.org/abs/2508.06471",
    ),
    "card-openai-gpt-oss": (
        "model_card",
        "OpenAI, gpt-oss-120b & gpt-oss-20b model card (2025-08-05): 116.8B total / 5.1B active and "
        "20.9B total / 3.6B active parameters",
        "https://openai.com/index/gpt-oss-model-card/",
    ),
    "blog-meta-llama-4": (
        "model_card",
        "Meta AI, The Llama 4 herd (2025-04-05): Llama 4 Scout 17B active parameters with 16 experts, "
        "109B total; Llama 4 Maverick 17B active with 128 experts, 400B total",
        "https://ai.meta.com/blog/llama-4-multimodal-intelligence/",
    ),
    "blog-tii-falcon3": (
        "model_card",
        "TII, Welcome to the Falcon 3 Family of Open Models! (Hugging Face blog, 2024-12-17): one "
        "pre-training run of the 7B model on 14 trillion tokens",
        "https://huggingface.co/blog/falcon3",
    ),
}


def disagrees(old: float | None, value: float) -> bool:
    """Whether a loaded fact ``old`` and a new ``value`` differ by more than `TOLERANCE`."""
    return old is not None and abs(old - value) > TOLERANCE * value


def add_fact_sources(reg: Registry) -> None:
    for source_id, (kind, citation, url) in FACT_SOURCES.items():
        reg.add_source(source_id, kind, citation, url, None, None, 100)


def apply_training_facts(reg: Registry, path: Path) -> int:
    rows = read_hand_csv(path)
    seen: set[str] = set()
    for row in rows:
        model_id = row["model_id"]
        where = f"{path.name}: {model_id}"
        if model_id in seen:
            raise BuildError(f"{where}: two rows")
        seen.add(model_id)
        if model_id not in reg.models:
            raise BuildError(f"{where}: unknown model")
        if row["source_id"] not in reg.sources:
            raise BuildError(f"{where}: unknown source {row['source_id']!r}")
        model = reg.models[model_id]
        for field in FIELDS:
            if not row[field]:
                continue
            value = float(row[field])
            old = model[field]
            if disagrees(old, value):
                raise BuildError(f"{where}: {field} {value:g} disagrees with {old:g} from {model['source_id']}")
            reg.raw_meta.setdefault(model_id, {}).setdefault(field, {})[row["source_id"]] = value
            model[field] = value
    return len(rows)
