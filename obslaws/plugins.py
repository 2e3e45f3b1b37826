"""The plugin manager: loads the ``obslaws`` entry-point group on demand, never at import.

One manager per process: :func:`plugin_manager` builds it on first use and every caller (the
CLI, :func:`obslaws.connect`, the fitter and ingestor catalogs, the refresh) shares it, as
datasette and llm keep one ``pm``. :func:`get_plugin_manager` builds a fresh one (tests, or a
caller that wants other plugins).

A plugin that fails to import is disabled with a one-line warning that names it and the switch
that silences it (``OBSLAWS_DISABLE_PLUGINS=name``), so one broken package does not take down
every command; ``OBSLAWS_STRICT_PLUGINS=1`` makes it an error. Every other failure of a plugin
(it implements a hook that does not exist or with wrong arguments, forgets ``@hookimpl``,
raises inside a hook, registers a name another plugin already registered) is one
:class:`~obslaws.errors.PluginError` whose message names the plugin (and, for a hook that does
not exist, its module and the hooks there are), so ``obslaws`` prints one line and the user
knows which package to fix or disable.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from obslaws import hookspecs
from obslaws.errors import PluginError

ENTRY_POINT_GROUP = "obslaws"
DISABLE_ENV = "OBSLAWS_DISABLE_PLUGINS"
STRICT_ENV = "OBSLAWS_STRICT_PLUGINS"
HOOK_NAMES = tuple(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{ENTRY_POINT_GROUP}_spec"))

log = logging.getLogger(__name__)


def disabled_plugins() -> set[str]:
    """Plugin names listed in ``$OBSLAWS_DISABLE_PLUGINS`` (comma-separated)."""
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def strict_plugins() -> bool:
    """``$OBSLAWS_STRICT_PLUGINS`` is set (and not 0): a plugin that fails to import is an error."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _module_of(plugin: Any) -> str:
    """Where a plugin object comes from: its module's name, or its class's dotted name."""
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _where(plugin: Any, name: str) -> str:
    """How errors name a plugin: 'plugin "name" (module m)'; the CLI puts "Error: " before it."""
    return f'plugin "{name}" (module {_module_of(plugin)})'


def _check_unmarked(plugin: Any, name: str) -> None:
    """A function named like a hook but without ``@hookimpl`` is silently ignored by pluggy."""
    for hook in HOOK_NAMES:
        func = getattr(plugin, hook, None)
        if callable(func) and not hasattr(func, f"{ENTRY_POINT_GROUP}_impl"):
            raise PluginError(
                f"{_where(plugin, name)}: {hook}() is not marked with @hookimpl "
                "(from obslaws import hookimpl), so obslaws would never call it"
            )


def _check_hook_names(plugin: Any, name: str) -> None:
    """A ``@hookimpl`` function whose name is no hook (a misspelling): pluggy's own error names
    neither the module nor the hooks there are."""
    for attr in dir(plugin):
        opts = getattr(getattr(plugin, attr, None), f"{ENTRY_POINT_GROUP}_impl", None)
        if not isinstance(opts, dict) or opts.get("optionalhook"):
            continue
        hook = opts.get("specname") or attr
        if hook not in HOOK_NAMES:
            close = difflib.get_close_matches(hook, HOOK_NAMES, n=1)
            raise PluginError(
                f"{_where(plugin, name)} implements an unknown hook {hook}()"
                + (f" (did you mean {close[0]}?)" if close else "")
                + f"; the hooks are {', '.join(HOOK_NAMES)}"
            )


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    _check_unmarked(plugin, name)
    _check_hook_names(plugin, name)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # a hook with arguments its spec does not have
        raise PluginError(f"{_where(plugin, name)}: {' '.join(str(exc).split())}") from exc
    except ValueError as exc:  # already registered under another name
        raise PluginError(f"{_where(plugin, name)} cannot be registered: {exc}") from exc


