"""The in-memory registry the loaders fill, and the deterministic CSV writer."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from obslaws.registry_check import check_tables, read_table
from obslaws.store.columns import REGISTRY_TABLES, registry_columns

# The columns of each registry CSV, in file order: the column spec's (obslaws.store.columns).
COLUMNS: dict[str, list[str]] = {table: registry_columns(table) for table in REGISTRY_TABLES}
SORT_KEYS: dict[str, list[str]] = {
    "sources": ["source_id"],
    "benchmarks": ["benchmark"],
    "families": ["family"],
    "models": ["model_id"],
    "model_aliases": ["alias"],
    "scores": ["model_id", "benchmark", "metric", "n_shots", "source_id"],
    "losses": ["model_id", "dataset", "unit", "source_id"],
}
# Model metadata fields whose raw per-source values are kept so corrections can be checked.
META_FIELDS = ("params_total", "params_active", "params_non_embedding", "tokens", "flops")


class BuildError(RuntimeError):
    """The public data no longer looks like what this script was written against."""


def fmt(value: object) -> str:
    """Stable text for a CSV cell: empty for NULL, integers without '.0', floats as repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value)


def same(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def files_sha256(paths: list[Path], root: Path) -> str:
    """One hash over several files (relative path + content), order-independent of listing."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class Registry:
    sources: dict[str, dict] = field(default_factory=dict)
    benchmarks: dict[str, dict] = field(default_factory=dict)
    families: dict[str, dict] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    scores: dict[tuple, dict] = field(default_factory=dict)
    losses: dict[tuple, dict] = field(default_factory=dict)
    # model_id -> field -> source_id -> value, before corrections (see corrections.py)
    raw_meta: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # Sloth's Family2 -> Family, the authority for family_group of Sloth's families
    sloth_group: dict[str, str] = field(default_factory=dict)

    # -- sources, families, benchmarks -------------------------------------------------
    def add_source(
        self,
        source_id: str,
        kind: str,
        citation: str,
        url: str | None = None,
        license: str | None = None,
        sha256: str | None = None,
        priority: int = 100,
        retrieved: str | None = None,
    ) -> None:
        row = dict(
            source_id=source_id,
            kind=kind,
            citation=citation,
            url=url,
            license=license,
            retrieved=retrieved,
            sha256=sha256,
            priority=priority,
        )
        old = self.sources.get(source_id)
        if old is not None and old != row:
            raise BuildError(f"source {source_id!r} defined twice with different fields")
        self.sources[source_id] = row

    def add_family(
        self,
        family: str,
        family_group: str,
        organization: str | None = None,
        description: str | None = None,
        domain: str | None = None,
    ) -> None:
        old = self.families.get(family)
        if old is not None:
            if old["family_group"] != family_group:
                raise BuildError(f"family {family!r} in two groups: {old['family_group']!r} and {family_group!r}")
            old["organization"] = old["organization"] or organization
            old["description"] = old["description"] or description
            old["domain"] = old.get("domain") or domain
            return
        self.families[family] = dict(
            family=family, family_group=family_group, organization=organization, description=description, domain=domain
        )

    def add_benchmark(
        self, benchmark: str, metric: str, n_shots: int, chance: float, description: str, n_items: int | None = None
    ) -> None:
        if not 0 <= chance < 1:
            raise BuildError(f"benchmark {benchmark!r}: chance {chance} outside [0, 1)")
        row = dict(
            benchmark=benchmark, metric=metric, n_shots=n_shots, chance=chance, n_items=n_items, description=description
        )
        old = self.benchmarks.get(benchmark)
        if old is not None and (old["metric"], old["n_shots"]) != (metric, n_shots):
            raise BuildError(f"benchmark {benchmark!r} defined with two headline settings")
        if old is None:
            self.benchmarks[benchmark] = row

    # -- models and aliases -----------------------------------------------------------
    def add_model(self, model_id: str, source_id: str, **fields: object) -> dict:
        """Add or enrich a model. The first source to set a field wins (loaders run in
        precedence order); every source's sizes are kept in raw_meta for the corrections."""
        meta = self.raw_meta.setdefault(model_id, {})
        for name in META_FIELDS:
            if fields.get(name) is not None:
                meta.setdefault(name, {})[source_id] = float(fields[name])  # type: ignore[arg-type]
        row = self.models.get(model_id)
        if row is None:
            row = {c: None for c in COLUMNS["models"]}
            row["model_id"] = model_id
            row["source_id"] = source_id
            self.models[model_id] = row
        for name, value in fields.items():
            if name not in row:
                raise BuildError(f"unknown model field {name!r}")
            if row[name] is None and value is not None:
                row[name] = value
        return row

    def add_alias(self, alias: str, model_id: str, source_id: str) -> None:
        old = self.aliases.get(alias)
        if old is not None and old[0] != model_id:
            raise BuildError(f"alias {alias!r} maps to {old[0]!r} and {model_id!r}")
        if old is None:
            self.aliases[alias] = (model_id, source_id)

    # -- facts ---------------------------------------------------------------------------
    def add_score(
        self,
        model_id: str,
        benchmark: str,
        metric: str,
        n_shots: int,
        value: float,
        source_id: str,
        stderr: float | None = None,
        harness: str | None = None,
        harness_version: str | None = None,
        n_samples: int | None = None,
    ) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise BuildError(f"score {model_id}/{benchmark}/{source_id} = {value} outside [0, 1]")
        if benchmark not in self.benchmarks:
            raise BuildError(f"score for unknown benchmark {benchmark!r}")
        key = (model_id, benchmark, metric, int(n_shots), source_id)
        row = dict(
            model_id=model_id,
            benchmark=benchmark,
            metric=metric,
            n_shots=int(n_shots),
            value=value,
            stderr=stderr,
            n_samples=n_samples,
            source_id=source_id,
            harness=harness,
            harness_version=harness_version,
            evaluated_at=None,
        )
        old = self.scores.get(key)
        if old is not None and old["value"] != value:
            raise BuildError(f"two values for score {key}: {old['value']} and {value}")
        self.scores[key] = row

    def add_loss(
        self, model_id: str, dataset: str, value: float, unit: str, source_id: str, tokens_seen: float | None = None
    ) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        key = (model_id, dataset, unit, source_id)
        row = dict(
            model_id=model_id,
            dataset=dataset,
            value=float(value),
            unit=unit,
            tokens_seen=tokens_seen,
            source_id=source_id,
        )
        old = self.losses.get(key)
        if old is not None and old["value"] != row["value"]:
            raise BuildError(f"two values for loss {key}")
        self.losses[key] = row

    # -- output ----------------------------------------------------------------------------
    def tables(self) -> dict[str, list[dict]]:
        return {
            "sources": list(self.sources.values()),
            "benchmarks": list(self.benchmarks.values()),
            "families": list(self.families.values()),
            "models": list(self.models.values()),
            "model_aliases": [dict(alias=a, model_id=m, source_id=s) for a, (m, s) in self.aliases.items()],
            "scores": list(self.scores.values()),
            "losses": list(self.losses.values()),
        }


def render_csv(table: str, rows: list[dict]) -> bytes:
    """The CSV text of a table: rows sorted by the table's key, fixed columns and formatting."""
    columns = COLUMNS[table]
    keys = SORT_KEYS[table]
    rows = sorted(rows, key=lambda r: tuple(fmt(r[k]) if not isinstance(r[k], int) else f"{r[k]:020d}" for k in keys))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([fmt(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def check_rendered(rendered: dict[str, bytes]) -> None:
    """The loader's own checks (obslaws.registry_check) on the files about to be written.

    Raises ValidationError naming the file, row and field, so a build never writes a registry
    that ``obslaws init`` would refuse.
    """
    check_tables({table: read_table(data, table) for table, data in rendered.items()})


def write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def read_hand_csv(path: Path) -> list[dict[str, str]]:
    """A hand-kept CSV as dicts of strings (empty string = NULL); comment lines start with #."""
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))
