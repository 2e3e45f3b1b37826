"""The types plugins use to extend ingestion: TaskMapping, Ingestor, and the IngestReport every ingest returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from obslaws.store import WriteStats

if TYPE_CHECKING:
    from obslaws.ingest.context import IngestContext


@dataclass(frozen=True)
class TaskMapping:
    """Maps an lm-evaluation-harness task (or one metric of it) to an obslaws benchmark.

    Parameters
    ----------
    task:
        The task name as it appears in a results file, after the key's harness prefix and
        shots are removed (``arc:challenge`` for ``harness|arc:challenge|25``).
    benchmark:
        The obslaws benchmark its scores go to; ``None`` drops the task (aggregates that mix
        unlike tasks, such as the leaderboard's ``all``).
    metric:
        Map only this harness metric (``mc2`` of ``truthfulqa:mc``); ``None`` maps every metric.
        A metric with a filter other than ``none`` is written ``name,filter``.
    metrics:
        Renames of harness metrics to obslaws metrics, e.g. ``{"acc": "exact_match"}``.
    derived:
        Metrics computed as the mean of others, e.g. ``{"inst_prompt_strict_acc_mean":
        ("prompt_level_strict_acc", "inst_level_strict_acc")}`` (names after renaming).
    chance:
        The chance level used when this mapping creates the benchmark.
    description:
        Text for the benchmarks row this mapping creates.

    Examples
    --------
    >>> TaskMapping("hendrycksTest-anatomy", "mmlu_anatomy", chance=0.25).name
    'hendrycksTest-anatomy'
    >>> TaskMapping("truthfulqa:mc", "truthfulqa_mc2", metric="mc2").name
    'truthfulqa:mc/mc2'
    """

    task: str
    benchmark: str | None
    metric: str | None = None
    metrics: Mapping[str, str] = field(default_factory=dict)
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    chance: float | None = None
    description: str | None = None

    @property
    def name(self) -> str:
        """Unique registration name: the task, plus ``/metric`` for a one-metric mapping."""
        return self.task if self.metric is None else f"{self.task}/{self.metric}"


@dataclass
class Problem:
    """One input that was reported and skipped: the file (or model), the key, what was wrong."""

    file: str
    key: str | None
    problem: str

    def __str__(self) -> str:
        where = self.file if self.key is None else f"{self.file}, key {self.key!r}"
        return f"{where}: {self.problem}"


@dataclass
class IngestReport:
    """What an ingest did: per table added/updated/unchanged, inputs read, inputs skipped, and
    the values it rejected (out of range, not numbers) from inputs it otherwise read."""

    tables: dict[str, WriteStats] = field(default_factory=dict)
    files: int = 0
    skipped: list[Problem] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, table: str, stats: WriteStats) -> None:
        self.tables.setdefault(table, WriteStats())
        self.tables[table] += stats

    def merge(self, other: IngestReport) -> None:
        for table, stats in other.tables.items():
            self.add(table, stats)
        self.files += other.files
        self.skipped.extend(other.skipped)
        self.rejected.extend(other.rejected)
        self.seconds += other.seconds
        for key, value in other.extra.items():
            if isinstance(value, list):
                self.extra.setdefault(key, []).extend(value)
            else:
                self.extra[key] = value

    @property
    def added(self) -> int:
        return sum(s.added for s in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.tables.values())

    def lines(self) -> list[str]:
        """The summary as printed by the CLI."""
        out = [f"{table:>14}: {stats}" for table, stats in self.tables.items()]
        out.append(f"{self.files} input(s) read in {self.seconds:.2f} s, {len(self.skipped)} skipped")
        out += [f"  skipped {p}" for p in self.skipped]
        if self.rejected:
            out.append(f"{len(self.rejected)} value(s) rejected, not stored:")
            out += [f"  rejected {p}" for p in self.rejected]
        return out

    @property
    def complete(self) -> bool:
        """Every input read and every value stored: what exit status 0 means."""
        return self.files > 0 and not self.skipped and not self.rejected


@dataclass(frozen=True)
class Ingestor:
    """A named ingestor, as plugins register it: ``register(Ingestor("my-format", my_ingest))``.

    Parameters
    ----------
    name:
        The name ``obslaws ingest NAME`` calls it by.
    ingest:
        ``ingest(context, paths, **options) -> IngestReport``, where ``context`` is an
        :class:`~obslaws.ingest.context.IngestContext` (the database, the task map of every
        plugin, the model-name resolver); ``context.batch()`` collects the rows to write.
    description:
        One line for ``obslaws ingest --help``.
    """

    name: str
    ingest: Callable[..., IngestReport]
    description: str = ""

    def __call__(self, context: IngestContext, paths: list[str], **options: Any) -> IngestReport:
        return self.ingest(context, paths, **options)
