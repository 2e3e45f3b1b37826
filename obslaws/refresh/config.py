"""The refresh plan: which sources to ingest, how to fit each fitter, which backtests to run."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from obslaws.errors import ValidationError
from obslaws.ingest.model_facts import FACT_FIELDS


@dataclass(frozen=True)
class IngestStep:
    ingestor: str
    paths: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


MODEL_FIELDS = ("model_id", *FACT_FIELDS)


@dataclass(frozen=True)
class ModelNote:
    """Facts about a model that its result files do not carry (size, tokens, family, date)."""

    model_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class BacktestStep:
    """One backtest every able fitter runs: protocol, targets and protocol options."""

    protocol: str
    benchmarks: str | tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    @property
    def label(self) -> str:
        bench = self.benchmarks if isinstance(self.benchmarks, str) else ",".join(self.benchmarks)
        extra = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.protocol} [{bench}{', ' + extra if extra else ''}]"


@dataclass(frozen=True)
class RefreshConfig:
    path: str
    ingest: tuple[IngestStep, ...]
    models: tuple[ModelNote, ...]
    fit_defaults: dict[str, Any]
    fitters: dict[str, dict[str, Any]]
    backtests: tuple[BacktestStep, ...]
    report: dict[str, Any]
    raw: dict[str, Any]

    def fit_settings(self, fitter: str) -> dict[str, Any]:
        """The fit settings of ``fitter``: its own table over the [fit] defaults."""
        settings = {k: v for k, v in self.fit_defaults.items() if k != "fitters"}
        settings.update(self.fitters.get(fitter, {}))
        return settings

    @property
    def predict_fitter(self) -> str:
        """The fitter that predicts the report's missing scores (``[report] predict_fitter``); a
        plan that does not say gets the shipped plan's, the forecaster (it was Sloth's until
        2026-11-29, which the shipped plan had left since 2026-11-28)."""
        return str(self.report.get("predict_fitter", DEFAULT_PREDICT_FITTER))

    @property
    def curve_fitter(self) -> str:
        """The fitter whose curves the score-vs-compute figure draws (``[report] curve_fitter``)."""
        return str(self.report.get("curve_fitter", DEFAULT_CURVE_FITTER))

    def hashed_plan(self) -> dict[str, Any]:
        """The plan as the refresh's state hash reads it: as written, plus the code's defaults it
        relies on for the [report] fitters, so that a plan that names none is refreshed anew when
        those defaults change (the shipped plan names both: its hash is that of its text)."""
        relied = {key: getattr(self, key) for key in REPORT_FITTERS if key not in self.report}
        return {**self.raw, "report defaults": relied} if relied else self.raw

    def check_fitters(self, registered: Iterable[str], progress: Callable[[str], None]) -> None:
        """Raise where the plan's [report] names a fitter that is not registered (its figure or
        predictions would silently come from another); tell ``progress`` of each [fit.fitters]
        table of a fitter not registered, which the refresh ignores (a disabled plugin's, or a
        misspelt name)."""
        known = sorted(registered)
        for key in REPORT_FITTERS:
            name = self.report.get(key)
            if name is not None and name not in known:
                problem = f"no fitter {name!r} is registered; registered: {', '.join(known)}"
                raise ValidationError(self.path, None, f"report.{key}", problem)
        for name in self.fitters:
            if name not in known:
                progress(f"      [fit.fitters.{name}] ignored: no fitter {name!r} is registered")


# The [report] fitters of a plan that names none: those the shipped plan (default.toml) names
DEFAULT_PREDICT_FITTER = "forecast"
DEFAULT_CURVE_FITTER = "flops-sigmoid-family"
REPORT_FITTERS = ("predict_fitter", "curve_fitter")  # the [report] keys that name a fitter
# What a [fit] or [fit.fitters.NAME] table and the [report] table may set; a misspelt key would be ignored
FIT_KEYS = ("benchmarks", "source", "include_checkpoints", "options", "skip_protocols")
REPORT_KEYS = ("curve_benchmark", "curve_fitter", "predict_benchmarks", "predict_fitter")


def _known_keys(where: str, table: str, values: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        problem = f"unknown setting; {table} takes {', '.join(known)}"
        raise ValidationError(where, None, f"{table}.{unknown[0]}", problem)


def _backtests(section: dict[str, Any], where: str) -> list[BacktestStep]:
    steps: list[BacktestStep] = []
    holdout = section.get("family_holdout")
    if holdout:
        options = {"n_train": int(holdout.get("n_train", 1))}
        if "groups" in holdout:
            options["groups"] = holdout["groups"]
        for name in holdout.get("sets", ["oll-v1"]):
            steps.append(BacktestStep("family-holdout", name, dict(options), holdout.get("source")))
    cutoff = section.get("compute_cutoff")
    if cutoff:
        steps.append(
            BacktestStep(
                "compute-cutoff",
                cutoff.get("benchmarks", "oll-v1"),
                {"cutoff": float(cutoff["cutoff"])},
                cutoff.get("source"),
            )
        )
    for table in _tables(section, "time_split", where):
        options = {"date": str(table["date"]), **({"base_only": True} if table.get("base_only") else {})}
        steps.append(BacktestStep("time-split", table.get("benchmarks", "oll-v1"), options, table.get("source")))
    steps += _forward_backtests(section, where)
    unknown = set(section) - {"family_holdout", "compute_cutoff", "time_split", *FORWARD}
    if unknown:
        raise ValidationError(where, None, f"backtest.{sorted(unknown)[0]}", "unknown backtest protocol")
    return steps


# The forward protocols (each a table or a list of tables): every key but benchmarks and source is a
# protocol option; a list under n_train runs the protocol once per value (the rolling forecast's
# n = 0 and n = 1).
FORWARD = {"rolling_forecast": "rolling-forecast", "compute_sweep": "compute-sweep", "cell_holdout": "cell-holdout"}


def _tables(section: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The protocol tables under ``key``: none, one table, or a list of tables."""
    found = section.get(key)
    tables = found if isinstance(found, list) else [found] if found else []
    for table in tables:
        if not isinstance(table, dict):
            raise ValidationError(
                where, None, f"backtest.{key}", f"expected a table or a list of tables, got {table!r}"
            )
    return tables


