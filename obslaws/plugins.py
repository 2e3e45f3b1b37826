"""The plugin manager: loads the ``obslaws`` entry-point group on demand, never at import.

Every failure of a plugin (it does not import, implements a hook that does not exist or with
wrong arguments, forgets ``@hookimpl``, raises inside a hook, registers a name another plugin
already registered) becomes one :class:`~obslaws.errors.PluginError` whose message names the
plugin, so ``obslaws`` prints one line and the user knows which package to fix or disable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from obslaws import hookspecs
from obslaws.errors import PluginError

ENTRY_POINT_GROUP = "obslaws"
DISABLE_ENV = "OBSLAWS_DISABLE_PLUGINS"
HOOK_NAMES = ("register_fitters", "register_ingestors", "prepare_connection", "register_commands")


def disabled_plugins() -> set[str]:
    """Plugin names listed in ``$OBSLAWS_DISABLE_PLUGINS`` (comma-separated)."""
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _check_unmarked(plugin: Any, name: str) -> None:
    """A function named like a hook but without ``@hookimpl`` is silently ignored by pluggy."""
    for hook in HOOK_NAMES:
        func = getattr(plugin, hook, None)
        if callable(func) and not hasattr(func, f"{ENTRY_POINT_GROUP}_impl"):
            raise PluginError(
                f'Error in plugin "{name}": {hook}() is not marked with @hookimpl '
                "(from obslaws import hookimpl), so obslaws would never call it"
            )


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    _check_unmarked(plugin, name)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f'Error in plugin "{name}": {exc}') from exc
    except ValueError as exc:  # already registered under another name
        raise PluginError(f'Error registering plugin "{name}": {exc}') from exc


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
        Plugin objects (modules, instances) to register as well, for example in tests. A
        ``(name, plugin)`` pair registers ``plugin`` under ``name``.

    Raises
    ------
    PluginError
        A plugin failed to import (named), implements a hook that does not exist, defines a hook
        function without ``@hookimpl``, or two distributions declare the same plugin name.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    skip = disabled_plugins() if disabled is None else set(disabled)
    if load_entry_points:
        seen: dict[str, metadata.EntryPoint] = {}
        for ep in _entry_points():
            if ep.name in skip:
                continue
            if ep.name in seen:
                if seen[ep.name].value != ep.value:
                    first, second = seen[ep.name], ep
                    raise PluginError(
                        f'plugin name "{ep.name}" is declared twice: by {_dist_label(first)} ({first.value}) and by '
                        f"{_dist_label(second)} ({second.value}); uninstall one or disable it with {DISABLE_ENV}"
                    )
                continue
            seen[ep.name] = ep
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f'Error loading plugin "{ep.name}" ({ep.value}, from {_dist_label(ep)}): '
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            _register(pm, plugin, ep.name)
    for item in extra:
        if isinstance(item, tuple):
            name, plugin = item
        else:
            plugin = item
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if name not in skip:
            _register(pm, plugin, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f'Error in plugin "{name}": {exc}') from exc
    return pm


def _dist_label(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"distribution {dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def plugin_distribution(name: str) -> tuple[str, str] | None:
    """(distribution name, version) of the package that declares plugin ``name``, if installed."""
    for ep in _entry_points():
        if ep.name == name and ep.dist is not None:
            return ep.dist.name, ep.dist.version
    return None


@dataclass
class PluginInfo:
    """One registered plugin: its name, where it comes from and which hooks it implements."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: list[str]


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin, by name, with its distribution and hooks."""
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda pair: str(pair[0])):
        if plugin is None:  # blocked
            continue
        hooks = sorted(impl.name for impl in pm.get_hookcallers(plugin) or [])
        dist = plugin_distribution(name)
        module = getattr(plugin, "__name__", None) or type(plugin).__module__
        out.append(PluginInfo(name, module, dist[0] if dist else None, dist[1] if dist else None, hooks))
    return out


class UnknownNameError(PluginError, KeyError):
    """A name no plugin registered (also a KeyError, so ``Registry.get`` works)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class Registry(Mapping[str, Any]):
    """What plugins registered through one hook, and which plugin registered each item.

    A read-only mapping ``name -> item``; ``owners[name]`` is the plugin that registered it.
    """

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

    def __getitem__(self, name: str) -> Any:
        try:
            return self.items[name]
        except KeyError:
            known = ", ".join(sorted(self.items)) or "none"
            raise UnknownNameError(
                f'unknown {self.kind} "{name}"; registered: {known} (see: obslaws plugins)'
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def collect(
    pm: pluggy.PluginManager,
    hook_name: str,
    kind: str,
    name_of: Callable[[Any], str],
    validate: Callable[[Any, str], None] | None = None,
) -> Registry:
    """Call ``hook_name`` on each plugin in turn, recording who registered what.

    ``validate(item, plugin_name)`` may raise :class:`PluginError`; any other exception a
    plugin raises inside its hook is turned into a PluginError naming the plugin.
    """
    registry = Registry(kind)
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order (pluggy calls them in reverse)
        plugin_name = impl.plugin_name

        def register(item: Any, _plugin: str = plugin_name) -> None:
            if validate is not None:
                validate(item, _plugin)
            try:
                name = name_of(item)
            except Exception as exc:
                raise PluginError(f'plugin "{_plugin}" registered an invalid {kind} {item!r}: {exc}') from exc
            registry.add(name, item, _plugin)

        kwargs = {"register": register} if "register" in impl.argnames else {}
        try:
            impl.function(**kwargs)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f'plugin "{plugin_name}" failed in {hook_name}(): {type(exc).__name__}: {exc}') from exc
    return registry


__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "collect",
    "describe_plugins",
    "disabled_plugins",
    "get_plugin_manager",
    "plugin_distribution",
]
