"""A refresh plan's model facts go through the ingest path; the refresh reads fit data once per selection."""

from __future__ import annotations

import datetime

import pytest

import obslaws
from obslaws.ingest.context import IngestContext
from obslaws.ingest.model_facts import ingest_model_facts
from obslaws.ingest.names import model_name
from obslaws.ingest.types import IngestReport

SOURCE = {"source_id": "refresh-config:plan.toml", "citation": "model facts given in the refresh plan plan.toml"}


def _ingested(conn, name: str, **fields) -> None:
    """A model as an ingest creates it: family from its name, no size or tokens."""
    batch = IngestContext(conn).batch()
    batch.source("run", "lm_eval_run", "a results file")
    batch.model(model_name(name), "run", **fields)
    batch.write(IngestReport())


def _model(conn, model_id: str) -> dict:
    cursor = conn.execute("SELECT * FROM models WHERE model_id = ?", [model_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_facts_overwrite_resolve_like_ingested_names_and_derive_flops(conn):
    _ingested(conn, "acme/NewLM-7B", params_total=6.5e9)
    facts = [
        ("acme/newlm-7b", {"family": "newlm", "family_group": "llama-2", "params": 7e9}),
        ("ACME/NEWLM-7B", {"tokens": 2e12, "release_date": "2024-05-01", "variant": "instruct"}),
        ("acme/not-yet-13b", {"params": 13e9}),
    ]
    report = ingest_model_facts(IngestContext(conn), facts, **SOURCE)
    assert report.extra["waiting"] == ["acme/not-yet-13b"]
    row = _model(conn, "acme/NewLM-7B")
    assert (row["family"], row["variant"], row["params_total"], row["params_active"]) == (
        "newlm",
        "instruct",
        7e9,
        7e9,
    )
    assert (row["tokens"], row["flops"], row["flops_basis"]) == (2e12, 6 * 7e9 * 2e12, "6*params_active*tokens")
    assert (row["release_date"], row["release_date_source"]) == (datetime.date(2024, 5, 1), SOURCE["source_id"])
    assert conn.execute("SELECT family_group FROM families WHERE family = 'newlm'").fetchall() == [("llama-2",)]
    assert conn.execute("SELECT kind FROM sources WHERE source_id = ?", [SOURCE["source_id"]]).fetchall() == [
        ("refresh_config",)
    ]

    again = ingest_model_facts(IngestContext(conn), facts, **SOURCE)
    assert again.added == 0 and again.updated == 0


def test_a_fact_giving_neither_size_nor_tokens_still_derives_flops_from_the_database(conn):
    _ingested(conn, "acme/old-1b")
    ingest_model_facts(IngestContext(conn), [("acme/old-1b", {"params": 1e9, "tokens": 1e11})], **SOURCE)
    conn.execute("UPDATE models SET flops = 1e20, flops_basis = 'reported' WHERE model_id = 'acme/old-1b'")
    ingest_model_facts(IngestContext(conn), [("acme/old-1b", {"release_date": "2023-01-01"})], **SOURCE)
    assert _model(conn, "acme/old-1b")["flops"] == pytest.approx(6e20)


def test_no_facts_writes_nothing(conn):
    report = ingest_model_facts(IngestContext(conn), [], **SOURCE)
    assert report.tables == {} and conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]


def test_fit_data_is_read_once_per_selection(registry_db, monkeypatch):
    from obslaws.refresh import pipeline
    from obslaws.store import read as store_read

    calls = []
    real = store_read.load_fit_data

    def counting(*args, **kwargs):
        calls.append((args[1:], kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(store_read, "load_fit_data", counting)
    conn = obslaws.connect(registry_db, read_only=True, plugins=False)
    read = pipeline.fit_data_reader(conn)
    first = read(("mmlu", "gsm8k"), "sloth-data-v2")
    assert read(("mmlu", "gsm8k"), "sloth-data-v2", False) is first
    everything = read(("mmlu", "gsm8k"))
    assert everything is not first and everything.models.height > first.models.height
    assert len(calls) == 2
    # A new refresh (a new reader) reads the database again: nothing is kept between refreshes.
    pipeline.fit_data_reader(conn)(("mmlu", "gsm8k"), "sloth-data-v2")
    assert len(calls) == 3
    conn.close()
