"""Collecting ingestors and task mappings from plugins (the ``register_ingestors`` hook)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pluggy

from obslaws.errors import PluginError
from obslaws.ingest.context import IngestContext
from obslaws.ingest.task_map import TaskMap
from obslaws.ingest.types import Ingestor, TaskMapping
from obslaws.plugins import PluginCatalog, collect


@dataclass(frozen=True)
class IngestPlugins:
    """What plugins registered: the ingestors by name (``owners`` names each one's plugin), the task map."""

    ingestors: PluginCatalog
    task_map: TaskMap


def _with_builtin(pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Make sure obslaws' own ingestors are registered, also before its entry point is installed."""
    from obslaws.ingest import builtin

    if not pm.is_registered(builtin) and pm.get_plugin("ingestors") is None:
        pm.register(builtin, name="ingestors")
    return pm


def _check_item(item: object, plugin: str) -> None:
    if not isinstance(item, Ingestor | TaskMapping):
        raise PluginError(f'plugin "{plugin}" registered {item!r}: expected an Ingestor or a TaskMapping')


def _key(item: Ingestor | TaskMapping) -> str:
    # Ingestors and task mappings share the hook, not a namespace.
    return f"task mapping {item.name}" if isinstance(item, TaskMapping) else f"ingestor {item.name}"


def load_ingest_plugins(pm: pluggy.PluginManager) -> IngestPlugins:
    """Call every plugin's ``register_ingestors`` hook, in plugin registration order.

    Raises
    ------
    PluginError
        A plugin's hook failed, registered an item that is neither an Ingestor nor a
        TaskMapping, or a name another plugin registered (the message names the plugins).
    """
    collected = collect(_with_builtin(pm), "register_ingestors", "ingest item", _key, _check_item)
    ingestors = PluginCatalog("ingestor")
    task_map = TaskMap(())
    for key in collected:
        item, plugin = collected[key], collected.owners[key]
        if isinstance(item, TaskMapping):
            task_map.add(item, owner=plugin)
        else:
            ingestors.add(item.name, item, plugin)
    return IngestPlugins(ingestors, task_map)


def ingest_context(conn: duckdb.DuckDBPyConnection, pm: pluggy.PluginManager) -> IngestContext:
    """The context an ingestor is called with: ``conn`` and the task map of every plugin in ``pm``."""
    return IngestContext(conn, load_ingest_plugins(pm).task_map)
