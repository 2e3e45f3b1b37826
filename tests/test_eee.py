"""Every Eval Ever: ingest the shared EEE files, export our scores, ingest them back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import obslaws
from obslaws.export_eee import export_eee
from obslaws.ingest.context import IngestContext
from obslaws.ingest.eee import ingest_eee
from obslaws.ingest.eee_schema import validation_errors

EEE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "every-eval-ever-2026-02"
HELM_MMLU = EEE / "data" / "helm_mmlu"
KEY = "SELECT model_id, benchmark, metric, n_shots, value FROM scores WHERE source_id LIKE 'eee:%'"


@pytest.fixture
def seeded(registry_db: Path) -> Path:
    """A database with the registry loaded (so names can match), copied per test."""
    return registry_db


def fresh(seeded: Path, tmp_path: Path, name: str):  # noqa: ANN201 - a DuckDB connection
    target = tmp_path / name
    shutil.copy(seeded, target)
    return obslaws.connect(target, plugins=False)


@pytest.fixture(scope="module")
def ingested(registry_db: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (path, report)
    """The shared EEE folder ingested once into a copy of the registry database."""
    path = tmp_path_factory.mktemp("eee") / "ingested.duckdb"
    shutil.copy(registry_db, path)
    conn = obslaws.connect(path, plugins=False)
    report = ingest_eee(IngestContext(conn), [EEE])
    conn.close()
    return path, report


def count_results(folder: Path) -> tuple[int, int]:
    """(results with a usable score, results HELM marks missing with -1) in the shared files."""
    usable = missing = 0
    for path in folder.rglob("*.json"):
        for result in json.loads(path.read_text())["evaluation_results"]:
            if result["score_details"]["score"] < result["metric_config"].get("min_score", 0):
                missing += 1
            else:
                usable += 1
    return usable, missing


# Live Code Bench Pro retrieved three models twice (gpt-5-2025-08-07, o4-mini-2025-04-16, and
# qwen3-next-80b-a3b-thinking as alibaba/ then aliyun/): 3 results each, the newer retrieval wins.
SUPERSEDED = 9


def test_shared_files_validate_and_ingest_with_models_matched(ingested, tmp_path: Path) -> None:  # noqa: ANN001
    path, report = ingested
    assert report.files == 362
    usable, missing = count_results(EEE / "data")
    superseded = [p for p in report.skipped if p.problem.startswith("superseded by the newer retrieval")]
    assert len(superseded) == SUPERSEDED
    assert len(report.skipped) == missing + SUPERSEDED  # each reported: HELM's -1 placeholders, older retrievals
    conn = fresh(path, tmp_path, "a.duckdb")
    assert conn.execute("SELECT count(*) FROM scores WHERE source_id LIKE 'eee:%'").fetchone()[0] == usable - SUPERSEDED
    matched = set(report.extra["models matched"])
    assert {"Qwen/Qwen1.5-14B", "01-ai/Yi-34B"} <= matched
    row = conn.execute(
        "SELECT value, n_shots FROM scores WHERE model_id = 'Qwen/Qwen1.5-14B' "
        "AND benchmark = 'eee:helm_mmlu/mmlu_all_subjects'"
    ).fetchone()
    assert row[1] == -1 and 0.5 < row[0] < 0.8
    again = ingest_eee(IngestContext(conn), [HELM_MMLU])
    assert again.files == 79 and again.added == 0 and again.updated == 0  # idempotent


def test_a_file_that_fails_the_schema_is_reported_and_skipped(seeded: Path, tmp_path: Path) -> None:
    good = next(HELM_MMLU.rglob("*.json"))
    document = json.loads(good.read_text())
    del document["evaluation_results"][0]["metric_config"]["lower_is_better"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    (tmp_path / "broken.json").write_text("{not json")
    conn = fresh(seeded, tmp_path, "b.duckdb")
    report = ingest_eee(IngestContext(conn), [bad, tmp_path / "broken.json", good])
    assert report.files == 1
    problems = {Path(p.file).name: p.problem for p in report.skipped}
    assert "lower_is_better" in problems["bad.json"] and "eval.schema.json" in problems["bad.json"]
    assert "not readable as JSON" in problems["broken.json"]


def test_round_trip_keeps_every_score(ingested, seeded: Path, tmp_path: Path) -> None:  # noqa: ANN001
    first = fresh(ingested[0], tmp_path, "first.duckdb")
    before = sorted(first.execute(KEY).fetchall())
    out = tmp_path / "export"
    files = 0
    for (source,) in first.execute("SELECT source_id FROM sources WHERE source_id LIKE 'eee:%'").fetchall():
        files += export_eee(first, out, source=source)
    exported = list(out.rglob("*.json"))
    assert len(exported) == files and not any(validation_errors(json.loads(p.read_text())) for p in exported)
    second = fresh(seeded, tmp_path, "second.duckdb")
    report = ingest_eee(IngestContext(second), [out])
    assert report.skipped == []
    after = sorted(second.execute(KEY).fetchall())
    assert after == before


def test_export_carries_training_facts(seeded: Path, tmp_path: Path) -> None:
    conn = fresh(seeded, tmp_path, "c.duckdb")
    export_eee(conn, tmp_path / "out", source="swallow-leaderboard-2026-06")
    path = next((tmp_path / "out").rglob("*Qwen3-8B-Base*.json"))
    details = json.loads(path.read_text())["model_info"]["additional_details"]
    assert details["tokens"] == "36000000000000.0" and details["release_date"] == "2025-04-29"
    assert float(details["params_total"]) == pytest.approx(8.2e9)


def test_an_export_ingested_into_an_empty_database_keeps_families(seeded: Path, tmp_path: Path) -> None:
    """The family and family group travel too: a family hold-out on the re-ingested scores holds out the same groups."""
    conn = fresh(seeded, tmp_path, "c.duckdb")
    export_eee(conn, tmp_path / "out", source="swallow-leaderboard-2026-06")
    facts = (
        "SELECT model_id, family, family_group, params_total, tokens, release_date"
        " FROM models JOIN families USING (family)"
    )
    exported = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT model_id FROM scores WHERE source_id = 'swallow-leaderboard-2026-06'"
        ).fetchall()
    }
    before = sorted(row for row in conn.execute(facts).fetchall() if row[0] in exported)
    empty = obslaws.connect(tmp_path / "empty.duckdb", plugins=False)
    report = ingest_eee(IngestContext(empty), [tmp_path / "out"])
    assert report.skipped == []
    after = sorted(empty.execute(facts).fetchall())
    assert len(after) == len(before) > 50
    assert after == before
