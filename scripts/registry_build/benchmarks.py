"""Benchmark definitions shared by several sources (headline metric, shots, chance)."""

from __future__ import annotations

from .core import Registry

# The 12 Open LLM Leaderboard benchmarks and the ObsScaling base 8. Other code names these ids.
# Chance levels are Sloth's lower asymptotes (docs/sloth-paper.md; sloth/definitions.py).
OLL_V1 = {
    # Sloth column, ObsScaling column(s), id, metric, shots, chance, items, description
    "MMLU": (
        "mmlu",
        "acc",
        5,
        0.25,
        14042,
        "MMLU (hendrycksTest), 57 subjects, unweighted mean of subject accuracies; Open LLM "
        "Leaderboard v1 setting (5-shot, acc).",
    ),
    "ARC": (
        "arc_challenge",
        "acc_norm",
        25,
        0.25,
        1172,
        "ARC-Challenge test; Open LLM Leaderboard v1 setting (25-shot, length-normalised accuracy).",
    ),
    "HellaSwag": (
        "hellaswag",
        "acc_norm",
        10,
        0.25,
        10042,
        "HellaSwag validation; Open LLM Leaderboard v1 setting (10-shot, acc_norm).",
    ),
    "Winogrande": (
        "winogrande",
        "acc",
        5,
        0.5,
        1267,
        "WinoGrande (XL) validation; Open LLM Leaderboard v1 setting (5-shot, acc). ObsScaling's "
        "base files call it `Winograd`.",
    ),
    "TruthfulQA": (
        "truthfulqa_mc2",
        "mc2",
        0,
        0.31,
        817,
        "TruthfulQA multiple choice, MC2 (normalised probability of the true answers); Open LLM "
        "Leaderboard v1 (0-shot; the harness prompt has 6 fixed QA examples).",
    ),
    "GSM8K": (
        "gsm8k",
        "exact_match",
        5,
        0.0,
        1319,
        "GSM8K test; Open LLM Leaderboard v1 setting (5-shot, exact match).",
    ),
}
OLL_V2 = {
    "IFEval": (
        "leaderboard_ifeval",
        "inst_prompt_strict_acc_mean",
        0,
        0.0,
        541,
        "IFEval (Open LLM Leaderboard v2). Headline metric: mean of prompt_level_strict_acc and "
        "inst_level_strict_acc, i.e. the leaderboard's IFEval score / 100 (its 'Raw' column; "
        "Sloth's `IFEval`, 2 decimals). ObsScaling's v2 table holds inst_level_strict_acc instead "
        "(about 0.05-0.07 higher): stored under that metric, not the headline.",
    ),
    "BBH": (
        "leaderboard_bbh",
        "acc_norm",
        3,
        0.2885,
        5761,  # the 24 subtasks: 21 of 250 items, causal_judgement 187, penguins 146, snarks 178
        "BIG-Bench Hard, 24 multiple-choice subtasks (Open LLM Leaderboard v2, 3-shot, acc_norm, "
        "raw accuracy not the leaderboard's rescaled score). Chance: Sloth's subtask-size-weighted "
        "mean of 1/#choices.",
    ),
    "MATH Lvl 5": (
        "leaderboard_math_hard",
        "exact_match",
        4,
        0.0,
        1324,
        "MATH level-5 problems (Open LLM Leaderboard v2, 4-shot, exact match, raw).",
    ),
    "GPQA": (
        "leaderboard_gpqa",
        "acc_norm",
        0,
        0.25,
        1192,
        "GPQA main+diamond+extended (Open LLM Leaderboard v2, 0-shot, acc_norm, raw).",
    ),
    "MUSR": (
        "leaderboard_musr",
        "acc_norm",
        0,
        0.3433,
        756,
        "MuSR, 3 subtasks (Open LLM Leaderboard v2, 0-shot, acc_norm, raw). Chance: Sloth's "
        "subtask-size-weighted mean of 1/#choices.",
    ),
    "MMLU-PRO": (
        "leaderboard_mmlu_pro",
        "acc",
        5,
        0.1,
        12032,
        "MMLU-Pro, 10 choices (Open LLM Leaderboard v2, 5-shot, acc, raw).",
    ),
}
EXTRA_BASE = {
    "XWinograd": (
        "xwinograd",
        "acc",
        5,
        0.5,
        None,
        "XWinograd as evaluated by ObsScaling with lm-evaluation-harness, 5-shot accuracy (their "
        "PROVENANCE: '5-shot, harness'); the data does not say which language subsets were "
        "averaged.",
    ),
    "HumanEval": (
        "humaneval",
        "pass@1",
        0,
        0.0,
        164,
        "HumanEval pass@1 (greedy), EvalPlus base tests, as reported by ObsScaling.",
    ),
}
OBSSCALING_BASE_COLUMNS = {
    "MMLU": "MMLU",
    "ARC-C": "ARC",
    "HellaSwag": "HellaSwag",
    "Winograd": "Winogrande",
    "Winogrande": "Winogrande",
    "TruthfulQA": "TruthfulQA",
    "GSM8K": "GSM8K",
}


def add_core_benchmarks(reg: Registry) -> None:
    for table in (OLL_V1, OLL_V2, EXTRA_BASE):
        for bench, metric, shots, chance, items, desc in table.values():
            reg.add_benchmark(bench, metric, shots, chance, desc, items)


def headline(column: str) -> tuple[str, str, int]:
    """(benchmark, metric, n_shots) of a Sloth/ObsScaling column name."""
    for table in (OLL_V1, OLL_V2, EXTRA_BASE):
        if column in table:
            bench, metric, shots = table[column][:3]
            return bench, metric, shots
    if column in OBSSCALING_BASE_COLUMNS:
        return headline(OBSSCALING_BASE_COLUMNS[column])
    raise KeyError(column)
