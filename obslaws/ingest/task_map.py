"""The one place where lm-evaluation-harness task names meet obslaws benchmarks.

Three generations of names reach the ingestors: the older harness (``hendrycksTest-anatomy``,
``acc``), the Open LLM Leaderboard v1 (``harness|truthfulqa:mc|0`` with ``mc2``) and 0.4.x
(``mmlu_anatomy``, ``acc,none``). Built-in mappings are below; plugins add more through the
``register_ingestors`` hook with ``register(TaskMapping(...))``. A task that no mapping names
keeps its own name as the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from obslaws.errors import PluginError
from obslaws.ingest.types import TaskMapping

MMLU_SUBJECTS = [
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
]

# Metrics that are continuous measures, not scores in [0, 1]: they go to `losses` with this unit.
CONTINUOUS_UNITS: dict[str, str] = {
    "ppl": "perplexity",
    "perplexity": "perplexity",
    "word_perplexity": "word_perplexity",
    "byte_perplexity": "byte_perplexity",
    "bits_per_byte": "bits_per_byte",
    "likelihood_difference": "likelihood_difference",
    "loglikelihood": "nats",
}


def continuous_unit(metric: str) -> str | None:
    """The `losses` unit of a continuous metric (filter suffix ignored), else None."""
    return CONTINUOUS_UNITS.get(metric.split(",")[0])


def _builtin() -> list[TaskMapping]:
    maps = [
        # Open LLM Leaderboard v1 names (`harness|task|shots`) and their metric names.
        TaskMapping("arc:challenge", "arc_challenge", chance=0.25),
        TaskMapping("hellaswag", "hellaswag", chance=0.25),
        TaskMapping("truthfulqa:mc", "truthfulqa_mc2", metric="mc2", chance=0.31),
        TaskMapping("truthfulqa:mc", "truthfulqa_mc1", metric="mc1", metrics={"mc1": "acc"}, chance=0.0),
        TaskMapping("gsm8k", "gsm8k", metrics={"acc": "exact_match", "exact_match,strict-match": "exact_match"}),
        TaskMapping("winogrande", "winogrande", chance=0.5),
        TaskMapping("all", None),
        # 0.4.x names whose headline metric the registry spells differently.
        TaskMapping("truthfulqa_mc2", "truthfulqa_mc2", metrics={"acc": "mc2"}, chance=0.31),
        TaskMapping("truthfulqa_mc1", "truthfulqa_mc1", chance=0.0),
        TaskMapping("arc_challenge", "arc_challenge", chance=0.25),
        TaskMapping("arc_easy", "arc_easy", chance=0.25),
        TaskMapping("piqa", "piqa", chance=0.5),
        TaskMapping("sciq", "sciq", chance=0.25),
        TaskMapping("logiqa", "logiqa", chance=0.25),
        TaskMapping("wsc", "wsc", chance=0.5),
        TaskMapping("wsc273", "wsc273", chance=0.5),
        TaskMapping("boolq", "boolq", chance=0.5),
        TaskMapping("copa", "copa", chance=0.5),
        TaskMapping("openbookqa", "openbookqa", chance=0.25),
        TaskMapping("lambada_openai", "lambada_openai", chance=0.0),
        TaskMapping("mmlu", "mmlu", chance=0.25),
        # Open LLM Leaderboard v2: `leaderboard` mixes unlike tasks; IFEval's headline is a mean.
        TaskMapping("leaderboard", None),
        TaskMapping(
            "leaderboard_ifeval",
            "leaderboard_ifeval",
            derived={"inst_prompt_strict_acc_mean": ("prompt_level_strict_acc", "inst_level_strict_acc")},
            chance=0.0,
        ),
        TaskMapping("leaderboard_math_hard", "leaderboard_math_hard", chance=0.0),
        TaskMapping("leaderboard_gpqa", "leaderboard_gpqa", chance=0.25),
        TaskMapping("leaderboard_mmlu_pro", "leaderboard_mmlu_pro", chance=0.1),
    ]
    for subject in MMLU_SUBJECTS:
        maps.append(TaskMapping(f"hendrycksTest-{subject}", f"mmlu_{subject}", chance=0.25))
        maps.append(TaskMapping(f"mmlu_{subject}", f"mmlu_{subject}", chance=0.25))
    return maps


BUILTIN_MAPPINGS: tuple[TaskMapping, ...] = tuple(_builtin())


@dataclass(frozen=True)
class Aggregate:
    """A benchmark computed as the unweighted mean of others, when a file has all parts and not it."""

    benchmark: str
    metric: str
    parts: tuple[str, ...]


# The older harness and the Open LLM Leaderboard v1 report MMLU only per subject; v1's MMLU is
# the unweighted mean of the 57 subject accuracies.
AGGREGATES: tuple[Aggregate, ...] = (Aggregate("mmlu", "acc", tuple(f"mmlu_{s}" for s in MMLU_SUBJECTS)),)


@dataclass(frozen=True)
class Target:
    """Where one harness metric goes: benchmark (None = dropped) and obslaws metric."""

    benchmark: str | None
    metric: str
    mapping: TaskMapping | None


class TaskMap:
    """Lookup of (task, metric) -> (benchmark, metric), built from the built-in and plugin mappings.

    Examples
    --------
    >>> tm = TaskMap()
    >>> tm.lookup("hendrycksTest-anatomy", "acc").benchmark
    'mmlu_anatomy'
    >>> t = tm.lookup("truthfulqa:mc", "mc2"); (t.benchmark, t.metric)
    ('truthfulqa_mc2', 'mc2')
    >>> tm.lookup("my_task", "acc").benchmark
    'my_task'
    """

    def __init__(self, mappings: Iterable[TaskMapping] = BUILTIN_MAPPINGS) -> None:
        self._by_key: dict[tuple[str, str | None], TaskMapping] = {}
        self._owners: dict[str, str] = {}
        self._memo: dict[tuple[str, str], Target] = {}
        for mapping in mappings:
            self.add(mapping)

    def add(self, mapping: TaskMapping, owner: str = "obslaws") -> None:
        """Add one mapping; a second mapping of the same name is an error naming both owners."""
        if not isinstance(mapping, TaskMapping):
            raise PluginError(f"plugin {owner!r} registered {mapping!r}, not a TaskMapping or Ingestor")
        if mapping.chance is not None and not 0 <= mapping.chance < 1:
            raise PluginError(f"task mapping {mapping.name!r} of plugin {owner!r}: chance must be in [0, 1)")
        key = (mapping.task, mapping.metric)
        if key in self._by_key:
            raise PluginError(
                f'task mapping "{mapping.name}" is registered by both plugin "{self._owners[mapping.name]}" '
                f'and plugin "{owner}"'
            )
        self._by_key[key] = mapping
        self._owners[mapping.name] = owner
        self._memo.clear()

    def __len__(self) -> int:
        return len(self._by_key)

    def lookup(self, task: str, metric: str) -> Target:
        """Where ``task``'s ``metric`` (``name`` or ``name,filter``) goes."""
        found = self._memo.get((task, metric))
        if found is None:
            mapping = self._by_key.get((task, metric)) or self._by_key.get((task, None))
            if mapping is None:
                found = Target(task, metric, None)
            else:
                found = Target(mapping.benchmark, mapping.metrics.get(metric, metric), mapping)
            self._memo[(task, metric)] = found
        return found

    def mapping_for(self, benchmark: str) -> TaskMapping | None:
        """A mapping that targets ``benchmark`` (for its chance level and description)."""
        for mapping in self._by_key.values():
            if mapping.benchmark == benchmark:
                return mapping
        return None

    def chance(self, benchmark: str) -> float:
        mapping = self.mapping_for(benchmark)
        if mapping is not None and mapping.chance is not None:
            return mapping.chance
        if benchmark.startswith("mmlu_"):
            return 0.25
        return 0.0


