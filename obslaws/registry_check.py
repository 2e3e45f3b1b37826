"""Reading and checking the curated seed's CSV files: the one validation the loader and the builder share.

:func:`read_table` parses one ``registry/<table>.csv`` with the types of the column spec
(:mod:`obslaws.store.columns`); :func:`check_tables` applies the rules a curated row must meet.
Both name the file, row (1 = header) and field of the first problem. The loader
(:func:`obslaws.registry.load_registry`) runs them on the files it loads, and the builder
(``scripts/build_registry.py``) on the files it is about to write, so a build never writes a seed
the loader would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from obslaws.csv_rows import read_text_csv
from obslaws.errors import ValidationError
from obslaws.store.columns import registry_columns, required_columns, schema

VARIANTS = ("base", "instruct", "finetune", "merge")
# families.domain: what a family was trained on beyond general text (NULL = a general model).
DOMAINS = ("code", "math")
# Below these a size is almost surely in billions / trillions / 1e21 units, not a count.
UNIT_FLOORS = {"params_total": 1e5, "params_active": 1e5, "params_non_embedding": 1e4, "tokens": 1e6, "flops": 1e12}
# Tables whose key other tables refer to, and that key.
KEYS = {"families": "family", "benchmarks": "benchmark", "models": "model_id", "sources": "source_id"}


def registry_schema(table: str) -> dict[str, pl.DataType]:
    """The columns of ``registry/<table>.csv`` and their types."""
    return schema(table, registry_columns(table))


def _kind(dtype: pl.DataType) -> str:
    if dtype == pl.Date:
        return "date (YYYY-MM-DD)"
    return "timestamp" if dtype == pl.Datetime else str(dtype)


def _parse(raw: pl.DataFrame, types: Mapping[str, pl.DataType]) -> pl.DataFrame:
    parsed = []
    for column, dtype in types.items():
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
    return raw.select(parsed)


def read_table(source: Path | bytes, table: str, name: str | None = None) -> pl.DataFrame:
    """One registry CSV (a file, or its bytes), read as text and then parsed column by column.

    Raises
    ------
    ValidationError
        Naming ``name`` (default the file's name), the row and the field: a row with more or
        fewer fields than the header, a required column missing from the header, an unknown
        column, a value that does not parse, an empty required value.
    """
    name = name or (source.name if isinstance(source, Path) else f"{table}.csv")
    try:
        raw = read_text_csv(source, name)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationError(name, None, None, f"cannot read CSV: {exc}") from exc
    types, required = registry_schema(table), required_columns(table)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise ValidationError(name, None, missing[0], "column missing from the header")
    unknown = [c for c in raw.columns if c not in types]
    if unknown:
        raise ValidationError(name, None, unknown[0], f"unknown column (known: {', '.join(types)})")
    raw = raw.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in raw.columns)
    out = _parse(raw, types)
    for column in out.columns:
        bad = raw[column].is_not_null() & out[column].is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ValidationError(name, row + 2, column, f"cannot parse {raw[column][row]!r} as {_kind(types[column])}")
    for column in required:
        nulls = out[column].is_null()
        if nulls.any():
            raise ValidationError(name, int(nulls.arg_true()[0]) + 2, column, "required value is empty")
    return out


def _first(mask: pl.Series) -> int | None:
    """The CSV row (1 = header) of the first True, or None."""
    return int(mask.arg_true()[0]) + 2 if mask.any() else None


def _fail_at(file: str, mask: pl.Series, field: str, problem: str, values: pl.Series | None = None) -> None:
    """Raise for the first row where ``mask`` holds; ``{value}`` in ``problem`` is that row's value."""
    row = _first(mask)
    if row:
        value = values[row - 2] if values is not None else None
        raise ValidationError(file, row, field, problem.format(value=value))


def _check_models(models: pl.DataFrame, families: set[str], model_ids: set[str]) -> None:
    file = "models.csv"
    _fail_at(file, ~models["variant"].is_in(VARIANTS), "variant", f"must be one of {', '.join(VARIANTS)}")
    family = models["family"]
    problem = "unknown family {value!r} (add it to families.csv)"
    _fail_at(file, ~family.is_in(list(families)), "family", problem, family)
    base = models["checkpoint_of"]
    problem = "checkpoint of unknown model {value!r}"
    _fail_at(file, base.is_not_null() & ~base.is_in(list(model_ids)), "checkpoint_of", problem, base)
    no_size = models["params_total"].is_null() & models["params_active"].is_null()
    missing = no_size & base.is_null() & models["tokens"].is_not_null()
    _fail_at(file, missing, "params_total", "missing size: tokens given but no parameters")
    for column, floor in UNIT_FLOORS.items():
        values = models[column]
        _fail_at(file, values.is_not_null() & (values <= 0), column, "size must be positive, got {value}", values)
        problem = "{value:g} looks like a size in billions or trillions; give plain counts (7e9, not 7)"
        _fail_at(file, values.is_not_null() & (values < floor), column, problem, values)
    active, total = models["params_active"], models["params_total"]
    bad = active.is_not_null() & total.is_not_null() & (active > total * 1.0001)
    _fail_at(file, bad, "params_active", "active parameters exceed the total")


def _check_facts(table: str, frame: pl.DataFrame, known: Mapping[str, set[str]]) -> None:
    file, models, values = f"{table}.csv", frame["model_id"], frame["value"]
    _fail_at(file, ~models.is_in(list(known["models"])), "model_id", "unknown model {value!r}", models)
    if table == "scores":
        benchmarks = frame["benchmark"]
        problem = "unknown benchmark {value!r} (add it to benchmarks.csv)"
        _fail_at(file, ~benchmarks.is_in(list(known["benchmarks"])), "benchmark", problem, benchmarks)
        bad = (values < 0) | (values > 1) | values.is_nan()
        _fail_at(file, bad, "value", "score {value} outside [0, 1]", values)
    else:
        _fail_at(file, values.is_nan() | values.is_infinite(), "value", "loss is not a finite number")


def _check_references(frames: Mapping[str, pl.DataFrame], known: Mapping[str, set[str]]) -> None:
    sources = list(known["sources"])
    for table, frame in frames.items():
        for column in ("source_id", "release_date_source"):
            if column in frame.columns:
                values = frame[column]
                problem = "unknown source {value!r} (add it to sources.csv)"
                _fail_at(f"{table}.csv", values.is_not_null() & ~values.is_in(sources), column, problem, values)
    if "model_aliases" in frames:
        aliases, file = frames["model_aliases"], "model_aliases.csv"
        models = aliases["model_id"]
        _fail_at(file, ~models.is_in(list(known["models"])), "model_id", "unknown model {value!r}", models)
        _fail_at(file, aliases["alias"].is_duplicated(), "alias", "alias maps to more than one model")


def check_tables(frames: Mapping[str, pl.DataFrame], known: Mapping[str, set[str]] | None = None) -> None:
    """Check registry tables (as :func:`read_table` gives them) against each other and ``known``.

    ``known`` maps ``families``, ``benchmarks``, ``models`` and ``sources`` to the keys a
    database already holds (rows may refer to them); default none.

    Raises
    ------
    ValidationError
        The first problem, naming the CSV file, row (1 = header) and field.
    """
    known = {table: set((known or {}).get(table, set())) for table in KEYS}
    for table, key in KEYS.items():
        if table in frames:
            known[table] |= set(frames[table][key].to_list())
    if "benchmarks" in frames:
        chance = frames["benchmarks"]["chance"]
        _fail_at("benchmarks.csv", (chance < 0) | (chance >= 1), "chance", "chance level must be in [0, 1)")
    if "families" in frames and "domain" in frames["families"].columns:
        domain = frames["families"]["domain"]
        problem = f"{{value!r}} is not one of {', '.join(DOMAINS)} (empty for a general model)"
        _fail_at("families.csv", domain.is_not_null() & ~domain.is_in(DOMAINS), "domain", problem, domain)
    if "models" in frames:
        _check_models(frames["models"], known["families"], known["models"])
    for table in ("scores", "losses"):
        if table in frames:
            _check_facts(table, frames[table], known)
    _check_references(frames, known)
