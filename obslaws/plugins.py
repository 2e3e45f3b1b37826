"""The plugin manager: loads the ``obslaws`` entry-point group on demand, never at import."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from obslaws import hookspecs
from obslaws.errors import PluginError

ENTRY_POINT_GROUP = "obslaws"
DISABLE_ENV = "OBSLAWS_DISABLE_PLUGINS"


def disabled_plugins() -> set[str]:
    """Plugin names listed in ``$OBSLAWS_DISABLE_PLUGINS`` (comma-separated)."""
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def get_plugin_manager(
    *, load_entry_points: bool = True, disabled: Iterable[str] | None = None, extra: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """Build a fresh plugin manager with every installed plugin registered and validated.

    Parameters
    ----------
    load_entry_points:
        Load the ``obslaws`` entry-point group (built-in and third-party plugins).
    disabled:
        Plugin names to skip; defaults to ``$OBSLAWS_DISABLE_PLUGINS``.
    extra:
        Plugin objects (modules, instances) to register as well, for example in tests.

    Raises
    ------
    PluginError
        A plugin failed to import (named), or implements a hook that does not exist.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    skip = disabled_plugins() if disabled is None else set(disabled)
    if load_entry_points:
        seen: set[str] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in skip or ep.name in seen:
                continue
            seen.add(ep.name)
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f'Error loading plugin "{ep.name}" ({ep.value}): {exc}') from exc
            pm.register(plugin, name=ep.name)
    for plugin in extra:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if name not in skip:
            pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f'Error in plugin "{name}": {exc}') from exc
    return pm


def plugin_distribution(name: str) -> tuple[str, str] | None:
    """(distribution name, version) of the package that declares plugin ``name``, if installed."""
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name and ep.dist is not None:
            return ep.dist.name, ep.dist.version
    return None


@dataclass
class Registry:
    """What plugins registered through one hook, and which plugin registered each item."""

    kind: str
    items: dict[str, Any] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, item: Any, plugin: str) -> None:
        if name in self.items:
            raise PluginError(
                f'{self.kind} "{name}" is registered by both plugin "{self.owners[name]}" and '
                f'plugin "{plugin}"; disable one with {DISABLE_ENV}'
            )
        self.items[name] = item
        self.owners[name] = plugin


def collect(pm: pluggy.PluginManager, hook_name: str, kind: str, name_of: Any) -> Registry:
    """Call ``hook_name`` on each plugin in turn, recording who registered what."""
    registry = Registry(kind)
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):  # registration order

        def register(item: Any, _plugin: str = impl.plugin_name) -> None:
            registry.add(name_of(item), item, _plugin)

        impl.function(register=register)
    return registry
