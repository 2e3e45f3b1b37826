"""Reading and validating registry/reported/<slug>.toml (format: registry/reported/README.md).

Each file is one published document (model card, technical report, blog): a [source], the
table columns it uses ([benchmarks.<key>]) and one [[models]] entry per table row. This module
only parses and checks; reported.py puts the rows into the registry. Every error names the
file, the model (or section) and the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .core import BuildError

SOURCE_KINDS = ("model_card", "paper", "blog")
SOURCE_PREFIX = re.compile(r"^(card|paper|blog)-[a-z0-9][a-z0-9._-]*$")
# New reported-class ids share the Epoch hub's `epoch_` namespace ("numbers reported by papers
# and leaderboards, each with its own prompt and harness").
REPORTED_ID = re.compile(r"^epoch_[a-z0-9_]+$")
SETTING = re.compile(r"^[a-z0-9@_.-]+$")
# Plausible ranges: a value outside is a typo (a missing exponent, tokens in billions).
PARAMS_RANGE = (1e7, 1e13)
TOKENS_RANGE = (1e9, 1e15)

_SOURCE_KEYS = {"source_id", "kind", "citation", "url", "license", "retrieved"}
_BENCH_KEYS = {"benchmark", "metric", "n_shots", "note", "setting", "scale", "chance", "description"}
_MODEL_KEYS = {
    "model_id", "family", "family_group", "organization", "base", "release_date", "params_total",
    "params_active", "tokens", "facts_source", "facts_note", "scores", "aliases", "comparison",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One table column: where its numbers go and under which setting."""

    key: str
    benchmark: str
    metric: str  # as stored: `<metric>[<setting>]` when a setting is named
    n_shots: int
    note: str
    scale: float  # printed value / scale = stored value (100 for percentages)
    chance: float | None = None  # given only where the file defines a new benchmark id
    description: str | None = None


@dataclass(frozen=True)
class Entry:
    """One [[models]] row of a file."""

    model_id: str
    base: bool
    family: str | None
    family_group: str | None
    organization: str | None
    release_date: str | None
    params_total: float | None
    params_active: float | None
    tokens: float | None
    facts_source: str | None
    facts_note: str | None
    scores: dict[str, float]
    aliases: tuple[str, ...]
    marked_comparison: bool | None = None  # the row's `comparison` field, where given

    @property
    def comparison(self) -> bool:
        """Another maker's model the document compares against (its makers' own document, where
        there is one, wins): as the row's `comparison` says, else a row that states no fact."""
        if self.marked_comparison is not None:
            return self.marked_comparison
        facts = (self.family, self.release_date, self.params_total, self.params_active, self.tokens, self.facts_source)
        return all(value is None for value in facts)


@dataclass
class ReportedFile:
    path: Path
    source: dict
    columns: dict[str, Column] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)


class Where:
    """Error context: `reported/x.toml: model Qwen/Qwen3-8B-Base: field tokens: ...`."""

    def __init__(self, path: Path, section: str = "") -> None:
        self.path, self.section = path, section

    def at(self, section: str) -> Where:
        return Where(self.path, section)

    def fail(self, fld: str, message: str) -> BuildError:
        where = f"reported/{self.path.name}: " + (f"{self.section}: " if self.section else "")
        return BuildError(f"{where}field {fld}: {message}")


