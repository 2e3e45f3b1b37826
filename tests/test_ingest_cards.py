"""Model cards through huggingface_hub: local cards, a malformed model-index, the hub over a mock transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import obslaws
from obslaws.cli import main
from obslaws.errors import OfflineError
from obslaws.ingest.cards import card_from_model_info, emit_card, ingest_cards
from obslaws.ingest.context import IngestContext
from obslaws.ingest.task_map import TaskMap

CARDS = Path(__file__).parent / "fixtures" / "cards"
INFO = CARDS / "EleutherAI__pythia-1.4b.model_info.json"


def test_local_card_with_open_llm_leaderboard_results(conn):
    model = "HenryJJ/Instruct_Mistral-7B-v0.1_Dolly15K"
    report = ingest_cards(IngestContext(conn), [CARDS / "instruct-mistral-dolly"], model_id=model)
    assert report.files == 1 and not report.skipped
    scores = conn.execute("SELECT benchmark, metric, n_shots, value FROM scores ORDER BY benchmark").fetchall()
    assert scores == [
        ("arc_challenge", "acc_norm", 25, pytest.approx(0.5939)),
        ("gsm8k", "exact_match", 5, pytest.approx(0.351)),
        ("hellaswag", "acc_norm", 10, pytest.approx(0.8262)),
        ("truthfulqa_mc2", "mc2", 0, pytest.approx(0.4356)),
        ("winogrande", "acc", 5, pytest.approx(0.7932)),
    ]
    row = conn.execute("SELECT variant, base_model, license, family FROM models WHERE model_id = ?", [model]).fetchall()
    assert row == [("finetune", "mistralai/Mistral-7B-v0.1", "apache-2.0", "instruct_mistral-v0.1_dolly15k")]
    assert conn.execute("SELECT dataset FROM model_datasets").fetchall() == [("databricks/databricks-dolly-15k",)]
    assert conn.execute("SELECT kind FROM sources").fetchall() == [("model_card",)]
    again = ingest_cards(IngestContext(conn), [CARDS / "instruct-mistral-dolly"], model_id=model)
    assert again.added == 0 and again.updated == 0


def test_malformed_model_index_is_reported_and_the_rest_kept(conn):
    path = CARDS / "malformed-index" / "README.md"
    report = ingest_cards(IngestContext(conn), [path])
    assert [(Path(p.file).name, p.key) for p in report.skipped] == [("README.md", "model-index")]
    assert "model_index" in report.skipped[0].problem
    rows = conn.execute("SELECT model_id, base_model, license FROM models").fetchall()
    assert rows == [("malformed-index", "EleutherAI/pythia-160m", "mit")]
    assert conn.execute("SELECT count(*) FROM scores").fetchall() == [(0,)]


def test_recorded_model_info_through_the_same_path(conn):
    from huggingface_hub.hf_api import ModelInfo

    from obslaws.ingest.batch import Batch
    from obslaws.ingest.types import IngestReport

    card = card_from_model_info(ModelInfo(**json.loads(INFO.read_text())))
    assert card.params_total == 1414647808
    batch, report = Batch(conn, TaskMap()), IngestReport()
    emit_card(batch, card, report)
    batch.write(report)
    assert conn.execute("SELECT params_total, license FROM models").fetchall() == [(1414647808.0, "apache-2.0")]


def test_hub_id_over_a_mock_http_transport(conn, monkeypatch):
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    payload = INFO.read_bytes()
    requests = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request.url.path)
        if request.url.path.startswith("/api/models/EleutherAI/pythia-1.4b"):
            return httpx2.Response(200, content=payload, headers={"content-type": "application/json"})
        return httpx2.Response(404, json={"error": "Repository not found"}, headers={"x-error-code": "RepoNotFound"})

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    _http.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(handler)))
    try:
        report = ingest_cards(IngestContext(conn), ["EleutherAI/pythia-1.4b"])
    finally:
        _http.set_client_factory(_http.default_client_factory)
    assert any(path.startswith("/api/models/EleutherAI/pythia-1.4b") for path in requests)
    assert report.files == 1
    row = conn.execute("SELECT model_id, params_total, family FROM models").fetchall()
    assert row == [("EleutherAI/pythia-1.4b", 1414647808.0, "pythia")]
    assert conn.execute("SELECT url FROM sources").fetchall() == [("https://huggingface.co/EleutherAI/pythia-1.4b",)]
    assert conn.execute("SELECT dataset FROM model_datasets").fetchall() == [("EleutherAI/pile",)]


def test_offline_hub_id_fails_fast_with_one_line(db_path, capsys):
    obslaws.connect(db_path, plugins=False).close()  # only `obslaws init` creates a database
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db_path), "ingest", "card", "EleutherAI/pythia-1.4b"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: model card EleutherAI/pythia-1.4b: the Hugging Face hub is needed")
    assert "\n" not in err


def test_offline_error_writes_nothing(conn):
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        ingest_cards(IngestContext(conn), [CARDS / "instruct-mistral-dolly", "EleutherAI/pythia-1.4b"])
    assert conn.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]
