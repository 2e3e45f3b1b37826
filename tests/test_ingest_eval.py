"""`obslaws eval`: real lm-evaluation-harness runs of tiny local models on local YAML tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import obslaws
from obslaws.cli import main
from obslaws.errors import ObslawsError, OfflineError
from obslaws.evaluate import local as runner
from obslaws.evaluate.tiny import QUESTIONS, WIDTHS
from obslaws.ingest.context import IngestContext
from obslaws.ingest.params import checkpoint_parameters
from obslaws.store.read import load_fit_data


def _eval_args(db: Path, model: Path, tasks: Path, *extra: str) -> list[str]:
    return [
        "--db",
        str(db),
        "eval",
        str(model),
        "--tasks",
        "tiny_mc,tiny_ppl",
        "--include-path",
        str(tasks),
        "--only-included",
        "--batch-size",
        "4",
        "--family",
        "tiny",
        *extra,
    ]


def _cli(args: list[str]) -> None:
    try:
        main(args)
    except SystemExit as exc:  # click's standalone exit after a successful command
        assert exc.code in (0, None), exc.code


def test_eval_three_widths_into_the_database(tiny, tmp_path, capsys):
    db = tmp_path / "eval.duckdb"
    obslaws.connect(db, plugins=False).close()  # only `obslaws init` creates a database
    for width in WIDTHS:
        _cli(_eval_args(db, tiny[f"neox-{width}"], tiny["tasks"]))
    out = capsys.readouterr().out
    assert out.count("evaluated: tiny_mc, tiny_ppl") == 3
    conn = obslaws.connect(db, plugins=False)
    models = conn.execute("SELECT model_id, family, params_total FROM models ORDER BY params_total").fetchall()
    # A local folder is known by its absolute path (two "final" folders are two models).
    assert [m[0] for m in models] == [str(tiny[f"neox-{w}"].resolve()) for w in WIDTHS]
    assert {m[1] for m in models} == {"tiny"}
    for model_id, _, params in models:
        # Read from the safetensors headers; lm-eval's own count (from the loaded model) agrees.
        assert params == checkpoint_parameters(Path(model_id))
        configs = conn.execute("SELECT config FROM eval_runs WHERE model_id = ?", [model_id]).fetchall()
        assert {json.loads(c[0])["model_num_parameters"] for c in configs} == {params}
    scores = conn.execute("SELECT model_id, metric, n_shots, value, stderr, n_samples FROM scores").fetchall()
    assert len(scores) == 6 and {s[1] for s in scores} == {"acc", "acc_norm"}
    assert all(s[5] == len(QUESTIONS) and 0 <= s[3] <= 1 for s in scores)
    units = conn.execute("SELECT dataset, unit, count(*), min(value) FROM losses GROUP BY ALL ORDER BY ALL").fetchall()
    assert [(u[0], u[1], u[2]) for u in units] == [
        ("tiny_mc", "answer_bits_per_byte", 3),
        ("tiny_mc", "answer_nll_nats", 3),
        ("tiny_ppl", "bits_per_byte", 3),
        ("tiny_ppl", "word_perplexity", 3),
    ]
    assert all(u[3] > 0 for u in units)

    data = load_fit_data(conn, ["tiny_mc"])
    assert sorted(data.models["params"].to_list()) == [m[2] for m in models]
    assert data.scores.height == 3 and set(data.losses["unit"]) >= {"answer_nll_nats", "bits_per_byte"}
    conn.close()

    _cli(_eval_args(db, tiny["neox-64"], tiny["tasks"]))
    assert "cached (already done): tiny_mc, tiny_ppl" in capsys.readouterr().out


def test_interrupted_run_resumes_with_the_remaining_task(tiny, tmp_path, monkeypatch):
    conn = obslaws.connect(tmp_path / "resume.duckdb", plugins=False)
    options = dict(include_path=str(tiny["tasks"]), include_defaults=False, batch_size=4, family="tiny")

    def interrupt(task: str) -> None:
        raise KeyboardInterrupt(f"stopped after {task}")

    monkeypatch.setattr(runner, "_task_finished", interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.run_eval(IngestContext(conn), str(tiny["llama"]), ["tiny_mc", "tiny_ppl"], **options)
    assert conn.execute("SELECT task FROM eval_cache").fetchall() == [("tiny_mc",)]
    assert conn.execute("SELECT count(*) FROM scores").fetchall() == [(2,)]

    monkeypatch.undo()
    report = runner.run_eval(IngestContext(conn), str(tiny["llama"]), ["tiny_mc", "tiny_ppl"], **options)
    assert report.extra["cached"] == ["tiny_mc"] and report.extra["evaluated"] == ["tiny_ppl"]
    assert conn.execute("SELECT task FROM eval_cache ORDER BY task").fetchall() == [("tiny_mc",), ("tiny_ppl",)]
    assert conn.execute("SELECT count(*) FROM losses WHERE dataset = 'tiny_ppl'").fetchall() == [(2,)]
    # Another shot setting is another cell.
    other = runner.run_eval(IngestContext(conn), str(tiny["llama"]), ["tiny_mc"], num_fewshot=1, **options)
    assert other.extra["evaluated"] == ["tiny_mc"]
    assert conn.execute("SELECT DISTINCT n_shots FROM scores ORDER BY 1").fetchall() == [(0,), (1,)]
    conn.close()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_is_one_clear_line(tiny, tmp_path, capsys):
    obslaws.connect(tmp_path / "x.duckdb", plugins=False).close()
    with pytest.raises(SystemExit) as exit_info:
        main(_eval_args(tmp_path / "x.duckdb", tiny["neox-32"], tiny["tasks"], "--device", "cuda"))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: --device cuda: no CUDA GPU is visible to torch") and "\n" not in err


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_eval_on_cuda(tiny, tmp_path):
    conn = obslaws.connect(tmp_path / "cuda.duckdb", plugins=False)
    report = runner.run_eval(
        IngestContext(conn),
        str(tiny["neox-64"]),
        ["tiny_mc", "tiny_ppl"],
        device="cuda",
        include_path=str(tiny["tasks"]),
        include_defaults=False,
        batch_size=4,
    )
    assert report.extra["evaluated"] == ["tiny_mc", "tiny_ppl"]
    device = conn.execute("SELECT DISTINCT json_extract_string(config, '$.device') FROM eval_runs").fetchall()
    assert conn.execute("SELECT count(*) FROM scores").fetchall() == [(2,)], device
    conn.close()


def test_hub_model_offline_and_unknown_task(tiny, conn):
    with pytest.raises(OfflineError, match="not in the Hugging Face cache"):
        runner.run_eval(IngestContext(conn), "EleutherAI/pythia-14m", ["tiny_mc"])
    with pytest.raises(ObslawsError, match="unknown lm-eval task"):
        runner.run_eval(
            IngestContext(conn),
            str(tiny["neox-32"]),
            ["no_such_task"],
            include_path=str(tiny["tasks"]),
            include_defaults=False,
            batch_size=4,
        )
    assert conn.execute("SELECT count(*) FROM models").fetchall() == [(0,)]


def test_a_cell_with_no_storable_value_writes_nothing_and_is_evaluated_again(tiny, tmp_path):
    """lm-eval results none of whose values can be stored (here an accuracy of 1.7, as a harness
    whose metric is not a share would report it) leave no run, no model and no cache row."""
    from obslaws.evaluate.cells import CellResult, EvalOptions, plan_cells, store_cell
    from obslaws.ingest.types import IngestReport

    conn = obslaws.connect(tmp_path / "rejected.duckdb", plugins=False)
    context = IngestContext(conn)
    options = EvalOptions(include_path=str(tiny["tasks"]), include_defaults=False, batch_size=4)
    model = str(tiny["llama"])
    (cell,) = plan_cells(context, [model], ["tiny_mc"], options).pending
    results = {
        "results": {"tiny_mc": {"alias": "tiny_mc", "acc,none": 1.7, "acc_stderr,none": 0.1}},
        "n-shot": {"tiny_mc": 0},
        "versions": {"tiny_mc": 1.0},
        "config": {"model": "hf"},
        "configs": {"tiny_mc": {"output_type": "multiple_choice"}},
    }
    report = IngestReport()
    assert store_cell(context, cell, CellResult("tiny_mc", results, 1e6, None, 0.1, "test:1"), "tiny", report) is False
    for table in ("eval_cache", "eval_runs", "scores", "models", "sources"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
    assert report.rejected and "nothing written or cached" in str(report.skipped[0])
    assert model in str(report.skipped[0])
    assert [c.task for c in plan_cells(context, [model], ["tiny_mc"], options).pending] == ["tiny_mc"]
    # the same cell with a storable accuracy is stored and cached
    results["results"]["tiny_mc"]["acc,none"] = 0.7
    assert store_cell(context, cell, CellResult("tiny_mc", results, 1e6, None, 0.1, "test:1"), "tiny", report)
    assert conn.execute("SELECT value FROM scores").fetchall() == [(0.7,)]
    assert not plan_cells(context, [model], ["tiny_mc"], options).pending
    conn.close()
