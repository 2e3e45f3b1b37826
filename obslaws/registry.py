"""Loading the curated seed (`registry/`, shipped with the package) into the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from obslaws.errors import ValidationError
from obslaws.store import WriteStats, transaction, upsert
from obslaws.store.integrity import check_integrity
from obslaws.store.views import rebuild_score_matrix

# Load order: referenced tables first.
TABLES = ("sources", "families", "benchmarks", "models", "model_aliases", "scores", "losses")
VARIANTS = ("base", "instruct", "finetune", "merge")
SIZE_FIELDS = ("params_total", "params_active", "params_non_embedding")
# Below these a size is almost surely in billions / trillions / 1e21 units, not a count.
UNIT_FLOORS = {"params_total": 1e5, "params_active": 1e5, "params_non_embedding": 1e4, "tokens": 1e6, "flops": 1e12}

_SCHEMA: dict[str, dict[str, pl.DataType]] = {
    "sources": {
        "source_id": pl.String,
        "kind": pl.String,
        "citation": pl.String,
        "url": pl.String,
        "license": pl.String,
        "retrieved": pl.Date,
        "sha256": pl.String,
        "priority": pl.Int64,
    },
    "families": {"family": pl.String, "family_group": pl.String, "organization": pl.String, "description": pl.String},
    "benchmarks": {
        "benchmark": pl.String,
        "metric": pl.String,
        "n_shots": pl.Int64,
        "chance": pl.Float64,
        "n_items": pl.Int64,
        "description": pl.String,
    },
    "models": {
        "model_id": pl.String,
        "family": pl.String,
        "variant": pl.String,
        "base_model": pl.String,
        "organization": pl.String,
        "params_total": pl.Float64,
        "params_active": pl.Float64,
        "params_non_embedding": pl.Float64,
        "tokens": pl.Float64,
        "flops": pl.Float64,
        "flops_basis": pl.String,
        "release_date": pl.Date,
        "release_date_source": pl.String,
        "checkpoint_of": pl.String,
        "step": pl.Int64,
        "license": pl.String,
        "source_id": pl.String,
    },
    "model_aliases": {"alias": pl.String, "model_id": pl.String, "source_id": pl.String},
    "scores": {
        "model_id": pl.String,
        "benchmark": pl.String,
        "metric": pl.String,
        "n_shots": pl.Int64,
        "value": pl.Float64,
        "stderr": pl.Float64,
        "n_samples": pl.Int64,
        "source_id": pl.String,
        "harness": pl.String,
        "harness_version": pl.String,
        "evaluated_at": pl.Datetime,
    },
    "losses": {
        "model_id": pl.String,
        "dataset": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
        "tokens_seen": pl.Float64,
        "source_id": pl.String,
    },
}
_REQUIRED = {
    "sources": ("source_id", "kind", "citation"),
    "families": ("family", "family_group"),
    "benchmarks": ("benchmark", "metric", "n_shots", "chance"),
    "models": ("model_id", "family", "variant", "source_id"),
    "model_aliases": ("alias", "model_id"),
    "scores": ("model_id", "benchmark", "metric", "n_shots", "value", "source_id"),
    "losses": ("model_id", "dataset", "value", "unit", "source_id"),
}


def registry_dir() -> Path:
    """The registry shipped with the package (wheel), else the source tree's `registry/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_registry", here.parent / "registry"):
        if (candidate / "models.csv").exists():
            return candidate
    raise ValidationError(str(here.parent / "registry"), None, None, "registry files not found")


@dataclass
class LoadReport:
    tables: dict[str, WriteStats] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(s.added or s.updated for s in self.tables.values())


def _read(path: Path, table: str) -> pl.DataFrame:
    """Read one CSV as text, then parse each column, naming the first bad row and field."""
    name = path.name
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationError(name, None, None, f"cannot read CSV: {exc}") from exc
    schema = _SCHEMA[table]
    missing = [c for c in _REQUIRED[table] if c not in raw.columns]
    if missing:
        raise ValidationError(name, None, missing[0], "column missing from the header")
    unknown = [c for c in raw.columns if c not in schema]
    if unknown:
        raise ValidationError(name, None, unknown[0], f"unknown column (known: {', '.join(schema)})")
    raw = raw.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in raw.columns)
    parsed = []
    for column, dtype in schema.items():
        if column not in raw.columns:
            continue
        text = pl.col(column)
        if dtype == pl.Date:
            expr = text.str.to_date("%Y-%m-%d", strict=False)
        elif dtype == pl.Datetime:
            expr = text.str.to_datetime(strict=False)
        else:
            expr = text.cast(dtype, strict=False)
        parsed.append(expr.alias(column))
    out = raw.select(parsed)
    for column in out.columns:
        bad = raw[column].is_not_null() & out[column].is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            kind = {pl.Date: "date (YYYY-MM-DD)", pl.Datetime: "timestamp"}.get(schema[column], str(schema[column]))
            raise ValidationError(name, row + 2, column, f"cannot parse {raw[column][row]!r} as {kind}")
    for column in _REQUIRED[table]:
        nulls = out[column].is_null()
        if nulls.any():
            raise ValidationError(name, int(nulls.arg_true()[0]) + 2, column, "required value is empty")
    return out


def _first(mask: pl.Series) -> int | None:
    return int(mask.arg_true()[0]) + 2 if mask.any() else None


