"""Collecting ingestors and task mappings from plugins (the ``register_ingestors`` hook)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy

from obslaws.errors import PluginError
from obslaws.ingest.task_map import TaskMap
from obslaws.ingest.types import Ingestor, TaskMapping


@dataclass
class IngestRegistry:
    """What plugins registered: ingestors by name (with their plugin), and the task map."""

    ingestors: dict[str, Ingestor] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    task_map: TaskMap = field(default_factory=lambda: TaskMap(()))


def _with_builtin(pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Make sure obslaws' own ingestors are registered, also before its entry point is installed."""
    from obslaws.ingest import builtin

    if not pm.is_registered(builtin) and pm.get_plugin("ingestors") is None:
        pm.register(builtin, name="ingestors")
    return pm


def load_registry(pm: pluggy.PluginManager | None = None) -> IngestRegistry:
    """Call every plugin's ``register_ingestors`` hook.

    Parameters
    ----------
    pm:
        A plugin manager; default :func:`obslaws.plugins.get_plugin_manager`.

    Raises
    ------
    PluginError
        An item that is neither an Ingestor nor a TaskMapping, or a name registered twice
        (the message names both plugins).
    """
    if pm is None:
        from obslaws.plugins import get_plugin_manager

        pm = get_plugin_manager()
    pm = _with_builtin(pm)
    registry = IngestRegistry()
    for impl in reversed(pm.hook.register_ingestors.get_hookimpls()):
        plugin = impl.plugin_name

        def register(item: object, _plugin: str = plugin) -> None:
            if isinstance(item, TaskMapping):
                registry.task_map.add(item, owner=_plugin)
            elif isinstance(item, Ingestor):
                if item.name in registry.ingestors:
                    raise PluginError(
                        f'ingestor "{item.name}" is registered by both plugin "{registry.owners[item.name]}" '
                        f'and plugin "{_plugin}"'
                    )
                registry.ingestors[item.name] = item
                registry.owners[item.name] = _plugin
            else:
                raise PluginError(f"plugin {_plugin!r} registered {item!r}: expected an Ingestor or a TaskMapping")

        impl.function(register=register)
    return registry


def load_task_map(pm: pluggy.PluginManager | None = None) -> TaskMap:
    """The built-in task mappings plus every plugin's."""
    return load_registry(pm).task_map
