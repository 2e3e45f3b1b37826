"""What every ingestor is called with: the database, the task map and the model-name resolver.

The caller (the CLI, the refresh, a test) builds the context once from the plugin manager
(:func:`obslaws.ingest.plugins.ingest_context`) and hands it down, so an ingestor never looks
up the plugins itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from obslaws.ingest.batch import Batch
from obslaws.ingest.resolve import ModelResolver
from obslaws.ingest.task_map import TaskMap


@dataclass
class IngestContext:
    """The open database, the task map (built-in plus plugins' mappings) and the name resolver.

    Use one context for one ingest run (one command, one refresh). The resolver is read from
    the database on first use and then learns every model and alias the batches add; after an
    ingest raises, its rolled-back names may linger there, so build a new context.

    Examples
    --------
    >>> import duckdb
    >>> from obslaws.ingest.task_map import TaskMap
    >>> context = IngestContext(duckdb.connect(), TaskMap())
    >>> context.task_map.lookup("hendrycksTest-anatomy", "acc").benchmark
    'mmlu_anatomy'
    """

    conn: duckdb.DuckDBPyConnection
    task_map: TaskMap = field(default_factory=TaskMap)
    _resolver: ModelResolver | None = field(default=None, repr=False)

    @property
    def resolver(self) -> ModelResolver:
        """Canonical model ids of the names sources use (built on first use)."""
        if self._resolver is None:
            self._resolver = ModelResolver(self.conn)
        return self._resolver

    def batch(self) -> Batch:
        """A new batch of rows to write in one transaction, sharing this context's resolver."""
        return Batch(self.conn, self.task_map, self.resolver)
