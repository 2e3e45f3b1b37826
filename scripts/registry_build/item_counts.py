"""Item counts of the benchmarks whose source tables do not give them, for the noise floor.

A backtest's noise floor is the binomial sampling error sqrt(p (1 - p) / n) of its test scores
(``obslaws.backtest.metrics``), so a benchmark without ``n_items`` has none. The Swallow
leaderboard's pretrained suite is run with swallow-evaluation's fork of lm-evaluation-harness; the
split each task scores is in that fork's task configuration
(github.com/swallow-llm/swallow-evaluation, lm-evaluation-harness-en/lm_eval/tasks/, and its README
for MATH-500). Epoch's collected and the model cards' reported numbers each come from their own
harness, usually over the benchmark's standard test set, whose size is given here.
"""

from __future__ import annotations

from .core import BuildError, Registry

SWALLOW = "the split swallow-evaluation's lm-evaluation-harness-en task configuration scores"
REPORTED = "the standard set a reported number is usually taken over"

# benchmark -> (items, the set, whose set it is)
ITEM_COUNTS: dict[str, tuple[int, str, str]] = {
    "swallow_en_pre_mmlu": (14042, "MMLU test, 57 subjects", SWALLOW),
    "swallow_en_pre_gsm8k": (1319, "GSM8K test", SWALLOW),
    "swallow_en_pre_hellaswag": (10042, "HellaSwag validation", SWALLOW),
    "swallow_en_pre_bbh": (6511, "BBH test, 27 subtasks of 23 tasks", SWALLOW),
    # the README: Lightman et al.'s 500-problem subset, not the 5,000-problem MATH test
    "swallow_en_pre_math": (500, "MATH-500", SWALLOW),
    "swallow_en_pre_humaneval": (164, "HumanEval", SWALLOW),
    "swallow_en_pre_openbookqa": (500, "OpenBookQA test", SWALLOW),
    "swallow_en_pre_xwino": (2325, "XWinograd English test", SWALLOW),
    "swallow_en_pre_triviaqa": (17944, "TriviaQA rc.nocontext validation", SWALLOW),
    "swallow_en_pre_squad2": (11873, "SQuAD 2.0 validation", SWALLOW),
    "epoch_mmlu": (14042, "MMLU test", REPORTED),
    "epoch_gsm8k": (1319, "GSM8K test", REPORTED),
    "epoch_bbh": (6511, "BBH, 27 subtasks", REPORTED),
    "epoch_mmlu_pro": (12032, "MMLU-Pro test", REPORTED),
    "epoch_math_lvl5": (1324, "the level-5 problems of the MATH test", REPORTED),
    "epoch_math500": (500, "MATH-500", REPORTED),
    "epoch_humaneval": (164, "HumanEval", REPORTED),
    "epoch_gpqa_diamond": (198, "GPQA diamond", "the set Epoch's runs score"),
}


def add_item_counts(reg: Registry) -> None:
    """Set each listed benchmark's ``n_items`` and say in its description where the count is from.
    A listed benchmark no loader defined, or one whose source gave another count, fails the build."""
    for bench, (items, what, whose) in ITEM_COUNTS.items():
        row = reg.benchmarks.get(bench)
        if row is None:
            raise BuildError(f"item count for {bench!r}, which no source defines")
        if row["n_items"] not in (None, items):
            raise BuildError(f"{bench!r}: its source gives {row['n_items']} items, item_counts.py {items}")
        row["n_items"] = items
        row["description"] = f"{row['description'].rstrip('.')}. Items: {items:,} ({what}: {whose})."
