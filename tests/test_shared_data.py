"""Where the shared public data is found: $OBSLAWS_SHARED, else ../shared beside the project root."""

from __future__ import annotations

from pathlib import Path

from obslaws import shared_data


def _project(root):
    (root / "obslaws").mkdir(parents=True)
    (root / "obslaws" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'obslaws'\n")
    return root


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    (tmp_path / "elsewhere" / "data").mkdir(parents=True)
    monkeypatch.setenv(shared_data.ENV, str(tmp_path / "elsewhere"))
    assert shared_data.shared_root() == tmp_path / "elsewhere"
    assert shared_data.shared_data_dir() == tmp_path / "elsewhere" / "data"
    monkeypatch.setenv(shared_data.ENV, str(tmp_path / "elsewhere" / "data"))  # the data folder itself
    assert shared_data.shared_data_dir() == tmp_path / "elsewhere" / "data"


def test_beside_the_project_found_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(shared_data.ENV, raising=False)
    project = _project(tmp_path / "checkout")
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (project / "scripts").mkdir()
    monkeypatch.chdir(project / "scripts")
    assert next(shared_data.project_roots()) == project
    assert shared_data.shared_data_dir() == tmp_path / "shared" / "data"


def test_without_shared_data_beside_this_project_the_package_s_checkout_is_next(tmp_path, monkeypatch):
    monkeypatch.delenv(shared_data.ENV, raising=False)
    monkeypatch.chdir(_project(tmp_path / "checkout"))
    beside_package = Path(shared_data.__file__).resolve().parents[1].parent / "shared"
    # the package's own checkout has it (as in CI), else the message names ../shared of the first root
    expected = beside_package if beside_package.is_dir() else tmp_path / "shared"
    assert shared_data.shared_root() == expected
