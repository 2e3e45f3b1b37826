"""One resolver for every source's names: the registry's HELM/EEE aliases, `obslaws names`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import obslaws
from obslaws.cli import main
from obslaws.ingest.context import IngestContext
from obslaws.ingest.eee import ingest_eee
from obslaws.ingest.unresolved import unresolved_models

REPO = Path(__file__).resolve().parent.parent
EEE = REPO.parent / "shared" / "data" / "every-eval-ever-2026-02"
sys.path.insert(0, str(REPO / "scripts"))


@pytest.fixture(scope="module")
def ingested(registry_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names") / "names.duckdb"
    path.write_bytes(registry_db.read_bytes())
    conn = obslaws.connect(path, plugins=False)
    ingest_eee(IngestContext(conn), [EEE])
    conn.close()
    return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture):  # noqa: ANN201 - the runner
    def invoke(db: Path, *args: str) -> tuple[int, str]:
        try:
            main(["--db", str(db), *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, capsys.readouterr().out

    return invoke


def test_every_source_name_style_resolves_through_the_aliases(ingested: Path, run) -> None:  # noqa: ANN001
    names = ["Llama 4 Scout", "meta/llama-3-8b", "qwen/qwen1.5-14b", "Qwen/Qwen3-8B-Base", "o3-2025-04-16_high"]
    code, out = run(ingested, "names", "resolve", *names, "--format", "json")
    assert code == 0
    got = {row["name"]: row["model_id"] for row in json.loads(out)}
    assert got["Llama 4 Scout"] == "meta-llama/Llama-4-Scout-17B-16E"  # Epoch display name
    assert got["meta/llama-3-8b"] == "meta-llama/Meta-Llama-3-8B"  # HELM id
    assert got["qwen/qwen1.5-14b"] == "Qwen/Qwen1.5-14B"  # lower-case EEE id
    assert got["Qwen/Qwen3-8B-Base"] == "Qwen/Qwen3-8B-Base"  # Swallow's HF id
    assert got["o3-2025-04-16_high"] is None  # a setting, not a model name


def test_every_unresolved_shared_name_is_explained(ingested: Path, run) -> None:  # noqa: ANN001
    conn = obslaws.connect(ingested, read_only=True, plugins=False)
    frame = unresolved_models(conn)
    conn.close()
    assert frame.height == 98  # the EEE ids that registry/unmatched_names.csv lists
    assert "google/text-bison@001" in frame["model_id"].to_list()  # a model (API version), not a checkpoint
    assert frame.filter(frame["reason"].is_null()).height == 0, frame.filter(frame["reason"].is_null())
    code, out = run(ingested, "names", "unresolved", "--unexplained", "--format", "csv")
    assert code == 0 and out.strip() == "model_id,source_id,names,reason"


def test_an_unknown_name_is_listed_unexplained(ingested: Path, tmp_path: Path, run) -> None:  # noqa: ANN001
    good = next((EEE / "data" / "helm_mmlu").rglob("*.json"))
    document = json.loads(good.read_text())
    document["model_info"]["id"] = "nobody/unheard-of-7b"
    (tmp_path / "new.json").write_text(json.dumps(document))
    db = tmp_path / "copy.duckdb"
    db.write_bytes(ingested.read_bytes())
    conn = obslaws.connect(db, plugins=False)
    ingest_eee(IngestContext(conn), [tmp_path / "new.json"])
    conn.close()
    code, out = run(db, "names", "unresolved", "--unexplained", "--format", "csv")
    assert code == 1 and "nobody/unheard-of-7b" in out


def test_the_build_fails_on_an_unexplained_eee_name(tmp_path: Path) -> None:
    from registry_build.core import BuildError, Registry
    from registry_build.eee_names import add_eee_aliases

    (tmp_path / "unmatched_names.csv").write_text("name,reason\n")
    with pytest.raises(BuildError, match="joins no model: map it or explain it"):
        add_eee_aliases(Registry(), EEE.parent, tmp_path / "unmatched_names.csv")
