"""ObsScaling (Ruan et al. 2024) evaluation tables, newest commit and the paper-era snapshot."""

from __future__ import annotations

import math
import re
from pathlib import Path

import polars as pl

from .benchmarks import headline
from .core import BuildError, Registry, files_sha256
from .names import OBSSCALING_FAMILY, OBSSCALING_FAMILY_BY_MODEL, OBSSCALING_INSTRUCT, OBSSCALING_VARIANT_BY_MODEL

NEW = "obsscaling-4d6e1e4"
OLD = "obsscaling-43dad32"
BASE_SCORE_COLUMNS = ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval"]
INSTRUCT_SCORE_COLUMNS = ["MMLU", "ARC-C", "HellaSwag", "Winogrande", "TruthfulQA", "GSM8K", "HumanEval"]

EMERGENT = {
    # column: (benchmark, metric, shots, chance, divide_by, description)
    "parsinlu_qa_2_acc": (
        "bigbench_parsinlu_qa",
        "acc",
        2,
        0.25,
        1,
        "BIG-bench ParsiNLU QA (Persian reading comprehension, 4-way multiple choice), lm-eval "
        "likelihood-based, 2-shot (ObsScaling emergent tasks).",
    ),
    "word_unscrambling_2_exact_match": (
        "bigbench_word_unscrambling",
        "exact_match",
        2,
        0.0,
        1,
        "BIG-bench word unscrambling, lm-eval, 2-shot exact match (ObsScaling emergent tasks).",
    ),
    "ipa_transliterate_2_exact_match": (
        "bigbench_ipa_transliterate",
        "exact_match",
        2,
        0.0,
        1,
        "BIG-bench IPA transliterate, lm-eval, 2-shot exact match (ObsScaling emergent tasks).",
    ),
    "ipa_transliterate_2_bleu": (
        "bigbench_ipa_transliterate_bleu",
        "bleu",
        2,
        0.0,
        100,
        "BIG-bench IPA transliterate, 2-shot BLEU divided by 100 (the source's 0-100 BLEU) "
        "(ObsScaling emergent tasks).",
    ),
    "arithmetic_3ds_2_acc": (
        "bigbench_arithmetic_3_digit_subtraction",
        "acc",
        2,
        0.0,
        1,
        "BIG-bench arithmetic, 3-digit subtraction, lm-eval likelihood-based, 2-shot (ObsScaling emergent tasks).",
    ),
    "arithmetic_3da_2_acc": (
        "bigbench_arithmetic_3_digit_addition",
        "acc",
        2,
        0.0,
        1,
        "BIG-bench arithmetic, 3-digit addition, lm-eval likelihood-based, 2-shot (ObsScaling emergent tasks).",
    ),
    "arithmetic_2dm_2_acc": (
        "bigbench_arithmetic_2_digit_multiplication",
        "acc",
        2,
        0.0,
        1,
        "BIG-bench arithmetic, 2-digit multiplication, lm-eval likelihood-based, 2-shot (ObsScaling emergent tasks).",
    ),
    "arithmetic_2da_2_acc": (
        "bigbench_arithmetic_2_digit_addition",
        "acc",
        2,
        0.0,
        1,
        "BIG-bench arithmetic, 2-digit addition, lm-eval likelihood-based, 2-shot (ObsScaling emergent tasks).",
    ),
}
# lm-eval filter names in the post-training columns -> id suffix
FILTERS = {
    "strict-match": "strict_match",
    "flexible-extract": "flexible_extract",
    "score-first": "first_sample_strict_match",
    "maj@5": "maj5_strict_match",
    "score-first-flexible-extract": "first_sample_flexible_extract",
    "maj@5-flexible-extract": "maj5_flexible_extract",
}
GSM8K_TASKS = {
    "gsm8k": ("gsm8k_5shot", "GSM8K, naive 5-shot, greedy"),
    "gsm8k_cot": ("gsm8k_cot", "GSM8K, 8-shot chain-of-thought, greedy"),
    "gsm8k_cot_zeroshot": ("gsm8k_cot_zeroshot", "GSM8K, zero-shot chain-of-thought, greedy"),
    "gsm8k_cot_self_consistency": (
        "gsm8k_cot_self_consistency",
        "GSM8K, 8-shot chain-of-thought sampled at T=0.7 (first_sample = first of 5 samples; maj5 "
        "= majority vote over 5)",
    ),
}
V2_COLUMNS = {
    "leaderboard_bbh": "BBH",
    "leaderboard_gpqa": "GPQA",
    "leaderboard_math_hard": "MATH Lvl 5",
    "leaderboard_mmlu_pro": "MMLU-PRO",
    "leaderboard_musr": "MUSR",
}
AGENT_ENVS = {
    "Code_OS": "os",
    "Code_DB": "db",
    "Code_KG": "kg",
    "Game_DCG": "dcg",
    "Game_LTP": "ltp",
    "Game_HH": "hh",
    "Web_WS": "ws",
    "Web_WB": "wb",
}


