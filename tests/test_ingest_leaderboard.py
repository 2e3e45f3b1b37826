"""Open LLM Leaderboard dumps: scale conversion, newest row wins, matching existing models, bad rows."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from conftest import SHARED, requires_shared

import obslaws
from obslaws.errors import ObslawsError
from obslaws.ingest.context import IngestContext
from obslaws.ingest.leaderboard import ingest_leaderboard

OLD = SHARED / "sloth" / "data" / "open-llm-leaderboard_old.csv"
NEW = SHARED / "sloth" / "data" / "open-llm-leaderboard_new.csv"


def _value(conn, model_id: str, benchmark: str, metric: str) -> float:
    rows = conn.execute(
        "SELECT value FROM scores WHERE model_id = ? AND benchmark = ? AND metric = ? "
        "AND source_id LIKE 'leaderboard:%'",
        [model_id, benchmark, metric],
    ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


@requires_shared()
def test_v1_dump_on_the_registry_matches_existing_models(registry_db, tmp_path):
    db = tmp_path / "registry.duckdb"
    shutil.copy(registry_db, db)
    conn = obslaws.connect(db, plugins=False)
    known = {r[0] for r in conn.execute("SELECT model_id FROM models").fetchall()}
    aliases = dict(conn.execute("SELECT lower(alias), model_id FROM model_aliases").fetchall())
    report = ingest_leaderboard(IngestContext(conn), [OLD], format="oll-v1")
    assert report.files == 1 and not report.skipped
    dump = pl.read_csv(OLD, infer_schema=False)
    assert dump.height == 7169
    names = set(dump["Model"].to_list())
    scored = {
        r[0]
        for r in conn.execute("SELECT DISTINCT model_id FROM scores WHERE source_id LIKE 'leaderboard:%'").fetchall()
    }
    matched = {aliases[n.lower()] for n in names if n.lower() in aliases}
    assert len(matched) > 50, "the registry knows many leaderboard models"
    assert matched <= scored, "every model the registry knows is scored under its own id"
    created = scored - known
    assert len(scored) == report.extra["models"][0]
    assert all(c.lower() not in aliases for c in created), "no duplicate of an existing model"
    # One row per model, the newest: Yi-34B-Chat was submitted twice (65.1 on 2023-11-23, 65.44 on 2023-12-04).
    yi = conn.execute("SELECT model_id FROM model_aliases WHERE lower(alias) = lower('01-ai/Yi-34B-Chat')").fetchall()
    assert _value(conn, yi[0][0], "arc_challenge", "acc_norm") == pytest.approx(0.6544)
    fams = conn.execute(
        "SELECT count(*) FROM models m LEFT JOIN families f USING (family) WHERE f.family IS NULL"
    ).fetchall()
    assert fams == [(0,)]
    # Variants from the Type column, for created models.
    variants = dict(
        conn.execute(
            "SELECT variant, count(*) FROM models WHERE source_id LIKE 'leaderboard:%' GROUP BY variant"
        ).fetchall()
    )
    assert set(variants) == {"base", "finetune", "instruct", "merge"}
    again = ingest_leaderboard(IngestContext(conn), [OLD], format="oll-v1")
    assert again.added == 0 and again.updated == 0
    conn.close()


@requires_shared()
def test_v2_dump_raw_and_normalised_scales(conn):
    ingest_leaderboard(IngestContext(conn), [NEW], format="oll-v2")
    model = "dnhkng/RYS-XLarge"  # IFEval 79.96 (raw 0.8), BBH 58.77 (raw 0.71), MATH 38.97 (raw 0.39)
    assert _value(conn, model, "leaderboard_ifeval", "inst_prompt_strict_acc_mean") == pytest.approx(0.7996)
    assert _value(conn, model, "leaderboard_bbh", "acc_norm") == pytest.approx(0.71)
    assert _value(conn, model, "leaderboard_bbh", "oll_v2_normalized") == pytest.approx(0.5877)
    assert _value(conn, model, "leaderboard_math_hard", "exact_match") == pytest.approx(0.3897)
    assert _value(conn, model, "leaderboard_mmlu_pro", "acc") == pytest.approx(0.54)
    row = conn.execute("SELECT params_total, variant, license FROM models WHERE model_id = ?", [model]).fetchall()
    assert row == [(77e9, "instruct", "mit")]
    dump = pl.read_csv(NEW, infer_schema=False)
    assert conn.execute("SELECT count(DISTINCT model_id) FROM scores").fetchall()[0][0] == dump["Model"].n_unique()


@requires_shared()
def test_bad_rows_are_reported_and_case_insensitive_names_match(conn, tmp_path):
    lines = OLD.read_text(encoding="utf-8").splitlines()
    header, first, second = lines[0], lines[1], lines[2]
    name = first.split(",")[1]
    shouted = first.replace(name, name.upper(), 1)
    broken = second.split(",")
    broken[3] = "abc"  # the ARC column
    path = tmp_path / "dump.csv"
    path.write_text("\n".join([header, first, ",".join(broken), shouted]) + "\n", encoding="utf-8")
    report = ingest_leaderboard(IngestContext(conn), [path], format="oll-v1")
    assert [(p.key, p.problem) for p in report.skipped] == [("row 3 ARC", "cannot read 'abc' as a number")]
    assert conn.execute("SELECT model_id FROM models").fetchall() == [(name,)]
    assert conn.execute("SELECT alias FROM model_aliases").fetchall() == [(name.upper(),)]


def test_wrong_format_is_named(conn, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Model,Score\na/b,1\n")
    report = ingest_leaderboard(IngestContext(conn), [path], format="oll-v2")
    assert report.files == 0 and "column 'BBH' missing" in report.skipped[0].problem
    with pytest.raises(ObslawsError, match="unknown leaderboard format"):
        ingest_leaderboard(IngestContext(conn), [path], format="oll-v3")


V1_HEADER = "T,Model,ARC,HellaSwag,MMLU,TruthfulQA,Winogrande,GSM8K,Type,#Params (B),date"


def test_a_row_longer_than_the_header_is_named_by_row(conn, tmp_path):
    """polars refuses the file without saying where; the report names the row."""
    path = tmp_path / "dump.csv"
    path.write_text(
        f"{V1_HEADER}\n"
        "x,org/a-7b,50,70,45,40,70,10,pretrained,7,2024-01-01T00:00:00Z\n"
        "x,org/b-7b,50,70,45,40,70,10,pretrained,7,2024-01-01T00:00:00Z,extra\n"
    )
    report = ingest_leaderboard(IngestContext(conn), [path])
    assert report.files == 0
    assert [(p.key, p.problem) for p in report.skipped] == [
        ("row 3", "12 fields where the header has 11 (an unquoted comma?)")
    ]
    assert conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]


def test_a_row_shorter_than_the_header_is_named_and_nothing_written(conn, tmp_path, cli, db_file):
    """polars reads a short row with the missing columns empty; the ingest used to take it (exit 0)."""
    path = tmp_path / "dump.csv"
    path.write_text(
        f"{V1_HEADER}\nx,org/a-7b,50,70,45,40,70,10,pretrained,7,2024-01-01T00:00:00Z\nx,org/b-7b,50,70,45,40,70,10\n"
    )
    report = ingest_leaderboard(IngestContext(conn), [path])
    assert report.files == 0
    assert [(p.key, p.problem) for p in report.skipped] == [
        ("row 3", "8 fields where the header has 11 (a row cut short?)")
    ]
    assert conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]
    assert cli(["--db", str(db_file), "ingest", "leaderboard", str(path)]) == 1
    check = obslaws.connect(db_file, plugins=False, read_only=True)
    assert check.execute("SELECT count(*) FROM models").fetchall() == [(0,)]
    check.close()


def test_an_unreadable_size_or_date_is_rejected_by_row_and_the_scores_land(conn, tmp_path):
    """A size of -7 or 'lots' and a date of 'yesterday' used to vanish silently (exit 0)."""
    path = tmp_path / "dump.csv"
    path.write_text(
        f"{V1_HEADER}\n"
        "x,org/a-7b,50,70,45,40,70,10,pretrained,-7,2024-01-01T00:00:00Z\n"
        "x,org/b-7b,50,70,45,40,70,10,pretrained,lots,2024-01-01T00:00:00Z\n"
        "x,org/c-7b,50,70,45,40,70,10,pretrained,0,yesterday\n"
        "x,org/d-7b,50,70,45,40,70,10,pretrained,7,\n"
    )
    report = ingest_leaderboard(IngestContext(conn), [path])
    assert report.files == 1 and not report.skipped
    assert sorted((p.key, p.problem) for p in report.rejected) == [
        ("row 2 #Params (B)", "'-7' is not a size in billions"),
        ("row 3 #Params (B)", "'lots' is not a size in billions"),
        ("row 4 date", "cannot read 'yesterday' as a date (ISO 8601); the row counts as the oldest"),
    ]
    sizes = conn.execute("SELECT model_id, params_total FROM models ORDER BY model_id").fetchall()
    assert sizes == [("org/a-7b", None), ("org/b-7b", None), ("org/c-7b", None), ("org/d-7b", 7e9)]
    assert conn.execute("SELECT count(*) FROM scores WHERE metric <> 'oll_v2_normalized'").fetchall() == [(24,)]
