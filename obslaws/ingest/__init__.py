"""Ingestors: lm-eval results files, lm-eval runs on checkpoints, model cards, leaderboard dumps.

Plugins extend them through the ``register_ingestors`` hook::

    from obslaws import hookimpl
    from obslaws.ingest import TaskMapping

    @hookimpl
    def register_ingestors(register):
        register(TaskMapping("my_task", "my_benchmark", chance=0.25))
"""

from obslaws.ingest.types import Ingestor, IngestReport, Problem, TaskMapping

__all__ = ["IngestReport", "Ingestor", "Problem", "TaskMapping"]
