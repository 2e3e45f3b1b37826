"""The ObsScaling paper's default model set: 77 base models in 21 families.

Ruan et al. analyse the base models of their "eval" families (upstream ``utils/constants.py``,
``EVAL_BASE_MODEL_FAMILY_MAP``: Hugging Face id prefixes) and drop the "misc" families
(OpenLlama, StableLM, RedPajama, Amber, GPT-2, InternLM2, RWKV, DeciLM, Codegen, Yi-200K,
DeepSeek-LLM/MoE). On the paper-era data (source ``obsscaling-43dad32``) the eval families hold
77 models in 21 families; with FLOPs <= 8.4e22 for training, 47 train and 30 test (two test
models, Mistral-7B and Mixtral-8x7B, have no published token count, hence no FLOPs).
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

from obslaws.data import FitData

PAPER_SOURCE = "obsscaling-43dad32"

# Hugging Face id patterns of the 21 eval families (upstream EVAL_BASE_MODEL_FAMILY_MAP).
EVAL_FAMILY_PATTERNS: dict[str, str] = {
    r"meta-llama/Llama-2": "Llama-2",
    r"huggyllama/llama-": "Llama",
    r"meta-llama/Meta-Llama-3": "Llama-3",
    r"Qwen/Qwen1\.5": "Qwen1.5",
    r"Qwen/Qwen-": "Qwen",
    r"mistralai/Mistral": "Mistral",
    r"mistralai/Mixtral": "Mixtral",
    r"01-ai/Yi-\d+B$": "Yi",
    r"google/gemma": "Gemma",
    r"tiiuae/falcon": "Falcon",
    r"microsoft/phi": "Phi",
    r"EleutherAI/pythia": "Pythia",
    r"bigscience/bloom": "BLOOM",
    r"EleutherAI/gpt-": "GPT-Neo/J",
    r"facebook/opt": "OPT",
    r"mosaicml/mpt": "MPT",
    r"facebook/xglm": "XGLM",
    r"codellama/CodeLlama": "CodeLlama",
    r"bigcode/starcoderbase": "StarCoder",
    r"bigcode/starcoder2": "StarCoder2",
    r"deepseek-ai/deepseek-coder": "DeepSeek-Coder",
}
_PATTERN = re.compile("|".join(f"(?:{p})" for p in EVAL_FAMILY_PATTERNS), flags=re.IGNORECASE)


def obsscaling_family(model_id: str) -> str | None:
    """The ObsScaling eval family of a Hugging Face model id, or None for misc/other models."""
    for pattern, family in EVAL_FAMILY_PATTERNS.items():
        if re.match(pattern, model_id, flags=re.IGNORECASE):
            return family
    return None


def obsscaling_default_models(data: FitData) -> list[str]:
    """Ids of ``data``'s models that belong to the paper's eval families (base models only)."""
    models = data.models.filter(~pl.col("instruct").fill_null(False))
    return [m for m in models["model_id"].to_list() if _PATTERN.match(m)]


def obsscaling_default_data(
    conn: duckdb.DuckDBPyConnection, targets: list[str] | tuple[str, ...] | None = None, *, source: str = PAPER_SOURCE
) -> FitData:
    """The paper's default set as FitData, ready for ``run_backtest``.

    Parameters
    ----------
    conn:
        An open obslaws database.
    targets:
        Target benchmarks (default: every benchmark the source scores).
    source:
        Score source; the paper-era ObsScaling files by default.

    Examples
    --------
    >>> data = obsscaling_default_data(conn, ["gsm8k_cot_flexible_extract"])  # doctest: +SKIP
    >>> run_backtest(LowRankFitter(), data, "compute-cutoff", cutoff=8.4e22)  # doctest: +SKIP
    """
    from obslaws.store.read import load_fit_data

    data = load_fit_data(conn, targets, source=source)
    return data.select_models(obsscaling_default_models(data))
