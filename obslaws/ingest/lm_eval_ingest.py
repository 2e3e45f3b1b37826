"""The ``lm-eval`` ingestor: results files and folders, parsed ahead in a worker, written in batches.

Parsing is :mod:`obslaws.ingest.lm_eval_results`; the read-ahead is :mod:`obslaws.ingest.prefetch`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from obslaws.errors import ObslawsError
from obslaws.ingest.context import IngestContext
from obslaws.ingest.guards import BenchmarkBudget
from obslaws.ingest.lm_eval_results import emit, has_values, new_benchmarks
from obslaws.ingest.prefetch import parsed_batches
from obslaws.ingest.types import IngestReport, Problem


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Files as given, and every ``*.json`` under directories (sorted); missing paths are problems."""
    files: list[Path] = []
    problems: list[Problem] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), None, "no such file or directory"))
    return files, problems


def ingest_lm_eval(
    context: IngestContext,
    paths: Sequence[str | Path],
    *,
    family: str | None = None,
    batch_size: int = 2000,
    progress: bool = False,
    budget: BenchmarkBudget | None = None,
) -> IngestReport:
    """Ingest lm-evaluation-harness results files (or directories of them).

    Parameters
    ----------
    context:
        The open, migrated database, the task map and the name resolver.
    paths:
        Files or directories (searched recursively for ``*.json``).
    family:
        Family for models the files create (default: derived from each name).
    batch_size:
        Files per transaction.
    progress:
        Show a progress bar (tqdm) on standard error.
    budget:
        How many new benchmarks a file and the whole ingest may add (default
        :class:`~obslaws.ingest.guards.BenchmarkBudget`); a file past it is skipped.

    Returns
    -------
    IngestReport
        Rows added/updated/unchanged per table; malformed files under ``skipped``, values that
        cannot be stored under ``rejected``. A file none of whose values can be stored is
        skipped and writes nothing (no source, model or ``eval_runs`` row).
    """
    from tqdm import tqdm

    start = time.perf_counter()
    if batch_size < 1:
        raise ObslawsError(f"batch_size must be at least 1 (got {batch_size})")
    budget = budget or BenchmarkBudget()
    files, problems = expand_paths(paths)
    report = IngestReport(skipped=problems)
    bar = tqdm(total=len(files), unit="file", disable=not progress, desc="lm-eval results")
    batches = [files[offset : offset + batch_size] for offset in range(0, len(files), batch_size)]
    with closing(parsed_batches(batches, context.task_map)) as parsed:
        for runs in parsed:
            batch = context.batch()
            for run in runs:
                bar.update(1)
                if isinstance(run, Problem):
                    refused: Problem | None = run
                elif not has_values(run, context.task_map):
                    report.rejected.extend(run.rejected)
                    why = f"no value could be stored ({len(run.rejected)} rejected); nothing written"
                    refused = Problem(run.source_label, None, why)
                else:
                    refused = budget.admit(run.source_label, new_benchmarks(batch, run))
                if refused is not None:
                    report.skipped.append(refused)
                    continue
                emit(batch, run, family=family)
                report.rejected.extend(run.rejected)
                report.files += 1
            batch.write(report)
    bar.close()
    report.seconds = time.perf_counter() - start
    return report
