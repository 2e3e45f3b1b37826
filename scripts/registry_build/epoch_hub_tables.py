"""Which Epoch benchmark-hub tables are read, and how (epoch_hub.py does the reading).

Each `external_benchmark_<name>.csv` collects numbers that papers, leaderboards and model
cards reported, one row per (model version, source), with the shots each used. The hub does
not rerun them, so one table mixes prompts and harnesses. Every table becomes its own
benchmark id `epoch_<name>` (never the lm-eval `mmlu`, Swallow's `swallow_en_pre_mmlu` or
HELM's), with the table's most common shot count as the headline setting; a score keeps its
own shots, and the paper or leaderboard it came from is its source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HubTable:
    file: str  # external_benchmark_<file>.csv
    column: str  # the score column
    benchmark: str
    metric: str
    chance: float
    description: str
    percent: bool = False  # numbers without '%' are still percents (0-100)


HUB_TABLES = (
    HubTable("mmlu", "EM", "epoch_mmlu", "acc", 0.25, "MMLU (57 subjects), reported accuracy"),
    HubTable("gsm8k", "EM", "epoch_gsm8k", "exact_match", 0.0, "GSM8K test, reported exact match"),
    HubTable("bbh", "Average", "epoch_bbh", "exact_match", 0.0, "BIG-Bench Hard, reported average"),
    HubTable("arc_ai2", "Challenge score", "epoch_arc_challenge", "acc", 0.25, "ARC-Challenge, reported accuracy"),
    HubTable("arc_ai2", "Easy score", "epoch_arc_easy", "acc", 0.25, "ARC-Easy, reported accuracy"),
    HubTable("hellaswag", "Overall accuracy", "epoch_hellaswag", "acc", 0.25, "HellaSwag, reported accuracy"),
    HubTable("winogrande", "Accuracy", "epoch_winogrande", "acc", 0.5, "WinoGrande, reported accuracy"),
    HubTable("piqa", "Score", "epoch_piqa", "acc", 0.5, "PIQA, reported accuracy"),
    HubTable("boolq", "Score", "epoch_boolq", "acc", 0.5, "BoolQ, reported accuracy"),
    HubTable("triviaqa", "EM", "epoch_triviaqa", "exact_match", 0.0, "TriviaQA, reported exact match"),
    HubTable("lambada", "Score", "epoch_lambada", "acc", 0.0, "LAMBADA, reported accuracy"),
    HubTable("openbookqa", "Accuracy", "epoch_openbookqa", "acc", 0.25, "OpenBookQA, reported accuracy"),
    HubTable("scienceqa", "Score", "epoch_scienceqa", "acc", 0.0, "ScienceQA, reported accuracy"),
    HubTable("anli", "Score", "epoch_anli", "acc", 1 / 3, "Adversarial NLI (R1-R3), reported accuracy"),
    HubTable("csqa2", "Score", "epoch_csqa2", "acc", 0.5, "CommonsenseQA 2.0, reported accuracy"),
    HubTable("superglue", "Score", "epoch_superglue", "score", 0.0, "SuperGLUE, reported score / 100"),
    HubTable("simple_bench", "Score (AVG@5)", "epoch_simple_bench", "acc", 1 / 6, "SimpleBench, AVG@5"),
    HubTable("weirdml", "Accuracy", "epoch_weirdml", "acc", 0.0, "WeirdML, mean accuracy"),
    HubTable("livebench", "Global average", "epoch_livebench", "score", 0.0, "LiveBench global average / 100", True),
)
# Epoch's own evaluations (benchmarks_runs.csv, Inspect): one harness, so one source.
RUN_TASKS = {
    "GPQA diamond": ("epoch_gpqa_diamond", "acc", 0.25),
    "MATH level 5": ("epoch_math_level_5", "acc", 0.0),
    "OTIS Mock AIME 2024-2025": ("epoch_otis_mock_aime", "acc", 0.0),
    "FrontierMath-2025-02-28-Private": ("epoch_frontiermath_private", "acc", 0.0),
    "FrontierMath-2025-02-28-Public": ("epoch_frontiermath_public", "acc", 0.0),
    "SWE-Bench verified": ("epoch_swe_bench_verified", "acc", 0.0),
}
