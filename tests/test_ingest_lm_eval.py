"""The lm-eval results importer: every harness generation, Pythia's 685 files, plugins, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import SHARED, requires_shared

import obslaws
from obslaws import hookimpl
from obslaws.errors import PluginError
from obslaws.ingest import Ingestor, TaskMapping
from obslaws.ingest.context import IngestContext
from obslaws.ingest.lm_eval_ingest import ingest_lm_eval
from obslaws.ingest.plugins import ingest_context, load_ingest_plugins
from obslaws.plugins import get_plugin_manager
from obslaws.store.integrity import check_integrity
from obslaws.store.query import read_frame

FIXTURES = Path(__file__).parent / "fixtures" / "lm_eval"
PYTHIA = SHARED / "pythia-evals"


def _scores(conn, source_like: str = "%") -> pl.DataFrame:
    return read_frame(
        conn,
        "SELECT model_id, benchmark, metric, n_shots, value, stderr, n_samples, harness_version FROM scores "
        "WHERE source_id LIKE ? ORDER BY ALL",
        [source_like],
    )


def _one(frame: pl.DataFrame, **where) -> dict:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()]).to_dicts()
    assert len(rows) == 1, (where, rows)
    return rows[0]


@requires_shared()
def test_pythia_raw_files_match_the_long_csv_value_for_value(conn):
    report = ingest_lm_eval(IngestContext(conn), [PYTHIA / "raw"])
    assert report.files == 685 and not report.skipped
    csv = pl.read_csv(PYTHIA / "pythia_opt_bloom_evals_long.csv")
    source_of = {
        f: "lm-eval:" + hashlib.sha256((PYTHIA / f).read_bytes()).hexdigest()[:16] for f in csv["source_file"].unique()
    }
    csv = csv.with_columns(
        pl.col("source_file").replace_strict(source_of).alias("source_id"),
        pl.when(pl.col("task").str.starts_with("mmlu_mean"))
        .then(pl.lit("mmlu"))
        .otherwise(pl.col("task"))
        .alias("benchmark"),
    )
    stored = pl.concat(
        [
            read_frame(conn, "SELECT source_id, benchmark, metric, n_shots, value, stderr FROM scores"),
            read_frame(
                conn,
                "SELECT source_id, dataset AS benchmark, 'ppl' AS metric, n_shots, value, stderr FROM losses "
                "WHERE unit = 'perplexity'",
            ),
        ]
    )
    joined = csv.join(
        stored,
        left_on=["source_id", "benchmark", "metric", "num_fewshot"],
        right_on=["source_id", "benchmark", "metric", "n_shots"],
        how="left",
        suffix="_db",
    )
    assert joined.height == csv.height == 10_275
    assert joined["value_db"].null_count() == 0
    derived = pl.col("benchmark") == "mmlu"
    # Harness values are stored as read: exactly equal; MMLU is our own unweighted mean of 57 subjects.
    assert joined.filter(~derived & (pl.col("value_db") != pl.col("value"))).height == 0
    assert (joined.filter(derived)["value_db"] - joined.filter(derived)["value"]).abs().max() < 1e-12
    same_stderr = (pl.col("stderr_db") == pl.col("stderr")) | (pl.col("stderr").is_null() & derived)
    assert joined.filter(~same_stderr).height == 0

    again = ingest_lm_eval(IngestContext(conn), [PYTHIA / "raw"])
    assert again.added == 0 and again.updated == 0 and again.files == 685


@requires_shared()
def test_pythia_checkpoints_resolve_to_registry_ids(registry_db, tmp_path):
    db = tmp_path / "registry.duckdb"
    shutil.copy(registry_db, db)
    conn = obslaws.connect(db, plugins=False)
    before = conn.execute("SELECT count(*) FROM models").fetchall()[0][0]
    path = PYTHIA / "raw/pythia-v1/pythia-1.4b/zero-shot/1.4b_step3000.json"
    report = ingest_lm_eval(IngestContext(conn), [path])
    assert report.files == 1
    assert report.tables["models"].added == 0 if "models" in report.tables else True
    assert conn.execute("SELECT count(*) FROM models").fetchall()[0][0] == before
    ours = _scores(conn, "lm-eval:%")
    assert set(ours["model_id"]) == {"EleutherAI/pythia-1.4b@step3000"}
    # The registry's own copy (source pythia-evals) of the same number agrees with the raw file.
    theirs = conn.execute(
        "SELECT value FROM scores WHERE model_id = 'EleutherAI/pythia-1.4b@step3000' AND benchmark = 'piqa' "
        "AND metric = 'acc' AND n_shots = 0 AND source_id = 'pythia-evals'"
    ).fetchall()
    assert theirs and theirs[0][0] == _one(ours, benchmark="piqa", metric="acc")["value"]
    conn.close()


def test_lm_eval_0_4_output_with_na_stderr(conn):
    report = ingest_lm_eval(IngestContext(conn), [FIXTURES / "lm_eval_0.4.13_tiny-64.json"])
    assert report.files == 1 and not report.skipped
    scores = _scores(conn)
    acc = _one(scores, benchmark="tiny_mc", metric="acc")
    # A local checkpoint is known by its path (issue 14: two "final" folders are two models).
    assert (acc["model_id"], acc["value"], acc["stderr"], acc["n_samples"]) == ("/tmp/ing/tiny-64", 0.75, 0.25, 4)
    assert acc["harness_version"] == "0.4.13"
    losses = conn.execute("SELECT dataset, unit, value, stderr, n_shots FROM losses ORDER BY unit").fetchall()
    assert [row[1] for row in losses] == ["bits_per_byte", "byte_perplexity", "word_perplexity"]
    assert all(row[3] is None for row in losses), "'N/A' stderrs are stored as NULL"
    run = conn.execute("SELECT file_format, model_args, config, n_shot FROM eval_runs").fetchall()[0]
    assert run[0] == "lm-eval-0.4" and run[1] == "pretrained=/tmp/ing/tiny-64"
    assert json.loads(run[2])["model_num_parameters"] == 141824 and json.loads(run[3]) == {"tiny_mc": 0, "tiny_ppl": 0}
    assert conn.execute("SELECT params_total FROM models WHERE model_id = '/tmp/ing/tiny-64'").fetchall() == [
        (141824.0,)
    ]


def test_ingesting_twice_adds_nothing_and_keys_stay_unique(conn, tmp_path):
    """scores and losses have no PRIMARY KEY (migration 009): the writes alone keep keys unique."""
    runs = tmp_path / "runs"
    runs.mkdir()
    for path in sorted(FIXTURES.glob("*.json")):
        shutil.copy(path, runs / path.name)
    first = ingest_lm_eval(IngestContext(conn), [runs], batch_size=1)
    assert first.files == 3 and first.added > 0
    for batch_size in (1, 100):  # every source is known now: scores and losses go through upsert
        again = ingest_lm_eval(IngestContext(conn), [runs], batch_size=batch_size)
        assert (again.added, again.updated) == (0, 0)
    for table, key in (
        ("scores", "model_id, benchmark, metric, n_shots, source_id"),
        ("losses", "model_id, dataset, unit, source_id"),
    ):
        total, distinct = conn.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()[0]
        assert total == distinct == first.tables[table].added
    check_integrity(conn)


def test_open_llm_leaderboard_v1_file(conn):
    ingest_lm_eval(IngestContext(conn), [FIXTURES / "oll_v1_results_2024-01-04T13-27-32.660899.json"])
    scores = _scores(conn)
    assert set(scores["model_id"]) == {"HenryJJ/Instruct_Mistral-7B-v0.1_Dolly15K"}
    arc = _one(scores, benchmark="arc_challenge", metric="acc_norm")
    assert (arc["n_shots"], arc["value"]) == (25, 0.5938566552901023)
    assert _one(scores, benchmark="gsm8k", metric="exact_match")["value"] == 0.3510235026535254
    assert _one(scores, benchmark="truthfulqa_mc2", metric="mc2")["n_shots"] == 0
    assert _one(scores, benchmark="truthfulqa_mc1", metric="acc")["value"] == 0.2802937576499388
    assert _one(scores, benchmark="mmlu_anatomy", metric="acc")["n_shots"] == 5
    assert "all" not in set(scores["benchmark"]) and "mmlu" not in set(scores["benchmark"]), "3 of 57 subjects"


def test_open_llm_leaderboard_v2_file(conn):
    v2 = FIXTURES / "oll_v2_EleutherAI__pythia-1.4b_results_2025-01-28T10-22-20.980995.json"
    ingest_lm_eval(IngestContext(conn), [v2])
    scores = _scores(conn)
    assert set(scores["model_id"]) == {"EleutherAI/pythia-1.4b"}, "a commit-sha revision is not a checkpoint"
    bbh = _one(scores, benchmark="leaderboard_bbh", metric="acc_norm")
    assert (bbh["n_shots"], bbh["value"]) == (3, 0.31192501301857317), "group shots from its subtasks"
    ifeval = _one(scores, benchmark="leaderboard_ifeval", metric="inst_prompt_strict_acc_mean")
    assert ifeval["value"] == pytest.approx((0.1756007393715342 + 0.29856115107913667) / 2)
    assert _one(scores, benchmark="leaderboard_ifeval", metric="inst_level_strict_acc")["stderr"] is None
    assert _one(scores, benchmark="leaderboard_math_hard", metric="exact_match")["n_shots"] == 4
    assert _one(scores, benchmark="leaderboard_mmlu_pro", metric="acc")["n_samples"] == 12032
    assert "leaderboard" not in set(scores["benchmark"]), "the mixed top-level group is dropped"
    when = conn.execute("SELECT DISTINCT evaluated_at FROM scores").fetchall()
    assert str(when[0][0]).startswith("2025-01-28")


def test_malformed_files_are_reported_and_skipped(conn, tmp_path):
    good = tmp_path / "runs" / "good.json"
    good.parent.mkdir()
    shutil.copy(FIXTURES / "lm_eval_0.4.13_tiny-64.json", good)
    (tmp_path / "runs" / "truncated.json").write_text('{"results": {"arc_easy": {"acc": 0.5')
    (tmp_path / "runs" / "no_model.json").write_text(json.dumps({"results": {"arc_easy": {"acc": 0.5}}, "config": {}}))
    bad_task = {"results": {"harness|arc:challenge": {"acc": 0.5}}, "config_general": {"model_name": "x/y"}}
    (tmp_path / "runs" / "bad_key.json").write_text(json.dumps(bad_task))
    report = ingest_lm_eval(IngestContext(conn), [tmp_path / "runs", tmp_path / "missing.json"])
    problems = {(Path(p.file).name, p.key) for p in report.skipped}
    assert problems == {
        ("truncated.json", None),
        ("no_model.json", "config.model_args"),
        ("bad_key.json", "results.harness|arc:challenge"),
        ("missing.json", None),
    }
    assert report.files == 1
    assert conn.execute("SELECT DISTINCT model_id FROM scores").fetchall() == [("/tmp/ing/tiny-64",)]


@requires_shared()
def test_batches_parsed_in_a_worker_land_as_one_batch_does(conn, tmp_path, monkeypatch):
    """The parse worker (obslaws.ingest.prefetch) changes nothing: rows, counts, skipped files."""
    from obslaws.ingest import prefetch

    runs = tmp_path / "runs"
    runs.mkdir()
    for i, path in enumerate(sorted((PYTHIA / "raw").rglob("*.json"))[:60]):
        shutil.copy(path, runs / f"{i:03d}.json")
    shutil.copy(runs / "003.json", runs / "003-again.json")  # same content: same source
    (runs / "041-truncated.json").write_text('{"results": {"arc_easy": {"acc": 0.5')
    tables = ("sources", "models", "scores", "losses", "eval_runs", "benchmarks")

    def content(db):
        return {
            t: db.execute(
                f"SELECT * EXCLUDE (path) FROM {t} ORDER BY ALL"
                if t == "eval_runs"
                else f"SELECT * FROM {t} ORDER BY ALL"
            ).fetchall()
            for t in tables
        }

    one = ingest_lm_eval(IngestContext(conn), [runs])
    monkeypatch.setattr(prefetch, "MIN_FILES", 0)
    other = obslaws.connect(":memory:", plugins=False)
    many = ingest_lm_eval(IngestContext(other), [runs], batch_size=7)
    assert many.files == one.files == 61
    assert [(p.file, p.key) for p in many.skipped] == [(p.file, p.key) for p in one.skipped]
    assert content(other) == content(conn)
    assert sum(s.added for s in many.tables.values()) == sum(s.added for s in one.tables.values())
    again = ingest_lm_eval(IngestContext(other), [runs], batch_size=7)
    assert again.added == 0 and content(other) == content(conn)
    other.close()


class _Plugin:
    __name__ = "tiny_tasks"

    @hookimpl
    def register_ingestors(self, register):
        register(TaskMapping("tiny_mc", "tiny_multiple_choice", metrics={"acc_norm": "acc_normalised"}, chance=1 / 3))


def test_plugins_extend_the_task_map(conn):
    pm = get_plugin_manager(load_entry_points=False, extra=[_Plugin()])
    plugins = load_ingest_plugins(pm)
    assert {"lm-eval", "card", "leaderboard"} <= set(plugins.ingestors)
    assert plugins.ingestors.owners["lm-eval"] == "ingestors"
    assert plugins.task_map.lookup("hendrycksTest-anatomy", "acc").benchmark == "mmlu_anatomy"
    ingest_lm_eval(ingest_context(conn, pm), [FIXTURES / "lm_eval_0.4.13_tiny-64.json"])
    rows = conn.execute("SELECT benchmark, metric FROM scores ORDER BY metric").fetchall()
    assert rows == [("tiny_multiple_choice", "acc"), ("tiny_multiple_choice", "acc_normalised")]
    assert conn.execute("SELECT chance FROM benchmarks WHERE benchmark = 'tiny_multiple_choice'").fetchall() == [
        (pytest.approx(1 / 3),)
    ]


def test_duplicate_task_mapping_names_both_plugins():
    class Twice:
        __name__ = "shadow"

        @hookimpl
        def register_ingestors(self, register):
            register(TaskMapping("hendrycksTest-anatomy", "anatomy"))

    pm = get_plugin_manager(load_entry_points=False, extra=[Twice()])
    with pytest.raises(PluginError, match=r'"task mapping hendrycksTest-anatomy" is registered by both') as error:
        load_ingest_plugins(pm)
    assert 'plugin "shadow"' in str(error.value) and 'plugin "ingestors"' in str(error.value)


def test_cli_summary(db_path, capsys):
    from obslaws.cli import main

    obslaws.connect(db_path, plugins=False).close()  # only `obslaws init` creates a database
    main(["--db", str(db_path), "ingest", "lm-eval", str(FIXTURES), "--no-progress"])
    out = capsys.readouterr().out
    # tiny-64: 2 scores; v1: 14 (2 x arc, hellaswag, 3 MMLU subjects; mc1, mc2, winogrande, gsm8k);
    # v2: 15 (groups and subtasks, 4 IFEval metrics + their derived headline); the "leaderboard" group dropped.
    assert "scores: 31 added, 0 updated, 0 unchanged" in out and "3 input(s) read" in out and "0 skipped" in out


class _CsvScores:
    """A third-party ingestor: one ``model,benchmark,value`` CSV, written through the context's batch."""

    __name__ = "csv_scores"

    @hookimpl
    def register_ingestors(self, register):
        register(Ingestor("csv-scores", self.ingest, "model,benchmark,value rows"))

    @staticmethod
    def ingest(context, paths, **options):
        from obslaws.ingest import IngestReport
        from obslaws.ingest.names import model_name

        report = IngestReport()
        batch = context.batch()
        for path in paths:
            source = batch.source(f"csv:{Path(path).name}", "dataset", f"scores from {Path(path).name}")
            for line in Path(path).read_text().splitlines()[1:]:
                name, benchmark, value = line.split(",")
                model_id = batch.model(model_name(name), source)
                batch.score(model_id, benchmark, "acc", 0, float(value), source)
            report.files += 1
        batch.write(report)
        return report