def _check_keys(where: Where, table: dict, allowed: set[str], required: tuple[str, ...]) -> None:
    for key in sorted(set(table) - allowed):
        raise where.fail(key, f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in table or table[key] in ("", None):
            raise where.fail(key, "missing")


def _text(where: Where, table: dict, key: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise where.fail(key, "missing")
        return None
    if not isinstance(value, str):
        raise where.fail(key, f"must be a string, not {value!r}")
    return value.strip() or None


def _date(where: Where, table: dict, key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else value
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise where.fail(key, f"{value!r} is not an ISO date YYYY-MM-DD")
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise where.fail(key, f"{text!r} is not a calendar date") from exc
    if not dt.date(2015, 1, 1) <= parsed <= dt.date(2030, 12, 31):
        raise where.fail(key, f"{text} outside 2015-2030")
    return text


def _count(where: Where, table: dict, key: str, bounds: tuple[float, float]) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise where.fail(key, f"{value!r} is not a number")
    if not bounds[0] <= value <= bounds[1]:
        raise where.fail(key, f"{value:g} outside the plausible range [{bounds[0]:g}, {bounds[1]:g}] (plain counts)")
    return float(value)


def _source(where: Where, table: object) -> dict:
    where = where.at("[source]")
    if not isinstance(table, dict):
        raise where.fail("source", "missing [source] table")
    _check_keys(where, table, _SOURCE_KEYS, ("source_id", "kind", "citation", "url", "retrieved"))
    source_id = _text(where, table, "source_id", True)
    if not SOURCE_PREFIX.match(source_id or ""):
        raise where.fail("source_id", f"{source_id!r} must start with card-, paper- or blog- (lowercase slug)")
    if table["kind"] not in SOURCE_KINDS:
        raise where.fail("kind", f"{table['kind']!r} is not one of {', '.join(SOURCE_KINDS)}")
    url = _text(where, table, "url", True)
    if not re.match(r"^https?://\S+$", url or ""):
        raise where.fail("url", f"{url!r} is not an http(s) URL")
    return dict(
        source_id=source_id,
        kind=table["kind"],
        citation=_text(where, table, "citation", True),
        url=url,
        license=_text(where, table, "license"),
        retrieved=_date(where, table, "retrieved"),
    )


def _column(where: Where, key: str, table: object) -> Column:
    where = where.at(f"[benchmarks.{key}]")
    if not isinstance(table, dict):
        raise where.fail(key, "must be a table")
    _check_keys(where, table, _BENCH_KEYS, ("benchmark", "metric", "n_shots"))
    bench = _text(where, table, "benchmark", True) or ""
    if not REPORTED_ID.match(bench):
        raise where.fail("benchmark", f"{bench!r} is not a reported-class id (epoch_<task>)")
    shots = table["n_shots"]
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < -1:
        raise where.fail("n_shots", f"{shots!r} must be an integer >= 0, or -1 for not stated")
    setting = _text(where, table, "setting")
    if setting is not None and not SETTING.match(setting):
        raise where.fail("setting", f"{setting!r}: use a short lowercase tag such as cot or maj@1")
    metric = _text(where, table, "metric", True) or ""
    scale = table.get("scale", 100)
    if scale not in (1, 100):
        raise where.fail("scale", f"{scale!r} must be 100 (printed as percentages) or 1 (printed as fractions)")
    chance = table.get("chance")
    description = _text(where, table, "description")
    if (chance is None) != (description is None):
        raise where.fail(
            "chance" if chance is None else "description", "a new benchmark id needs both chance and description"
        )
    if chance is not None and (isinstance(chance, bool) or not isinstance(chance, int | float) or not 0 <= chance < 1):
        raise where.fail("chance", f"{chance!r} must be a number in [0, 1)")
    return Column(
        key=key,
        benchmark=bench,
        metric=f"{metric}[{setting}]" if setting else metric,
        n_shots=shots,
        note=_text(where, table, "note") or "",
        scale=float(scale),
        chance=None if chance is None else float(chance),
        description=description,
    )


def _scores(where: Where, table: object, columns: dict[str, Column]) -> dict[str, float]:
    if not isinstance(table, dict):
        raise where.fail("scores", "must be an inline table { key = value, ... }")
    out = {}
    for key, value in table.items():
        if key not in columns:
            raise where.fail(f"scores.{key}", f"unknown benchmark key (defined: {', '.join(sorted(columns))})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise where.fail(f"scores.{key}", f"{value!r} is not a number")
        if not 0 <= value <= columns[key].scale:
            raise where.fail(f"scores.{key}", f"{value} outside [0, {columns[key].scale:g}]")
        out[key] = value / columns[key].scale
    return out


def _entry(where: Where, index: int, table: object, columns: dict[str, Column]) -> Entry:
    if not isinstance(table, dict):
        raise where.at(f"[[models]] #{index + 1}").fail("models", "must be a table")
    model_id = table.get("model_id")
    where = where.at(f"model {model_id}" if isinstance(model_id, str) and model_id else f"[[models]] #{index + 1}")
    _check_keys(where, table, _MODEL_KEYS, ("model_id", "base"))
    if not isinstance(table["base"], bool):
        raise where.fail("base", f"{table['base']!r} must be true or false")
    total = _count(where, table, "params_total", PARAMS_RANGE)
    active = _count(where, table, "params_active", PARAMS_RANGE)
    if total is not None and active is not None and active > total:
        raise where.fail("params_active", f"{active:g} exceeds params_total {total:g}")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise where.fail("aliases", "must be a list of names")
    if not isinstance(table.get("comparison", False), bool):
        raise where.fail("comparison", f"{table['comparison']!r} must be true or false")
    return Entry(
        model_id=_text(where, table, "model_id", True) or "",
        base=table["base"],
        family=_text(where, table, "family"),
        family_group=_text(where, table, "family_group"),
        organization=_text(where, table, "organization"),
        release_date=_date(where, table, "release_date"),
        params_total=total,
        params_active=active,
        tokens=_count(where, table, "tokens", TOKENS_RANGE),
        facts_source=_text(where, table, "facts_source"),
        facts_note=_text(where, table, "facts_note"),
        scores=_scores(where, table.get("scores", {}), columns),
        aliases=tuple(a.strip() for a in aliases),
        marked_comparison=table.get("comparison"),
    )


def read_reported_file(path: Path) -> ReportedFile:
    """Parse and check one file (everything that needs no other file or registry row)."""
    where = Where(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"reported/{path.name}: not valid TOML: {exc}") from exc
    for key in sorted(set(data) - {"source", "benchmarks", "models"}):
        raise where.fail(key, "unknown top-level table (allowed: source, benchmarks, models)")
    parsed = ReportedFile(path, _source(where, data.get("source")))
    benches = data.get("benchmarks", {})
    if not isinstance(benches, dict):
        raise where.fail("benchmarks", "must be a table of [benchmarks.<key>] tables")
    parsed.columns = {key: _column(where, key, table) for key, table in benches.items()}
    models = data.get("models", [])
    if not isinstance(models, list) or not models:
        raise where.fail("models", "needs at least one [[models]] entry")
    seen: set[str] = set()
    for index, table in enumerate(models):
        entry = _entry(where, index, table, parsed.columns)
        if entry.model_id.lower() in seen:
            raise where.at(f"model {entry.model_id}").fail("model_id", "listed twice in this file")
        seen.add(entry.model_id.lower())
        parsed.entries.append(entry)
    return parsed