def _num(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)  # type: ignore[arg-type]


def add_sources(reg: Registry, shared: Path) -> None:
    root = shared / "obsscaling"
    reg.add_source(
        NEW,
        "dataset",
        "Ruan, Maddison, Hashimoto, Observational Scaling Laws and the Predictability of Language "
        "Model Performance, arXiv:2405.10938 (NeurIPS 2024); eval_results/ at commit 4d6e1e4",
        "https://github.com/ryoungj/ObsScaling/tree/4d6e1e43fd2635d04654aa77d1df9d5266ea0382/eval_results",
        "Apache-2.0",
        files_sha256(sorted((root / "eval_results").glob("*.csv")), shared),
        10,
    )
    reg.add_source(
        OLD,
        "dataset",
        "Ruan, Maddison, Hashimoto, arXiv:2405.10938: paper-era eval_results/ at commit 43dad32 "
        "(77 base models in 21 families; for reproducing the paper exactly)",
        "https://github.com/ryoungj/ObsScaling/tree/43dad3252c7fab354de3ee2e197a0a467cb5d327/eval_results",
        "Apache-2.0",
        files_sha256(sorted((root / "eval_results_initial_43dad32").glob("*.csv")), shared),
        15,
    )


def _add_base_model(reg: Registry, row: dict) -> str:
    model_id = row["Model"]
    family = OBSSCALING_FAMILY_BY_MODEL.get(model_id) or OBSSCALING_FAMILY[row["Model Family"]]
    variant, base = OBSSCALING_VARIANT_BY_MODEL.get(model_id, ("base", None))
    size, data, flops = (_num(row[c]) for c in ("Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"))
    reg.add_model(
        model_id,
        NEW,
        family=family,
        variant=variant,
        base_model=base,
        organization=model_id.split("/")[0],
        params_total=size * 1e9 if size is not None else None,
        tokens=data * 1e12 if data is not None else None,
        flops=flops * 1e21 if flops is not None else None,
    )
    reg.add_alias(model_id, model_id, NEW)
    return model_id


def _base_scores(reg: Registry, frame: pl.DataFrame, source: str) -> None:
    for row in frame.iter_rows(named=True):
        for column in BASE_SCORE_COLUMNS:
            bench, metric, shots = headline(column)
            reg.add_score(row["Model"], bench, metric, shots, _num(row[column]), source, harness=None)


def _emergent(reg: Registry, frame: pl.DataFrame, source: str) -> None:
    for column, (bench, metric, shots, chance, scale, desc) in EMERGENT.items():
        reg.add_benchmark(bench, metric, shots, chance, desc)
        for model, value in zip(frame["Model"], frame[column], strict=True):
            value = _num(value)
            reg.add_score(
                model, bench, metric, shots, None if value is None else value / scale, source, harness="lm-eval"
            )


def _post_training_columns(columns: list[str]) -> dict[str, tuple[str, int, str]]:
    """Column -> (benchmark id, shots, description) for every non-`norm` metric column.
    The `,norm` columns ((acc - chance) / (1 - chance), down to -1) are skipped: they are not
    in [0, 1], and follow from the raw subtask scores and the chance levels in benchmarks.csv."""
    out: dict[str, tuple[str, int, str]] = {}
    for column in columns:
        if column == "Model" or column.endswith(",norm"):
            continue
        name, filt = column.split(",")
        match = re.fullmatch(r"(.+)_(\d+)_exact_match", name)
        if match is None:
            raise BuildError(f"post-training column {column!r} not understood")
        task, shots = match.group(1), int(match.group(2))
        suffix = FILTERS[filt]
        if task in GSM8K_TASKS:
            stem, desc = GSM8K_TASKS[task]
        elif task.startswith("bbh_cot_fewshot_"):
            stem = task
            desc = f"BIG-Bench Hard {task.removeprefix('bbh_cot_fewshot_')}, 3-shot chain-of-thought, generative"
        elif task.startswith("bbh_fewshot_"):
            stem = task
            desc = f"BIG-Bench Hard {task.removeprefix('bbh_fewshot_')}, 3-shot direct answer, generative"
        else:
            raise BuildError(f"post-training task {task!r} not understood")
        if "overall" in task:
            desc += " (unweighted mean over the 27 subtasks)"
        out[column] = (
            f"{stem}_{suffix}",
            shots,
            f"{desc}; lm-eval exact match after the `{filt}` filter (ObsScaling post-training evaluation).",
        )
    return out


