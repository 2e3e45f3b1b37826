"""Which values a metric can take, and the check every ingested number passes.

A metric is a fraction in [0, 1] (accuracy and its kin: the default), unless declared here:
continuous measures (perplexities, bits per byte: ``task_map.CONTINUOUS_UNITS``), percentages on
0-100 (BLEU, chrF, ROUGE, SQuAD's exact/F1), or signed quantities (differences, correlations).
Declared metrics go to ``losses`` under their own unit; fractions go to ``scores``. Anything
else (an accuracy of 85.1 or -0.2, NaN, the string "0.5", a list, a negative stderr) is
rejected with the reason, never stored and never dropped silently.
"""

from __future__ import annotations

import math
from typing import Any

from obslaws.ingest.task_map import continuous_unit

# Metrics lm-evaluation-harness reports on 0-100 (translation, generation overlap, SQuAD v2).
PERCENT_METRICS = frozenset(
    {
        "bleu",
        "chrf",
        "bleu_max",
        "rouge1_max",
        "rouge2_max",
        "rougeL_max",
        "rougeLsum",
        "rouge1",
        "rouge2",
        "rougeL",
        "exact",
        "HasAns_exact",
        "HasAns_f1",
        "NoAns_exact",
        "NoAns_f1",
        "best_exact",
        "best_f1",
    }
)
# Unbounded or signed quantities: (lower, upper) bounds, None for none.
SIGNED_METRICS: dict[str, tuple[float | None, float | None]] = {
    "ter": (0.0, None),  # edits per reference word, in percent: can pass 100
    "mcc": (-1.0, 1.0),
    "bleu_diff": (None, None),
    "rouge1_diff": (None, None),
    "rouge2_diff": (None, None),
    "rougeL_diff": (None, None),
    "best_exact_thresh": (None, None),
    "best_f1_thresh": (None, None),
}
# Tasks whose every metric is a percentage (SQuAD v2 reports f1 on 0-100, not 0-1).
PERCENT_TASKS = ("squadv2", "squad_v2")


def unit_of(metric: str, task: str = "") -> str | None:
    """The ``losses`` unit of a declared metric, or None for a fraction (a ``scores`` row).

    Examples
    --------
    >>> unit_of("acc,none"), unit_of("word_perplexity,none"), unit_of("bleu")
    (None, 'word_perplexity', 'bleu')
    >>> unit_of("f1"), unit_of("f1", task="squadv2")
    (None, 'f1')
    """
    name = metric.split(",")[0]
    unit = continuous_unit(name)
    if unit is not None:
        return unit
    if name in PERCENT_METRICS or name in SIGNED_METRICS or task.startswith(PERCENT_TASKS):
        return name
    return None


def bounds_of(metric: str, task: str = "") -> tuple[float | None, float | None]:
    """The range a metric's values must lie in."""
    name = metric.split(",")[0]
    if continuous_unit(name) is not None:
        return (None, None)
    if name in SIGNED_METRICS:
        return SIGNED_METRICS[name]
    if name in PERCENT_METRICS or task.startswith(PERCENT_TASKS):
        return (0.0, 100.0)
    return (0.0, 1.0)


def _describe(value: Any) -> str | None:
    """Why a raw JSON value is not a number, or None if it is one (bool is not)."""
    if isinstance(value, bool):
        return f"a boolean ({value}), not a number"
    if isinstance(value, (int, float)):
        return None
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return f"the text {value[:40]!r}, not a number"
        return f"a number written as text ({value[:40]!r}); numbers must be JSON numbers"
    if isinstance(value, (list, tuple)):
        return f"a list ({str(value)[:40]}), not a number"
    if isinstance(value, dict):
        return "an object, not a number"
    return f"a {type(value).__name__}, not a number"


def check_value(metric: str, value: Any, task: str = "") -> tuple[float | None, str | None]:
    """(the value as a float, None) or (None, why it is rejected); None stays a silent gap.

    Examples
    --------
    >>> check_value("acc,none", 0.5)
    (0.5, None)
    >>> check_value("acc,none", 85.1)[1]
    'acc,none = 85.1 is outside [0, 1] (a fraction; percentages only for metrics declared as such)'
    >>> check_value("acc", "0.5")[1]
    "acc = a number written as text ('0.5'); numbers must be JSON numbers"
    """
    if value is None:
        return None, None
    why = _describe(value)
    if why is not None:
        return None, f"{metric} = {why}"
    number = float(value)
    if not math.isfinite(number):
        return None, f"{metric} = {number} is not finite"
    low, high = bounds_of(metric, task)
    if (low is not None and number < low) or (high is not None and number > high):
        shown = f"[{low:g}, {high:g}]" if low is not None and high is not None else f">= {low:g}"
        note = " (a fraction; percentages only for metrics declared as such)" if high == 1.0 else ""
        return None, f"{metric} = {number:g} is outside {shown}{note}"
    return number, None


def check_stderr(metric: str, stderr: Any) -> tuple[float | None, str | None]:
    """A standard error: missing, ``"N/A"`` and NaN are no stderr; negative or infinite ones are rejected."""
    if stderr is None or stderr == "N/A" or (isinstance(stderr, float) and math.isnan(stderr)):
        return None, None
    why = _describe(stderr)
    if why is not None:
        return None, f"stderr of {metric} = {why}"
    number = float(stderr)
    if not math.isfinite(number) or number < 0:
        return None, f"stderr of {metric} = {number} is not a non-negative number"
    return number, None
