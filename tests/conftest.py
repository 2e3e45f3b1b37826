"""Test-wide setup: no network (Hugging Face offline), a fresh database per test."""

from __future__ import annotations

import os
import tempfile

# Before any Hugging Face import: never try the network, keep caches out of $HOME.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="obslaws-hf-"))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from obslaws.shared_data import shared_data_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = shared_data_dir()  # $OBSLAWS_SHARED, else ../shared beside the checkout


@pytest.fixture(autouse=True)
def _fresh_plugin_manager():
    """Each test starts with a fresh process plugin manager: tests install, disable and break plugins."""
    from obslaws.plugins import plugin_manager

    plugin_manager.cache_clear()
    yield
    plugin_manager.cache_clear()


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A path for a fresh database file, also set as $OBSLAWS_DB."""
    path = tmp_path / "test.duckdb"
    monkeypatch.setenv("OBSLAWS_DB", str(path))
    return path


@pytest.fixture
def conn():
    """A migrated in-memory database, with the installed plugins' tables."""
    import obslaws

    connection = obslaws.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A fresh, migrated database file (from the CLI, only `obslaws init` creates one)."""
    import obslaws

    path = tmp_path / "fresh.duckdb"
    obslaws.connect(path, plugins=False).close()
    return path


def _cli_status(args: list[str]) -> int:
    from obslaws.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def cli():
    """``cli(["--db", ..., "sql", ...])`` runs obslaws in this process and returns its exit status."""
    return _cli_status


@pytest.fixture(scope="session")
def registry_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the full registry loaded, built once per session (open read-only)."""
    import obslaws
    from obslaws.registry import load_registry

    path = tmp_path_factory.mktemp("registry") / "registry.duckdb"
    connection = obslaws.connect(path, plugins=False)
    load_registry(connection)
    connection.close()
    return path


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny local checkpoints (GPT-NeoX widths 32-96, a Llama) and two local lm-eval tasks."""
    from obslaws.evaluate.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny"))


def requires_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the checkout")
