"""Named benchmark sets, so protocols and papers can be named instead of spelt out."""

from __future__ import annotations

from obslaws.errors import ObslawsError

OLL_V1 = ("mmlu", "arc_challenge", "hellaswag", "winogrande", "truthfulqa_mc2", "gsm8k")
OLL_V2 = (
    "leaderboard_ifeval",
    "leaderboard_bbh",
    "leaderboard_math_hard",
    "leaderboard_gpqa",
    "leaderboard_musr",
    "leaderboard_mmlu_pro",
)
OBSSCALING_BASE = (
    "mmlu",
    "arc_challenge",
    "hellaswag",
    "winogrande",
    "truthfulqa_mc2",
    "gsm8k",
    "xwinograd",
    "humaneval",
)

# Where the 2025-2026 base models have scores: the Swallow leaderboard's English pretrained
# suite (one harness) and the reported-class ids most model cards and reports give
# (registry/reported/), each at its headline setting.
SWALLOW_REPORTED = (
    "swallow_en_pre_mmlu",
    "swallow_en_pre_gsm8k",
    "swallow_en_pre_bbh",
    "swallow_en_pre_hellaswag",
    "swallow_en_pre_math",
    "epoch_mmlu",
    "epoch_gsm8k",
    "epoch_bbh",
    "epoch_mmlu_pro",
    "epoch_math_lvl5",
)

BENCHMARK_SETS: dict[str, tuple[str, ...]] = {
    "oll-v1": OLL_V1,
    "oll-v2": OLL_V2,
    "oll-all": OLL_V1 + OLL_V2,
    "obsscaling-base": OBSSCALING_BASE,
    "swallow-reported": SWALLOW_REPORTED,
}


def resolve_benchmarks(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A set name (``oll-v1``, ``oll-v2``, ``oll-all``, ``obsscaling-base``, ``swallow-reported``) or a comma list."""
    if isinstance(spec, (list, tuple)):
        names: list[str] = []
        for item in spec:
            names.extend(resolve_benchmarks(item))
        return tuple(dict.fromkeys(names))
    spec = spec.strip()
    if spec in BENCHMARK_SETS:
        return BENCHMARK_SETS[spec]
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise ObslawsError(f"empty benchmark set {spec!r}; name one of {sorted(BENCHMARK_SETS)} or list benchmarks")
    if len(names) == 1 and names[0] not in BENCHMARK_SETS and "-" in names[0] and names[0].startswith("oll"):
        raise ObslawsError(f"unknown benchmark set {spec!r}; known sets: {sorted(BENCHMARK_SETS)}")
    return tuple(names)
