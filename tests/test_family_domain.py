"""families.domain (migration 010): code- and math-specialised families, from the registry to FitData.models."""

from __future__ import annotations

import polars as pl
import pytest
from test_migration_sets import _old_database
from test_registry_loader import write_registry

import obslaws
from obslaws.data import FitData
from obslaws.errors import ValidationError
from obslaws.fitting.store import hypothetical_models
from obslaws.ingest.context import IngestContext
from obslaws.ingest.model_facts import ingest_model_facts
from obslaws.ingest.names import model_name
from obslaws.ingest.types import IngestReport
from obslaws.registry import load_registry
from obslaws.store.migrations import applied_steps
from obslaws.store.query import read_frame
from obslaws.store.read import load_fit_data

# The code-specialised families of the registry (their sources: scripts/registry_build/domains.py).
CODE_FAMILIES = {
    "code-davinci-002",
    "codellama",
    "codellama-instruct",
    "codeqwen1.5",
    "deepseek-coder-base",
    "deepseek-coder-v2-base",
    "deepseek-coder-v2-instruct",
    "deepseek-coder-v2-lite-base",
    "deepseek-coder-v2-lite-instruct",
    "gpt-5-codex",
    "grok-code-fast-1",
    "ling-coder-base",
    "opencoder-base",
    "qwen2.5-coder",
    "qwen2.5-coder-instruct",
    "qwen3-coder-a35b-instruct",
    "seed-coder-base",
    "starcoder2",
    "starcoderbase",
}
FAMILIES_WITH_DOMAIN = "family,family_group,organization,description,domain\nfam,fam,Org,,code\nfam-chat,fam,Org,,\n"


def _domains(data: FitData) -> dict[str, str | None]:
    return dict(zip(data.models["model_id"].to_list(), data.models["domain"].to_list(), strict=True))


def test_the_registry_marks_code_families_and_fitters_read_them(registry_db):
    conn = obslaws.connect(registry_db, read_only=True, plugins=False)
    domains = dict(conn.execute("SELECT family, domain FROM families").fetchall())
    assert {family for family, domain in domains.items() if domain == "code"} == CODE_FAMILIES
    assert set(domains.values()) <= {None, "code", "math"}
    assert domains["codegen-nl"] is None  # CodeGen's natural-language models: the Pile, not code
    by_model = _domains(load_fit_data(conn))
    conn.close()
    assert by_model["codellama/CodeLlama-7b-hf"] == "code"
    assert by_model["bigcode/starcoder2-15b"] == "code"
    assert by_model["meta-llama/Llama-2-7b-hf"] is None


def test_a_database_from_before_010_gets_a_null_domain_that_the_registry_fills(tmp_path, registry_db):
    path = tmp_path / "before010.duckdb"
    _old_database(path, registry_db)  # migrations 001-009, with the registry's rows
    conn = obslaws.connect(path, plugins=False)
    assert ("obslaws", 10) in applied_steps(conn)
    families = read_frame(conn, "SELECT family, domain FROM families")
    assert families.height > 300 and families["domain"].null_count() == families.height
    columns = read_frame(conn, "SELECT * EXCLUDE (is_checkpoint) FROM model_features LIMIT 0").columns
    assert columns[:5] == ["model_id", "family", "family_group", "domain", "variant"]
    assert _domains(load_fit_data(conn))["codellama/CodeLlama-7b-hf"] is None

    report = load_registry(conn)  # what `obslaws init` does on the upgraded file
    marked = conn.execute("SELECT count(*) FROM families WHERE domain IS NOT NULL").fetchall()[0][0]
    assert report.tables["families"].updated == marked >= len(CODE_FAMILIES)
    assert not any(stats.updated or stats.added for table, stats in report.tables.items() if table != "families")
    assert _domains(load_fit_data(conn))["codellama/CodeLlama-7b-hf"] == "code"
    conn.close()


def test_a_bad_domain_is_refused_naming_file_row_and_field(tmp_path):
    conn = obslaws.connect(":memory:", plugins=False)
    bad = FAMILIES_WITH_DOMAIN.replace("Org,,\n", "Org,,cod\n")
    expected = r"families\.csv, row 3, field 'domain': 'cod' is not one of code, math"
    with pytest.raises(ValidationError, match=expected):
        load_registry(conn, write_registry(tmp_path / "bad", families=bad))
    assert conn.execute("SELECT count(*) FROM families").fetchall() == [(0,)]


def test_ingests_leave_the_domain_to_the_registry(tmp_path):
    conn = obslaws.connect(":memory:", plugins=False)
    load_registry(conn, write_registry(tmp_path / "reg", families=FAMILIES_WITH_DOMAIN))
    batch = IngestContext(conn).batch()  # a results file of a model of a new family
    batch.source("run", "lm_eval_run", "a results file")
    batch.model(model_name("acme/NewLM-7B"), "run")
    batch.write(IngestReport())
    # A refresh plan's facts rewrite the code family's row (family, group): its domain stays.
    facts = [("org/fam-7b", {"family": "fam", "family_group": "fam"})]
    ingest_model_facts(IngestContext(conn), facts, source_id="plan", citation="a refresh plan")
    domains = dict(conn.execute("SELECT family, domain FROM families").fetchall())
    assert domains == {"fam": "code", "fam-chat": None, "newlm": None}
    assert _domains(load_fit_data(conn)) == {
        "acme/NewLM-7B": None,
        "org/fam-1b": "code",
        "org/fam-7b": "code",
        "org/fam-7b-chat": None,  # family fam-chat: no domain in this registry
    }


def test_frames_without_a_domain_get_a_null_one_and_hypothetical_models_carry_it():
    data = FitData.build(pl.DataFrame({"model_id": ["m"], "params": [1e9]}))
    assert data.models.schema["domain"] == pl.String and data.models["domain"].to_list() == [None]
    frame = hypothetical_models(params=7e9, tokens=5e11, family="codellama", domain="code")
    assert FitData.build(frame).models["domain"].to_list() == ["code"]