def _validate(frames: dict[str, pl.DataFrame], conn: duckdb.DuckDBPyConnection) -> None:
    """Checks that name the CSV file, row (1 = header) and field of the first problem."""
    known = {
        t: set(conn.execute(f"SELECT {k} FROM {t}").pl()[k].to_list())
        for t, k in (
            ("families", "family"),
            ("benchmarks", "benchmark"),
            ("models", "model_id"),
            ("sources", "source_id"),
        )
    }
    if "families" in frames:
        known["families"] |= set(frames["families"]["family"].to_list())
    if "benchmarks" in frames:
        known["benchmarks"] |= set(frames["benchmarks"]["benchmark"].to_list())
        chance = frames["benchmarks"]["chance"]
        row = _first((chance < 0) | (chance >= 1))
        if row:
            raise ValidationError("benchmarks.csv", row, "chance", "chance level must be in [0, 1)")
    if "sources" in frames:
        known["sources"] |= set(frames["sources"]["source_id"].to_list())
    if "models" in frames:
        models = frames["models"]
        known["models"] |= set(models["model_id"].to_list())
        row = _first(~models["variant"].is_in(VARIANTS))
        if row:
            raise ValidationError("models.csv", row, "variant", f"must be one of {', '.join(VARIANTS)}")
        row = _first(~models["family"].is_in(list(known["families"])))
        if row:
            raise ValidationError(
                "models.csv", row, "family", f"unknown family {models['family'][row - 2]!r} (add it to families.csv)"
            )
        no_size = models["params_total"].is_null() & models["params_active"].is_null()
        row = _first(no_size & models["checkpoint_of"].is_null() & models["tokens"].is_not_null())
        if row:
            raise ValidationError("models.csv", row, "params_total", "missing size: tokens given but no parameters")
        for column, floor in UNIT_FLOORS.items():
            values = models[column]
            row = _first(values.is_not_null() & (values <= 0))
            if row:
                raise ValidationError("models.csv", row, column, f"size must be positive, got {values[row - 2]}")
            row = _first(values.is_not_null() & (values < floor))
            if row:
                raise ValidationError(
                    "models.csv",
                    row,
                    column,
                    f"{values[row - 2]:g} looks like a size in billions or trillions; give plain counts (7e9, not 7)",
                )
        active, total = models["params_active"], models["params_total"]
        row = _first(active.is_not_null() & total.is_not_null() & (active > total * 1.0001))
        if row:
            raise ValidationError("models.csv", row, "params_active", "active parameters exceed the total")
    for table, file in (("scores", "scores.csv"), ("losses", "losses.csv")):
        if table not in frames:
            continue
        frame = frames[table]
        row = _first(~frame["model_id"].is_in(list(known["models"])))
        if row:
            raise ValidationError(file, row, "model_id", f"unknown model {frame['model_id'][row - 2]!r}")
        if table == "scores":
            row = _first(~frame["benchmark"].is_in(list(known["benchmarks"])))
            if row:
                raise ValidationError(
                    file,
                    row,
                    "benchmark",
                    f"unknown benchmark {frame['benchmark'][row - 2]!r} (add it to benchmarks.csv)",
                )
            values = frame["value"]
            row = _first((values < 0) | (values > 1) | values.is_nan())
            if row:
                raise ValidationError(file, row, "value", f"score {values[row - 2]} outside [0, 1]")
        else:
            values = frame["value"]
            row = _first(values.is_nan() | values.is_infinite())
            if row:
                raise ValidationError(file, row, "value", "loss is not a finite number")
    for table, frame in frames.items():
        for column in ("source_id", "release_date_source"):
            if column in frame.columns:
                mask = frame[column].is_not_null() & ~frame[column].is_in(list(known["sources"]))
                row = _first(mask)
                if row:
                    raise ValidationError(
                        f"{table}.csv",
                        row,
                        column,
                        f"unknown source {frame[column][row - 2]!r} (add it to sources.csv)",
                    )
    if "model_aliases" in frames:
        aliases = frames["model_aliases"]
        row = _first(~aliases["model_id"].is_in(list(known["models"])))
        if row:
            raise ValidationError(
                "model_aliases.csv", row, "model_id", f"unknown model {aliases['model_id'][row - 2]!r}"
            )
        row = _first(aliases["alias"].is_duplicated())
        if row:
            raise ValidationError("model_aliases.csv", row, "alias", "alias maps to more than one model")


def read_registry(directory: Path | None = None) -> dict[str, pl.DataFrame]:
    directory = directory or registry_dir()
    return {t: _read(directory / f"{t}.csv", t) for t in TABLES if (directory / f"{t}.csv").exists()}


def load_registry(conn: duckdb.DuckDBPyConnection, directory: Path | None = None) -> LoadReport:
    """Validate and load every registry CSV in one transaction (all or nothing, idempotent)."""
    start = time.perf_counter()
    frames = read_registry(directory)
    _validate(frames, conn)
    report = LoadReport()
    with transaction(conn):
        for table in TABLES:
            if table in frames:
                report.tables[table] = upsert(conn, table, frames[table])
        check_integrity(conn)
        if report.tables.get("benchmarks") and report.tables["benchmarks"].added:
            rebuild_score_matrix(conn)
    report.seconds = time.perf_counter() - start
    return report


def summary(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Headline counts of what the database holds."""
    queries = {
        "models (checkpoints counted once)": "SELECT count(*) FROM models WHERE checkpoint_of IS NULL",
        "checkpoints": "SELECT count(*) FROM models WHERE checkpoint_of IS NOT NULL",
        "families": "SELECT count(DISTINCT family) FROM models",
        "family groups": "SELECT count(DISTINCT family_group) FROM model_features",
        "benchmarks": "SELECT count(*) FROM benchmarks",
        "score rows": "SELECT count(*) FROM scores",
        "loss rows": "SELECT count(*) FROM losses",
        "sources": "SELECT count(*) FROM sources",
        "models with a release date": "SELECT count(*) FROM models WHERE release_date IS NOT NULL",
    }
    return {label: conn.execute(sql).fetchall()[0][0] for label, sql in queries.items()}