def _bbh_chance(frame: pl.DataFrame, column: str) -> float:
    """Per-task chance level recovered from the source's norm column: c = (acc - n) / (1 - n)."""
    norm = frame[column + ",norm"]
    raw = frame[column]
    values = sorted(
        round((a - n) / (1 - n), 4)
        for a, n in zip(raw, norm, strict=True)
        if a is not None and n is not None and not math.isnan(a) and not math.isnan(n) and n < 0.99
    )
    if not values:
        return 0.0
    return values[len(values) // 2]


def _post_training(reg: Registry, frame: pl.DataFrame, source: str) -> None:
    for column, (bench, shots, desc) in _post_training_columns(frame.columns).items():
        chance = _bbh_chance(frame, column) if bench.startswith("bbh_") else 0.0
        reg.add_benchmark(bench, "exact_match", shots, max(chance, 0.0), desc)
        for model, value in zip(frame["Model"], frame[column], strict=True):
            reg.add_score(model, bench, "exact_match", shots, _num(value), source, harness="lm-eval")


def load_obsscaling(reg: Registry, shared: Path) -> None:
    add_sources(reg, shared)
    new = shared / "obsscaling/eval_results"
    old = shared / "obsscaling/eval_results_initial_43dad32"
    base = pl.read_csv(new / "base_llm_benchmark_eval.csv", infer_schema_length=None)
    for row in base.iter_rows(named=True):
        _add_base_model(reg, row)
    # The sub-10B file is a subset with identical values (incl. the btlm error): check, don't load.
    sub = pl.read_csv(new / "base_llm_benchmark_eval_sub_10b.csv", infer_schema_length=None)
    by_model = {row["Model"]: row for row in base.iter_rows(named=True)}
    for row in sub.iter_rows(named=True):
        other = by_model.get(row["Model"]) or {}
        if any(
            not (a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12)))
            for a, b in ((row[c], other.get(c)) for c in row)
        ):
            raise BuildError(f"sub-10B file differs from the main file for {row['Model']}")
    _base_scores(reg, base, NEW)
    _emergent(reg, pl.read_csv(new / "base_llm_emergent_capability_eval.csv", infer_schema_length=None), NEW)
    _post_training(reg, pl.read_csv(new / "base_llm_post_training_eval.csv", infer_schema_length=None), NEW)
    _leaderboard_v2(reg, pl.read_csv(new / "base_llm_leaderboard_v2_eval.csv", infer_schema_length=None))
    _instruct(reg, pl.read_csv(new / "instruct_llm_benchmark_eval.csv", infer_schema_length=None))
    _agents(reg, pl.read_csv(new / "instruct_llm_agent_eval.csv", infer_schema_length=None))
    # Paper-era snapshot: same models (a subset), same values, second source id.
    old_base = pl.read_csv(old / "base_llm_benchmark_eval.csv", infer_schema_length=None)
    missing = set(old_base["Model"]) - set(base["Model"])
    if missing:
        raise BuildError(f"43dad32 models missing from 4d6e1e4: {sorted(missing)}")
    _base_scores(reg, old_base, OLD)
    _emergent(reg, pl.read_csv(old / "base_llm_emergent_capability_eval.csv", infer_schema_length=None), OLD)
    _post_training(reg, pl.read_csv(old / "base_llm_post_training_eval.csv", infer_schema_length=None), OLD)


def _leaderboard_v2(reg: Registry, frame: pl.DataFrame) -> None:
    """ObsScaling's v2 table. Checked against Sloth's v2 'Raw' columns (2 decimals) on the 58
    shared models: BBH, GPQA, MATH, MuSR and MMLU-PRO agree to rounding (same raw accuracy, so
    same metric and shots); IFEval does not: ObsScaling's is inst_level_strict_acc (k/834),
    Sloth's the mean of inst- and prompt-level strict accuracy. So ObsScaling's IFEval is
    stored under metric inst_level_strict_acc, not the headline."""
    for row in frame.iter_rows(named=True):
        model = row["Model"]
        for column, sloth_column in V2_COLUMNS.items():
            bench, metric, shots = headline(sloth_column)
            reg.add_score(model, bench, metric, shots, _num(row[column]), NEW, harness="lm-eval")
        reg.add_score(
            model,
            "leaderboard_ifeval",
            "inst_level_strict_acc",
            0,
            _num(row["leaderboard_ifeval"]),
            NEW,
            harness="lm-eval",
        )


