"""The registry loader: validation names file, row and field; loads are all-or-nothing and idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import obslaws
from obslaws.errors import ValidationError
from obslaws.registry import TABLES, load_registry
from obslaws.store.query import read_frame

MINIMAL = {
    "sources": "source_id,kind,citation,url,license,retrieved,sha256,priority\n"
    "src,dataset,A test data set,https://example.org,MIT,2024-01-01,,10\n",
    "families": "family,family_group,organization,description\nfam,fam,Org,\nfam-chat,fam,Org,\n",
    "benchmarks": "benchmark,metric,n_shots,chance,n_items,description\n"
    "mmlu,acc,5,0.25,14042,MMLU\ngsm8k,exact_match,5,0,1319,GSM8K\n",
    "models": "model_id,family,variant,base_model,organization,params_total,params_active,params_non_embedding,"
    "tokens,flops,flops_basis,release_date,release_date_source,checkpoint_of,step,license,source_id\n"
    "org/fam-1b,fam,base,,Org,1e9,,,1e12,,,2024-01-02,src,,,,src\n"
    "org/fam-7b,fam,base,,Org,7e9,,,2e12,,,2024-01-02,src,,,,src\n"
    "org/fam-7b-chat,fam-chat,instruct,org/fam-7b,Org,7e9,,,2e12,,,2024-02-02,src,,,,src\n",
    "model_aliases": "alias,model_id,source_id\nfam-7b,org/fam-7b,src\norg/fam-7b,org/fam-7b,src\n",
    "scores": "model_id,benchmark,metric,n_shots,value,stderr,n_samples,source_id,harness,harness_version,"
    "evaluated_at\n"
    "org/fam-1b,mmlu,acc,5,0.30,0.004,,src,,,\norg/fam-7b,mmlu,acc,5,0.45,,,src,,,\n"
    "org/fam-7b,gsm8k,exact_match,5,0.14,,,src,,,\n",
    "losses": "model_id,dataset,value,unit,tokens_seen,source_id\norg/fam-1b,pile,2.1,nats_per_token,1e12,src\n",
}


def write_registry(directory: Path, **overrides: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        (directory / f"{table}.csv").write_text(overrides.get(table, MINIMAL[table]))
    return directory


def table_contents(conn) -> dict[str, list[tuple]]:
    return {t: sorted(map(str, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def test_minimal_registry_loads_and_reload_changes_nothing(tmp_path):
    conn = obslaws.connect(":memory:", plugins=False)
    report = load_registry(conn, write_registry(tmp_path / "reg"))
    assert report.tables["models"].added == 3 and report.changed
    before = table_contents(conn)
    again = load_registry(conn, tmp_path / "reg")
    assert not again.changed
    assert all(stats.unchanged == stats.added + stats.updated + stats.unchanged for stats in again.tables.values())
    assert table_contents(conn) == before
    matrix = conn.execute("SELECT model_id, mmlu, gsm8k FROM score_matrix ORDER BY model_id").fetchall()
    assert matrix == [("org/fam-1b", 0.30, None), ("org/fam-7b", 0.45, 0.14)]


def _break(table: str, old: str, new: str) -> dict[str, str]:
    assert old in MINIMAL[table]
    return {table: MINIMAL[table].replace(old, new, 1)}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (_break("models", "Org,7e9,,,2e12", "Org,7,,,2e12"), r"models\.csv, row 3, field 'params_total': 7 looks like"),
        (_break("models", "Org,1e9,,,1e12", "Org,-1e9,,,1e12"), r"models\.csv, row 2, field 'params_total'"),
        (_break("models", "fam-chat,instruct", "fam-chat,chatty"), r"models\.csv, row 4, field 'variant'"),
        (_break("models", "fam-chat,instruct", "nofam,instruct"), r"models\.csv, row 4, field 'family': unknown"),
        (_break("models", "2024-02-02", "02/02/2024"), r"models\.csv, row 4, field 'release_date': cannot parse"),
        (_break("scores", "0.45", "45"), r"scores\.csv, row 3, field 'value': score 45.0 outside \[0, 1\]"),
        (_break("scores", "gsm8k,exact", "gsm9k,exact"), r"scores\.csv, row 4, field 'benchmark': unknown benchmark"),
        (_break("scores", "org/fam-1b,mmlu", "org/ghost,mmlu"), r"scores\.csv, row 2, field 'model_id': unknown model"),
        (_break("losses", "2.1,", "abc,"), r"losses\.csv, row 2, field 'value': cannot parse"),
        (
            _break("scores", "0.45,,,src,,,\n", "0.45,,,src,,,,\n"),  # one comma too many
            r"scores\.csv, row 3: 12 fields where the header has 11",
        ),
        (
            _break("scores", "0.45,,,src,,,\n", "0.45,,,src\n"),  # cut short after a required column
            r"scores\.csv, row 3: 8 fields where the header has 11",
        ),
        (
            _break("scores", ",src,,,\norg/fam-7b,mmlu", ",nosrc,,,\norg/fam-7b,mmlu"),
            r"scores\.csv, row 2, field 'source_id'",
        ),
    ],
)
def test_malformed_row_is_named_and_database_untouched(tmp_path, override, expected):
    conn = obslaws.connect(":memory:", plugins=False)
    load_registry(conn, write_registry(tmp_path / "good"))
    before = table_contents(conn)
    with pytest.raises(ValidationError, match=expected) as info:
        load_registry(conn, write_registry(tmp_path / "bad", **override))
    assert "\n" not in str(info.value)
    assert table_contents(conn) == before


def test_a_folder_without_registry_files_is_an_error_not_an_empty_load(tmp_path):
    """`init --registry registry/reported` (a mistyped folder) used to load nothing and exit 0."""
    conn = obslaws.connect(":memory:", plugins=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValidationError, match=r"other: not a registry folder: none of sources\.csv, .*losses\.csv"):
        load_registry(conn, tmp_path / "other")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "sources.csv").write_text(MINIMAL["sources"])  # one file is a registry of sources
    assert load_registry(conn, partial).tables["sources"].added == 1


def test_failure_midway_rolls_back_the_whole_load(tmp_path, monkeypatch):
    """An interrupted load (here: an error after models were written) leaves the file as it was."""
    import obslaws.registry as registry

    db = tmp_path / "x.duckdb"
    conn = obslaws.connect(db, plugins=False)
    calls = []
    real_upsert = registry.upsert

    def interrupted(connection, table, frame):
        calls.append(table)
        if table == "scores":
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-load
        return real_upsert(connection, table, frame)

    monkeypatch.setattr(registry, "upsert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_registry(conn, write_registry(tmp_path / "reg"))
    assert "models" in calls
    conn.close()
    reopened = obslaws.connect(db, plugins=False)
    assert all(not rows for rows in table_contents(reopened).values())


def test_cli_init_prints_summary_and_one_line_errors(tmp_path, capsys, monkeypatch):
    from obslaws.cli import main

    monkeypatch.setenv("OBSLAWS_DB", str(tmp_path / "cli.duckdb"))
    good = write_registry(tmp_path / "good")
    main(["init", "--registry", str(good)])
    out = capsys.readouterr().out
    assert "models (checkpoints counted once)" in out
    bad = write_registry(tmp_path / "bad", **_break("scores", "0.45", "45"))
    with pytest.raises(SystemExit) as exit_info:
        main(["init", "--registry", str(bad)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("Error: scores.csv, row 3, field 'value'")


def test_a_failed_init_of_a_new_file_leaves_no_file_and_keeps_an_existing_one(tmp_path, cli):
    """It used to create and migrate the file before validating, leaving an empty database behind."""
    bad = write_registry(tmp_path / "bad", **_break("scores", "0.45", "45"))
    new = tmp_path / "new.duckdb"
    assert cli(["--db", str(new), "init", "--registry", str(bad)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]
    old = tmp_path / "old.duckdb"
    assert cli(["--db", str(old), "init", "--registry", str(write_registry(tmp_path / "good"))]) == 0
    conn = obslaws.connect(old, plugins=False)
    before = table_contents(conn)
    conn.close()
    assert cli(["--db", str(old), "init", "--registry", str(bad)]) == 1
    conn = obslaws.connect(old, plugins=False)
    assert table_contents(conn) == before
    conn.close()


def test_shipped_registry_dir_is_found():
    from obslaws.registry import registry_dir

    assert (registry_dir() / "models.csv").exists()


def test_registry_copy_loads_from_any_directory(tmp_path, monkeypatch):
    """init must not depend on the working directory or on ../shared."""
    source = Path(__file__).resolve().parents[1] / "registry"
    copy = tmp_path / "elsewhere" / "registry"
    shutil.copytree(source, copy)
    monkeypatch.chdir(tmp_path)
    conn = obslaws.connect(":memory:", plugins=False)
    report = load_registry(conn, copy)
    assert report.tables["models"].added > 0
    assert isinstance(read_frame(conn, "SELECT * FROM score_matrix LIMIT 1"), pl.DataFrame)