def _forward_backtests(section: dict[str, Any], where: str) -> list[BacktestStep]:
    return [
        step
        for key, protocol in FORWARD.items()
        for table in _tables(section, key, where)
        for step in _forward_steps(key, protocol, table, where)
    ]


def _forward_steps(key: str, protocol: str, table: dict[str, Any], where: str) -> list[BacktestStep]:
    """One forward protocol's table as steps: one per ``n_train`` value where it lists several."""
    from obslaws.backtest.harness import make_protocol
    from obslaws.errors import ObslawsError

    steps = []
    options = {k: v for k, v in table.items() if k not in ("benchmarks", "source")}
    variants = options.pop("n_train", None)
    for n_train in variants if isinstance(variants, list) else [variants]:
        chosen = {**options, **({} if n_train is None else {"n_train": n_train})}
        try:
            make_protocol(protocol, **chosen)
        except ObslawsError as exc:
            raise ValidationError(where, None, f"backtest.{key}", str(exc)) from exc
        steps.append(BacktestStep(protocol, table.get("benchmarks", "oll-v1"), chosen, table.get("source")))
    return steps


def load_config(path: str | Path | None = None) -> RefreshConfig:
    """Read a refresh plan (TOML); None gives the default plan shipped with obslaws."""
    if path is None:
        text = resources.files("obslaws.refresh").joinpath("default.toml").read_text(encoding="utf-8")
        where, base = "default.toml", Path.cwd()
    else:
        path = Path(path)
        if not path.exists():
            raise ValidationError(str(path), None, None, "refresh config not found")
        text, where, base = path.read_text(encoding="utf-8"), str(path), path.resolve().parent
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(where, None, None, f"not valid TOML: {exc}") from exc
    ingest = []
    for index, item in enumerate(raw.get("ingest", []), start=1):
        if "ingestor" not in item or "paths" not in item:
            raise ValidationError(where, None, f"ingest[{index}]", "needs `ingestor` and `paths`")
        paths = tuple(str(p) if Path(p).is_absolute() else str(base / p) for p in item["paths"])
        ingest.append(IngestStep(item["ingestor"], paths, dict(item.get("options", {}))))
    models = []
    for index, item in enumerate(raw.get("models", []), start=1):
        unknown = sorted(set(item) - set(MODEL_FIELDS))
        if "model_id" not in item or unknown:
            field = f"models[{index}]" + (f".{unknown[0]}" if unknown else ".model_id")
            raise ValidationError(where, None, field, f"each [[models]] entry needs model_id; fields: {MODEL_FIELDS}")
        for size in ("params", "tokens"):
            if size in item and (not isinstance(item[size], (int, float)) or item[size] < 1e5):
                raise ValidationError(where, None, f"models[{index}].{size}", "give a plain count, e.g. 7e9")
        models.append(ModelNote(item["model_id"], {k: v for k, v in item.items() if k != "model_id"}))
    fit = dict(raw.get("fit", {}))
    fitters = {name: dict(settings) for name, settings in fit.pop("fitters", {}).items()}
    _known_keys(where, "fit", fit, FIT_KEYS)
    for name, settings in fitters.items():
        _known_keys(where, f"fit.fitters.{name}", settings, FIT_KEYS)
    _known_keys(where, "report", raw.get("report", {}), REPORT_KEYS)
    return RefreshConfig(
        path=where,
        ingest=tuple(ingest),
        models=tuple(models),
        fit_defaults=fit,
        fitters=fitters,
        backtests=tuple(_backtests(raw.get("backtest", {}), where)),
        report=dict(raw.get("report", {})),
        raw=raw,
    )