def _instruct(reg: Registry, frame: pl.DataFrame) -> None:
    reg.add_benchmark(
        "arena_elo",
        "elo_minmax",
        0,
        0.0,
        "Chatbot Arena Elo as of 2024-02-02, min-max normalised by ObsScaling: (Elo - 822.68) / "
        "(1189.55 - 822.68), Dolly-v2 = 0, gpt-4-0314 = 1.",
    )
    reg.add_benchmark(
        "mt_bench", "score_div10", 0, 0.0, "MT-Bench score (1-10, GPT-4 judge) divided by 10, as in ObsScaling."
    )
    for row in frame.iter_rows(named=True):
        name = row["Model"]
        if name not in OBSSCALING_INSTRUCT:
            raise BuildError(f"ObsScaling instruct model {name!r} has no canonical id in names.py")
        model_id, family, variant, base = OBSSCALING_INSTRUCT[name]
        size, data, flops = (_num(row[c]) for c in ("Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"))
        reg.add_model(
            model_id,
            NEW,
            family=family,
            variant=variant,
            base_model=base,
            organization=model_id.split("/")[0] if "/" in model_id else row["Model Family"],
            params_total=size * 1e9 if size is not None else None,
            tokens=data * 1e12 if data is not None else None,
            flops=flops * 1e21 if flops is not None else None,
        )
        reg.add_alias(name, model_id, NEW)
        for column in INSTRUCT_SCORE_COLUMNS:
            bench, metric, shots = headline(column)
            reg.add_score(model_id, bench, metric, shots, _num(row[column]), NEW)
        reg.add_score(model_id, "arena_elo", "elo_minmax", 0, _num(row["Arena-Elo"]), NEW)
        reg.add_score(model_id, "mt_bench", "score_div10", 0, _num(row["MTBench"]), NEW)


def _agents(reg: Registry, frame: pl.DataFrame) -> None:
    """Agent benchmarks, rescaled to [0, 1] as ObsScaling does: AgentBench overall / 10,
    per-environment scores and AgentBoard rates / 100."""
    reg.add_benchmark(
        "agentbench_overall",
        "oa_div10",
        0,
        0.0,
        "AgentBench overall score (weighted average, about 0-4; GPT-4 = 4.01) divided by 10, as "
        "ObsScaling normalises it.",
    )
    for env, short in AGENT_ENVS.items():
        reg.add_benchmark(
            f"agentbench_{short}",
            "score",
            0,
            0.0,
            f"AgentBench environment {env} (leaderboard score 0-100, divided by 100).",
        )
    envs = sorted({c.removeprefix("ABoard-").rsplit("_", 1)[0] for c in frame.columns if c.startswith("ABoard-")})
    for env in envs:
        short = env.split("_")[-1].lower() if env != "Avg" else "avg"
        for _kind, label in (("PR", "progress_rate"), ("SR", "success_rate")):
            reg.add_benchmark(
                f"agentboard_{short}_{label}",
                label,
                0,
                0.0,
                f"AgentBoard {env.replace('_', ' ')} {label.replace('_', ' ')} (percent, divided by 100).",
            )
    for row in frame.iter_rows(named=True):
        model_id = OBSSCALING_INSTRUCT[row["Model"]][0]
        oa = _num(row["ABench-OA"])
        reg.add_score(model_id, "agentbench_overall", "oa_div10", 0, None if oa is None else oa / 10, NEW)
        for env, short in AGENT_ENVS.items():
            value = _num(row[f"ABench-{env}"])
            reg.add_score(model_id, f"agentbench_{short}", "score", 0, None if value is None else value / 100, NEW)
        for env in envs:
            short = env.split("_")[-1].lower() if env != "Avg" else "avg"
            for kind, label in (("PR", "progress_rate"), ("SR", "success_rate")):
                value = _num(row[f"ABoard-{env}_{kind}"])
                reg.add_score(
                    model_id, f"agentboard_{short}_{label}", label, 0, None if value is None else value / 100, NEW
                )
