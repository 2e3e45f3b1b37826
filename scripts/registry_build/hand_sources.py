"""Sources cited by the hand-kept files (corrections.csv, release_dates.csv): model cards,
announcements and papers. One source can back several rows."""

from __future__ import annotations

from pathlib import Path

from .core import Registry

# source_id: (kind, citation, url)
HAND_SOURCES: dict[str, tuple[str, str, str]] = {
    # corrections.csv
    "card-cerebras-btlm-3b-8k-base": (
        "model_card",
        "cerebras/btlm-3b-8k-base model card: trained on 627B tokens of SlimPajama (also Dey et al., arXiv:2309.11568)",
        "https://huggingface.co/cerebras/btlm-3b-8k-base",
    ),
    "card-openlm-research-open_llama_7b_v2": (
        "model_card",
        "openlm-research/open_llama_7b_v2 model card: OpenLLaMA v2 7B",
        "https://huggingface.co/openlm-research/open_llama_7b_v2",
    ),
    "card-stabilityai-stablelm-2-1_6b": (
        "model_card",
        "stabilityai/stablelm-2-1_6b model card: 1.6B parameters, 2T tokens",
        "https://huggingface.co/stabilityai/stablelm-2-1_6b",
    ),
    "paper-gemma-2": (
        "paper",
        "Gemma Team, Gemma 2: Improving Open Language Models at a Practical Size, arXiv:2408.00118 "
        "(2B, 9B, 27B trained on 2T, 8T, 13T tokens)",
        "https://arxiv.org/abs/2408.00118",
    ),
    "card-pythia": (
        "model_card",
        "EleutherAI Pythia README/model card: parameter table (total and non-embedding), 143,000 "
        "steps at 2,097,152 tokens = 299,892,736,000 tokens",
        "https://github.com/EleutherAI/pythia#models",
    ),
    "paper-llama-1": (
        "paper",
        "Touvron et al., LLaMA: Open and Efficient Foundation Language Models, arXiv:2302.13971 "
        "(33B and 65B trained on 1.4T tokens)",
        "https://arxiv.org/abs/2302.13971",
    ),
    "blog-mistral-mixtral-8x7b": (
        "model_card",
        "Mistral AI, Mixtral of experts (2023-12-11): 46.7B total parameters, 12.9B used per token",
        "https://mistral.ai/news/mixtral-of-experts/",
    ),
    "blog-mistral-mixtral-8x22b": (
        "model_card",
        "Mistral AI, Cheaper, Better, Faster, Stronger (2024-04-17): Mixtral 8x22B, 141B total, 39B active parameters",
        "https://mistral.ai/news/mixtral-8x22b/",
    ),
    "card-qwen-qwen2-57b-a14b": (
        "model_card",
        "Qwen/Qwen2-57B-A14B model card: MoE with 57B total and 14B activated parameters",
        "https://huggingface.co/Qwen/Qwen2-57B-A14B",
    ),
    "paper-deepseek-v2": (
        "paper",
        "DeepSeek-AI, DeepSeek-V2, arXiv:2405.04434: 236B total parameters, 21B activated per token",
        "https://arxiv.org/abs/2405.04434",
    ),
    "paper-deepseek-coder-v2": (
        "paper",
        "DeepSeek-AI, DeepSeek-Coder-V2, arXiv:2406.11931: 236B total, 21B active parameters",
        "https://arxiv.org/abs/2406.11931",
    ),
    "card-ai21labs-jamba-v0.1": (
        "model_card",
        "ai21labs/Jamba-v0.1 model card: 12B active, 52B total parameters",
        "https://huggingface.co/ai21labs/Jamba-v0.1",
    ),
    # release_dates.csv
    "github-01-ai-yi": (
        "model_card",
        "01-ai/Yi README, News: Yi-1.5 series open-sourced 2024-05-13",
        "https://github.com/01-ai/Yi",
    ),
    "oll-v2-upload-date": (
        "leaderboard",
        "Open LLM Leaderboard v2 snapshot in the Sloth repository "
        "(data/open-llm-leaderboard_new.csv), column `Upload To Hub Date`: the model's HF "
        "repository creation date",
        "https://github.com/felipemaiapolo/sloth/blob/6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1/data/open-llm-leaderboard_new.csv",
    ),
    "paper-pythia": (
        "paper",
        "Biderman et al., Pythia, arXiv:2304.01373 v1 (2023-04-03)",
        "https://arxiv.org/abs/2304.01373v1",
    ),
    "blog-hf-smollm": (
        "model_card",
        "Hugging Face blog, SmolLM - blazingly fast and remarkably powerful (2024-07-16)",
        "https://huggingface.co/blog/smollm",
    ),
    "paper-llm360-amber": (
        "paper",
        "Liu et al., LLM360: Towards Fully Transparent Open-Source LLMs, arXiv:2312.06550 v1 (2023-12-11)",
        "https://arxiv.org/abs/2312.06550v1",
    ),
    "blog-qwen1.5": (
        "model_card",
        "Qwen team blog, Introducing Qwen1.5 (2024-02-04)",
        "https://qwenlm.github.io/blog/qwen1.5/",
    ),
    "blog-qwen1.5-32b": (
        "model_card",
        "Qwen team blog, Qwen1.5-32B: Fitting the Capstone of the Qwen1.5 Language Model Series (2024-04-02)",
        "https://qwenlm.github.io/blog/qwen1.5-32b/",
    ),
    "blog-qwen2": ("model_card", "Qwen team blog, Hello Qwen2 (2024-06-07)", "https://qwenlm.github.io/blog/qwen2/"),
    "paper-rwkv": (
        "paper",
        "Peng et al., RWKV: Reinventing RNNs for the Transformer Era, arXiv:2305.13048 v1 (2023-05-22)",
        "https://arxiv.org/abs/2305.13048v1",
    ),
    "paper-codegen": (
        "paper",
        "Nijkamp et al., CodeGen, arXiv:2203.13474 v1 (2022-03-25)",
        "https://arxiv.org/abs/2203.13474v1",
    ),
    "paper-olmo": (
        "paper",
        "Groeneveld et al., OLMo: Accelerating the Science of Language Models, arXiv:2402.00838 v1 (2024-02-01)",
        "https://arxiv.org/abs/2402.00838v1",
    ),
    "blog-ai2-olmo-2": (
        "model_card",
        "Ai2 blog, OLMo 2: The best fully open language model to date (2024-11-26)",
        "https://allenai.org/blog/olmo2",
    ),
    "card-allenai-olmo-7b-0424": (
        "model_card",
        "allenai/OLMo-7B-0424-hf model card (OLMo 1.7-7B, announced 2024-04-17)",
        "https://huggingface.co/allenai/OLMo-7B-0424-hf",
    ),
    "paper-starcoder": (
        "paper",
        "Li et al., StarCoder: may the source be with you!, arXiv:2305.06161 v1 (2023-05-09)",
        "https://arxiv.org/abs/2305.06161v1",
    ),
    "blog-cerebras-gpt": (
        "model_card",
        "Cerebras blog, Cerebras-GPT: A Family of Open, Compute-efficient, Large Language Models (2023-03-28)",
        "https://www.cerebras.ai/blog/cerebras-gpt-a-family-of-open-compute-efficient-large-language-models",
    ),
    "card-deci-decilm-7b": (
        "model_card",
        "Deci/DeciLM-7B model card (released 2023-12-12)",
        "https://huggingface.co/Deci/DeciLM-7B",
    ),
    "blog-meta-code-llama": (
        "model_card",
        "Meta AI blog, Introducing Code Llama (2023-08-24)",
        "https://ai.meta.com/blog/code-llama-large-language-model-coding/",
    ),
    "paper-xglm": (
        "paper",
        "Lin et al., Few-shot Learning with Multilingual Language Models (XGLM), arXiv:2112.10668 v1 (2021-12-20)",
        "https://arxiv.org/abs/2112.10668v1",
    ),
    "paper-recurrentgemma": (
        "paper",
        "Botev et al., RecurrentGemma, arXiv:2404.07839 v1 (2024-04-11)",
        "https://arxiv.org/abs/2404.07839v1",
    ),
    "paper-h2o-danube": (
        "paper",
        "Singer et al., H2O-Danube-1.8B Technical Report, arXiv:2401.16818 v1 (2024-01-30)",
        "https://arxiv.org/abs/2401.16818v1",
    ),
    "card-h2oai-h2o-danube2-1.8b-base": (
        "model_card",
        "h2oai/h2o-danube2-1.8b-base model card (released April 2024)",
        "https://huggingface.co/h2oai/h2o-danube2-1.8b-base",
    ),
    "github-internlm": (
        "model_card",
        "InternLM README, News: InternLM2 7B and 20B released 2024-01-17",
        "https://github.com/InternLM/InternLM",
    ),
    "github-open-llama": (
        "model_card",
        "openlm-research/open_llama README, Updates (3B/7B 1T-token release 2023-06-07, 13B 2023-06-15, v2 2023-07-07)",
        "https://github.com/openlm-research/open_llama",
    ),
    "blog-stability-stablelm-alpha": (
        "model_card",
        "Stability AI, Stability AI Launches the First of its StableLM Suite of Language Models (2023-04-19)",
        "https://stability.ai/news/stability-ai-launches-the-first-of-its-stablelm-suite-of-language-models",
    ),
    "card-stabilityai-stablelm-base-alpha-7b-v2": (
        "model_card",
        "stabilityai/stablelm-base-alpha-7b-v2 model card (released August 2023)",
        "https://huggingface.co/stabilityai/stablelm-base-alpha-7b-v2",
    ),
    "blog-together-redpajama-incite": (
        "model_card",
        "Together AI blog, Releasing 3B and 7B RedPajama-INCITE family of models (2023-05-05)",
        "https://www.together.ai/blog/redpajama-models-v1",
    ),
    "paper-refinedweb": (
        "paper",
        "Penedo et al., The RefinedWeb Dataset for Falcon LLM, arXiv:2306.01116 v1 (2023-06-01)",
        "https://arxiv.org/abs/2306.01116v1",
    ),
}


def add_hand_sources(reg: Registry, registry_dir: Path) -> None:
    for source_id, (kind, citation, url) in HAND_SOURCES.items():
        reg.add_source(source_id, kind, citation, url, None, None, 100)