def mean_with_stderr(values: list[float], stderrs: list[float | None]) -> tuple[float, float | None]:
    """Unweighted mean of independent estimates, and its standard error where every part has one."""
    mean = sum(values) / len(values)
    if any(s is None for s in stderrs):
        return mean, None
    return mean, math.sqrt(sum(s * s for s in stderrs)) / len(values)  # type: ignore[operator]


@dataclass(frozen=True)
class CardDataset:
    """A model card's ``model-index`` dataset, as the Open LLM Leaderboard's card PRs write it.

    Values there are in points (0-100). v2 cards give the leaderboard's normalised score, stored
    under ``oll_v2_normalized``; where normalised equals raw (IFEval, MATH Lvl 5: lower bound 0)
    it is stored under the headline metric too.
    """

    benchmark: str
    metric: str | None = None  # the obslaws metric (None: the card's metric type)
    normalized: bool = False
    raw_metric: str | None = None  # headline metric the normalised value also goes to


CARD_DATASETS: dict[tuple[str, str | None], CardDataset] = {
    ("ai2_arc", "arc-challenge"): CardDataset("arc_challenge"),
    ("ai2_arc", "arc-easy"): CardDataset("arc_easy"),
    ("hellaswag", None): CardDataset("hellaswag"),
    ("cais/mmlu", None): CardDataset("mmlu"),
    ("truthful_qa", None): CardDataset("truthfulqa_mc2"),
    ("winogrande", None): CardDataset("winogrande"),
    ("gsm8k", None): CardDataset("gsm8k", metric="exact_match"),
    ("huggingfaceh4/ifeval", None): CardDataset(
        "leaderboard_ifeval", normalized=True, raw_metric="inst_prompt_strict_acc_mean"
    ),
    ("bbh", None): CardDataset("leaderboard_bbh", normalized=True),
    ("hendrycks/competition_math", None): CardDataset(
        "leaderboard_math_hard", normalized=True, raw_metric="exact_match"
    ),
    ("idavidrein/gpqa", None): CardDataset("leaderboard_gpqa", normalized=True),
    ("taur-lab/musr", None): CardDataset("leaderboard_musr", normalized=True),
    ("tiger-lab/mmlu-pro", None): CardDataset("leaderboard_mmlu_pro", normalized=True),
}


def card_dataset(dataset_type: str, dataset_config: str | None) -> CardDataset | None:
    key = dataset_type.lower()
    config = (dataset_config or "").lower() or None
    return CARD_DATASETS.get((key, config)) or CARD_DATASETS.get((key, None))