def test_a_plugin_ingestor_is_called_with_the_context(conn, tmp_path):
    pm = get_plugin_manager(load_entry_points=False, extra=[_CsvScores(), _Plugin()])
    plugins = load_ingest_plugins(pm)
    assert plugins.ingestors.owners["csv-scores"] == "csv_scores"
    path = tmp_path / "scores.csv"
    path.write_text(
        "model,benchmark,value\nacme/tiny-1b,tiny_multiple_choice,0.5\nACME/Tiny-1B,tiny_multiple_choice,0.5\n"
    )
    report = plugins.ingestors["csv-scores"](ingest_context(conn, pm), [str(path)])
    assert report.tables["models"].added == 1 and report.tables["scores"].added == 1
    # the context's task map is the plugins': the chance comes from _Plugin's mapping
    assert conn.execute("SELECT chance FROM benchmarks WHERE benchmark = 'tiny_multiple_choice'").fetchall() == [
        (pytest.approx(1 / 3),)
    ]


def test_a_plugin_failing_in_its_hook_is_named():
    class Broken:
        __name__ = "broken_ingest"

        @hookimpl
        def register_ingestors(self, register):
            raise RuntimeError("no such file: mappings.yaml")

    pm = get_plugin_manager(load_entry_points=False, extra=[Broken()])
    with pytest.raises(PluginError, match=r'plugin "broken_ingest" failed in register_ingestors\(\).*mappings.yaml'):
        load_ingest_plugins(pm)