def _load(ep: metadata.EntryPoint) -> Any | None:
    """The plugin's module, or None (with a one-line warning) when it fails to import."""
    try:
        return ep.load()
    except Exception as exc:
        problem = (
            f'plugin "{ep.name}" ({ep.value}, from {_dist_label(ep)}) failed to import: {type(exc).__name__}: {exc}'
        )
        if strict_plugins():
            raise PluginError(f"{problem} ({STRICT_ENV} is set)") from exc
        log.warning(
            "Warning: %s; it is disabled (set %s=%s to silence this, or %s=1 to make it an error)",
            problem,
            DISABLE_ENV,
            ep.name,
            STRICT_ENV,
        )
        return None


def _installed_plugins(skip: set[str]) -> Iterator[tuple[str, Any]]:
    """(name, plugin) for every entry point of the group, once per name, skipping ``skip``."""
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
        plugin = _load(ep)
        if plugin is not None:
            yield ep.name, plugin


def get_plugin_manager(
    *, load_entry_points: bool = True, disabled: Iterable[str] | None = None, extra: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """Build a fresh plugin manager with every installed plugin registered and validated.

    Most code wants the process's shared manager, :func:`plugin_manager`.

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
        Naming the plugin and its module: a plugin implements a hook that does not exist (the
        message lists the hooks there are), a hook with arguments its spec lacks, a hook
        function without ``@hookimpl``, or two distributions declare the same plugin name; with
        ``$OBSLAWS_STRICT_PLUGINS`` set, also a plugin that fails to import (named).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    skip = disabled_plugins() if disabled is None else set(disabled)
    if load_entry_points:
        for name, plugin in _installed_plugins(skip):
            _register(pm, plugin, name)
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
        raise PluginError(f"{_where(exc.plugin, name)}: {' '.join(str(exc).split())}") from exc
    return pm


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, built by :func:`get_plugin_manager` on first use and shared.

    Tests that install, remove or disable plugins call ``plugin_manager.cache_clear()`` so the
    next use builds it again.
    """
    return get_plugin_manager()


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
        module = getattr(plugin, "__name__", None) or type(plugin).__name__
        out.append(PluginInfo(name, module, dist[0] if dist else None, dist[1] if dist else None, hooks))
    return out


class UnknownNameError(PluginError, KeyError):
    """A name no plugin registered (also a KeyError, so ``PluginCatalog.get`` works)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class PluginCatalog(Mapping[str, Any]):
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


def _call(impl: Any, hook_name: str, kwargs: Mapping[str, Any]) -> Any:
    """One plugin's implementation, given the arguments it declares; failures name the plugin."""
    try:
        return impl.function(**{name: kwargs[name] for name in impl.argnames})
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f'plugin "{impl.plugin_name}" failed in {hook_name}(): {type(exc).__name__}: {exc}') from exc


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Call ``hook_name`` on each plugin in registration order; yields (plugin name, its result).

    Each implementation gets the keyword arguments it declares. An exception other than a
    :class:`PluginError` becomes a PluginError naming the plugin and the hook.
    """
    for impl in getattr(pm.hook, hook_name).get_hookimpls():  # registration order (pluggy calls in reverse)
        yield impl.plugin_name, _call(impl, hook_name, kwargs)


def collect(
    pm: pluggy.PluginManager,
    hook_name: str,
    kind: str,
    name_of: Callable[[Any], str],
    validate: Callable[[Any, str], None] | None = None,
) -> PluginCatalog:
    """Call ``hook_name(register)`` on each plugin in turn, recording who registered what.

    ``validate(item, plugin_name)`` may raise :class:`PluginError`; any other exception a
    plugin raises inside its hook is turned into a PluginError naming the plugin.
    """
    catalog = PluginCatalog(kind)
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        plugin_name = impl.plugin_name

        def register(item: Any, _plugin: str = plugin_name) -> None:
            if validate is not None:
                validate(item, _plugin)
            try:
                name = name_of(item)
            except Exception as exc:
                raise PluginError(f'plugin "{_plugin}" registered an invalid {kind} {item!r}: {exc}') from exc
            catalog.add(name, item, _plugin)

        _call(impl, hook_name, {"register": register})
    return catalog


__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "STRICT_ENV",
    "PluginCatalog",
    "PluginInfo",
    "call_each",
    "collect",
    "describe_plugins",
    "disabled_plugins",
    "get_plugin_manager",
    "plugin_distribution",
    "plugin_manager",
]
