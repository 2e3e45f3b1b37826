"""A batch of rows from many inputs, written with one upsert per table in one transaction.

Ingestors parse in Python and append plain values here (column lists, not one dict per row:
a 10,000-file ingest appends millions of scores); :meth:`Batch.write` turns each table into one
polars frame and upserts it. Models, families, benchmarks and aliases that a batch needs are
created here, consistently with what the database already holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from obslaws.errors import StoreError
from obslaws.ingest.names import ModelName, family_from_name, organization, variant_from_name
from obslaws.ingest.resolve import ModelResolver
from obslaws.ingest.task_map import TaskMap
from obslaws.ingest.types import IngestReport
from obslaws.store import WriteStats, transaction, upsert
from obslaws.store.columns import given_columns, schema
from obslaws.store.integrity import check_written
from obslaws.store.query import registered
from obslaws.store.upsert import primary_key
from obslaws.store.views import rebuild_score_matrix

# The columns each table's rows carry here, in the order ``Batch.extend`` takes them (types from
# the column spec). A column left out is never written: NULL or its default when a row is
# inserted, kept as it is when a row is updated (models: see fill_model).
COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": given_columns("sources"),
    "families": given_columns("families", leave_out=("domain",)),  # the registry's alone (domains.py)
    "benchmarks": given_columns("benchmarks", leave_out=("n_items",)),
    "models": (
        "model_id",
        "family",
        "variant",
        "base_model",
        "organization",
        "params_total",
        "checkpoint_of",
        "step",
        "license",
        "source_id",
    ),
    "model_aliases": given_columns("model_aliases"),
    "scores": given_columns("scores"),
    # The order lm_eval_results.emit appends its loss tuples in.
    "losses": ("model_id", "dataset", "value", "unit", "stderr", "n_shots", "tokens_seen", "source_id"),
    "eval_runs": given_columns("eval_runs"),
    "eval_cache": given_columns("eval_cache"),
    "model_datasets": given_columns("model_datasets"),
}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {table: schema(table, names) for table, names in COLUMNS.items()}
# Referenced tables first.
ORDER = (
    "sources",
    "families",
    "benchmarks",
    "models",
    "model_aliases",
    "scores",
    "losses",
    "eval_runs",
    "eval_cache",
    "model_datasets",
)
# References of the tables migration 004 adds (check_integrity covers the others).


def finite(value: Any) -> float | None:
    """A float, or None for missing, 'N/A', NaN and infinities."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Batch:
    """Rows to write together. Create one per transaction; the resolver carries across batches."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, task_map: TaskMap, resolver: ModelResolver | None = None):
        self.conn = conn
        self.task_map = task_map
        self.resolver = resolver or ModelResolver(conn)
        self.columns: dict[str, dict[str, list[Any]]] = {t: {c: [] for c in s} for t, s in SCHEMAS.items()}
        self.model_fills: dict[str, dict[str, Any]] = {}
        self.puts: list[tuple[str, dict[str, Any]]] = []
        # Benchmarks the database or this batch holds (read-only outside Batch: see benchmark()).
        self.benchmarks = {b for (b,) in conn.execute("SELECT benchmark FROM benchmarks").fetchall()}
        self._aliases_added: set[str] = set()

    # -- generic -----------------------------------------------------------------------------
    def row(self, table: str, **values: Any) -> None:
        for column, values_list in self.columns[table].items():
            values_list.append(values.get(column))

    def extend(self, table: str, rows: list[tuple]) -> None:
        """Append rows given as tuples in the table's column order (see SCHEMAS): the fast path."""
        if rows:
            for values, column in zip(self.columns[table].values(), zip(*rows, strict=True), strict=True):
                values.extend(column)

    def rows(self, table: str) -> int:
        first = next(iter(self.columns[table].values()))
        return len(first)

    # -- sources, benchmarks, models -------------------------------------------------------------
    def source(
        self,
        source_id: str,
        kind: str,
        citation: str,
        *,
        url: str | None = None,
        license: str | None = None,
        retrieved: date | None = None,
        sha256: str | None = None,
    ) -> str:
        self.row(
            "sources",
            source_id=source_id,
            kind=kind,
            citation=citation,
            url=url,
            license=license,
            retrieved=retrieved,
            sha256=sha256,
        )
        return source_id

    def benchmark(self, benchmark: str, metric: str, n_shots: int) -> None:
        """Register an unknown benchmark with the metric and shots of its first run."""
        if benchmark in self.benchmarks:
            return
        self.benchmarks.add(benchmark)
        mapping = self.task_map.mapping_for(benchmark)
        description = (mapping.description if mapping else None) or (
            f"Registered by an ingest from the lm-evaluation-harness task {benchmark!r} "
            f"(headline: the first run's metric and shots)."
        )
        self.row(
            "benchmarks",
            benchmark=benchmark,
            metric=metric,
            n_shots=n_shots,
            chance=self.task_map.chance(benchmark),
            description=description,
        )

    def model(
        self,
        name: ModelName,
        source_id: str,
        *,
        aliases: Iterable[str] = (),
        family: str | None = None,
        family_group: str | None = None,
        variant: str | None = None,
        base_model: str | None = None,
        params_total: float | None = None,
        license: str | None = None,
    ) -> str:
        """The canonical id of ``name``, creating the model (and its family) when new.

        Every spelling in ``aliases`` (and ``name`` itself) that is not yet an alias becomes one; a new
        family joins ``family_group`` (default: a group of its own).
        Existing models are never changed here (see :meth:`fill_model`).
        """
        model_id, exists = self.resolver.resolve(name)
        if not exists:
            base_id = None
            base_family = None
            if name.revision is not None:
                base_id, _ = self.resolver.resolve(ModelName(name.name))
                base_family = self.resolver.model_family.get(base_id)
            fam = family or base_family or family_from_name(model_id)
            fam = self.resolver.existing_family(fam) or fam
            if fam not in self.resolver.families:
                group = family_group or fam
                self.resolver.add_family(fam, group)
                self.row("families", family=fam, family_group=group, organization=organization(model_id))
            self.row(
                "models",
                model_id=model_id,
                family=fam,
                variant=variant or variant_from_name(model_id, base_model),
                base_model=base_model,
                organization=organization(model_id),
                params_total=params_total if params_total and params_total > 0 else None,
                checkpoint_of=base_id,
                step=name.step,
                license=license,
                source_id=source_id,
            )
            self.resolver.add_model(model_id, fam)
        for alias in (name.full, *aliases):
            if alias and alias not in self.resolver.exact and alias not in self._aliases_added:
                self._aliases_added.add(alias)
                self.resolver.add_alias(alias, model_id)
                self.row("model_aliases", alias=alias, model_id=model_id, source_id=source_id)
        return model_id

    def fill_model(self, model_id: str, **fields: Any) -> None:
        """Set fields of a model where the database holds NULL (never overwrite curated values)."""
        wanted = {k: v for k, v in fields.items() if v is not None}
        if wanted:
            self.model_fills.setdefault(model_id, {}).update(wanted)

    def put(self, table: str, **values: Any) -> None:
        """A curated row (a refresh plan's model facts), written over what the database holds.

        Only the columns given change; rows are written in the order put, after the rest.
        """
        self.puts.append((table, values))

    # -- facts ---------------------------------------------------------------------------------
    def score(
        self,
        model_id: str,
        benchmark: str,
        metric: str,
        n_shots: int,
        value: float,
        source_id: str,
        *,
        stderr: float | None = None,
        n_samples: int | None = None,
        harness: str | None = None,
        harness_version: str | None = None,
        evaluated_at: datetime | None = None,
    ) -> None:
        self.benchmark(benchmark, metric, n_shots)
        self.row(
            "scores",
            model_id=model_id,
            benchmark=benchmark,
            metric=metric,
            n_shots=n_shots,
            value=value,
            stderr=stderr,
            n_samples=n_samples,
            source_id=source_id,
            harness=harness,
            harness_version=harness_version,
            evaluated_at=evaluated_at,
        )

    def loss(
        self,
        model_id: str,
        dataset: str,
        value: float,
        unit: str,
        source_id: str,
        *,
        stderr: float | None = None,
        n_shots: int | None = None,
        tokens_seen: float | None = None,
    ) -> None:
        self.row(
            "losses",
            model_id=model_id,
            dataset=dataset,
            value=value,
            unit=unit,
            stderr=stderr,
            n_shots=n_shots,
            tokens_seen=tokens_seen,
            source_id=source_id,
        )

    # -- writing -------------------------------------------------------------------------------
    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            table: pl.DataFrame(self.columns[table], schema=SCHEMAS[table], strict=False)
            for table in ORDER
            if self.rows(table)
        }

    def _fill_frames(self) -> list[pl.DataFrame]:
        """One single-row frame per model to fill, with only the columns still NULL in the database."""
        out = []
        for model_id, fields in self.model_fills.items():
            cols = list(fields)
            rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM models WHERE model_id = ?", [model_id]).fetchall()
            current = dict(zip(cols, rows[0], strict=True)) if rows else {}
            missing = {k: v for k, v in fields.items() if current.get(k) is None}
            if missing:
                out.append(pl.DataFrame([{"model_id": model_id, **missing}]))
        return out

    def write(self, report: IngestReport) -> None:
        """Upsert every table in one transaction, check references, rebuild score_matrix if needed."""
        frames = self.frames()
        new_benchmarks = 0
        self.conn.execute("SET enable_progress_bar = false")
        with transaction(self.conn):
            known = self._known_sources(frames.get("sources"))
            for table, frame in frames.items():
                if table in FACT_TABLES:
                    stats = _insert_or_upsert(self.conn, table, frame, known)
                else:
                    stats = upsert(self.conn, table, frame)
                new_benchmarks += stats.added if table == "benchmarks" else 0
                report.add(table, stats)
            later = [("models", frame) for frame in self._fill_frames()]
            later += [(table, pl.DataFrame([row], schema=schema(table, row))) for table, row in self.puts]
            for table, frame in later:
                report.add(table, upsert(self.conn, table, frame))
            check_written(self.conn, [*frames.items(), *later])
            if new_benchmarks:
                rebuild_score_matrix(self.conn)

    def _known_sources(self, sources: pl.DataFrame | None) -> set[str]:
        """Source ids of this batch that the database already holds (before this batch's write)."""
        if sources is None:
            return set()
        with registered(self.conn, "_batch_sources", sources.select("source_id")):
            rows = self.conn.execute(
                "SELECT s.source_id FROM sources s JOIN _batch_sources b USING (source_id)"
            ).fetchall()
        return {r[0] for r in rows}


# Tables whose key includes source_id: a source new to the database cannot have rows in them yet,
# so its rows are inserted without the anti-join an upsert needs (the join with a large table is
# what an upsert spends its time on). Rows of known sources are upserted as usual.
FACT_TABLES = frozenset({"scores", "losses", "eval_runs"})


def _insert_or_upsert(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, known: set[str]) -> WriteStats:
    keys = primary_key(conn, table)
    frame = frame.unique(subset=keys, keep="last", maintain_order=True)
    is_known = pl.col("source_id").is_in(list(known))
    stats = upsert(conn, table, frame.filter(is_known)) if known else WriteStats()
    fresh = frame.filter(~is_known) if known else frame
    if fresh.height:
        with registered(conn, f"_fresh_{table}", fresh) as view:
            cols = ", ".join(f'"{c}"' for c in fresh.columns)
            try:
                conn.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {view}')
            except duckdb.Error as exc:
                raise StoreError(f"writing {table}: {exc}") from exc
        stats.added += fresh.height
    return stats
