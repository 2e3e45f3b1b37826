"""The fitter catalog: every fitter class that plugins register, and who registered it.

>>> from obslaws.fitting.lookup import get_fitters
>>> fitters = get_fitters()                    # doctest: +SKIP
>>> fitters["flops-sigmoid"].plugin            # doctest: +SKIP
'baselines'
>>> fitter = fitters.create("flops-sigmoid", random_state=1)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from obslaws.errors import FitterError, PluginError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws.option_types import word_for_flag, word_for_number
from obslaws.plugins import PluginCatalog, UnknownNameError, collect, plugin_distribution, plugin_manager


@dataclass(frozen=True)
class FitterInfo:
    """A registered fitter class and the plugin (and distribution) that registered it."""

    name: str
    cls: type[Fitter]
    plugin: str
    distribution: str | None
    distribution_version: str | None

    @property
    def version(self) -> str:
        return str(self.cls.version)

    @property
    def requires(self) -> Requirements:
        return self.cls.requires

    def create(self, **hyperparameters: Any) -> Fitter:
        return create_fitter(self.cls, hyperparameters)

    def as_dict(self) -> dict[str, Any]:
        req = self.cls.requires
        return {
            "name": self.name,
            "version": self.version,
            "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
            "plugin": self.plugin,
            "distribution": self.distribution,
            "distribution_version": self.distribution_version,
            "hyperparameters": default_hyperparameters(self.cls),
            "needs": sorted(req.needs),
            "input_benchmarks": list(req.input_benchmarks),
            "loss_datasets": list(req.loss_datasets),
            "min_models": req.min_models,
        }


class FitterCatalog(Mapping[str, FitterInfo]):
    """``name -> FitterInfo`` for every registered fitter; unknown names give a clear error."""

    def __init__(self, infos: dict[str, FitterInfo]) -> None:
        self._infos = dict(sorted(infos.items()))

    def __getitem__(self, name: str) -> FitterInfo:
        try:
            return self._infos[name]
        except KeyError:
            known = ", ".join(self._infos) or "none"
            raise UnknownNameError(
                f'unknown fitter "{name}"; registered fitters: {known} (see: obslaws plugins)'
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def create(self, name: str, **hyperparameters: Any) -> Fitter:
        """A new instance of fitter ``name`` with these hyperparameters."""
        return self[name].create(**hyperparameters)


def default_hyperparameters(cls: type[Fitter]) -> dict[str, Any]:
    """The constructor's keyword defaults (``None`` where a hyperparameter has no default)."""
    out = {}
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name == "self":
            continue
        out[param.name] = None if param.default is inspect.Parameter.empty else param.default
    return out


def create_fitter(cls: type[Fitter], hyperparameters: Mapping[str, Any] | None = None) -> Fitter:
    """``cls(**hyperparameters)`` with a clear error for an unknown hyperparameter."""
    hyperparameters = dict(hyperparameters or {})
    valid = set(cls._get_param_names())
    unknown = sorted(set(hyperparameters) - valid)
    if unknown:
        raise FitterError(f"{cls.name}: unknown hyperparameter(s) {unknown}; valid: {sorted(valid)}")
    # A word where a number belongs (`-o ridge=abc`, a quoted number in a plan) would fail deep in the
    # fit with numpy's error, naming nothing; one where a flag belongs would silently read as true.
    defaults = default_hyperparameters(cls)
    for key, value in hyperparameters.items():
        default = defaults.get(key)
        if word_for_flag(value, default):  # "False" would read as true
            raise FitterError(f"{cls.name}: hyperparameter {key!r} takes true or false, got {value!r}")
        if word_for_number(value, default):
            raise FitterError(f"{cls.name}: hyperparameter {key!r} takes a number (default {default!r}), got {value!r}")
    return cls(**hyperparameters)


def validate_fitter_class(item: Any, plugin: str) -> None:
    """Raise PluginError, naming ``plugin``, if ``item`` is not a usable Fitter subclass."""
    where = f'plugin "{plugin}" registered'
    if not (inspect.isclass(item) and issubclass(item, Fitter)):
        raise PluginError(f"{where} {item!r}, which is not a subclass of obslaws.Fitter")
    if not isinstance(item.name, str) or not item.name:
        raise PluginError(f"{where} fitter class {item.__qualname__} with no name (set the class attribute name)")
    if not isinstance(item.requires, Requirements):
        raise PluginError(f"{where} fitter {item.name!r} whose requires is not an obslaws.Requirements")
    try:
        item._get_param_names()
    except FitterError as exc:
        raise PluginError(f"{where} fitter {item.name!r}: {exc}") from exc


def get_fitters(pm: pluggy.PluginManager | None = None) -> FitterCatalog:
    """Every fitter registered through ``register_fitters`` by the plugins of ``pm`` (default the
    process's, :func:`obslaws.plugins.plugin_manager`), keyed by name.

    Raises
    ------
    PluginError
        A plugin registered something that is not a Fitter, or a name another plugin registered.
    """
    pm = pm if pm is not None else plugin_manager()
    catalog: PluginCatalog = collect(pm, "register_fitters", "fitter", lambda cls: cls.name, validate_fitter_class)
    infos = {}
    for name, cls in catalog.items.items():
        plugin = catalog.owners[name]
        dist = plugin_distribution(plugin)
        infos[name] = FitterInfo(name, cls, plugin, dist[0] if dist else None, dist[1] if dist else None)
    return FitterCatalog(infos)


def get_fitter(name: str, pm: pluggy.PluginManager | None = None, **hyperparameters: Any) -> Fitter:
    """A new instance of the registered fitter ``name``."""
    return get_fitters(pm).create(name, **hyperparameters)


__all__ = ["FitterInfo", "FitterCatalog", "create_fitter", "default_hyperparameters", "get_fitter", "get_fitters"]
