"""The plugin host: entry-point discovery, the fitter registry, and one-line errors for broken plugins."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from obslaws import Fitter, hookimpl
from obslaws.errors import PluginError
from obslaws.fitting.lookup import get_fitters
from obslaws.plugins import describe_plugins, get_plugin_manager, plugin_manager

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = {"baselines", "lowrank", "sloth", "loss2loss", "densing", "forecast"}


def make_dist(site: Path, dist: str, entry_name: str, module: str, source: str) -> None:
    """A fake installed distribution on ``site`` with one ``obslaws`` entry point."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[obslaws]\n{entry_name} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


def _plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, func in hooks.items():
        setattr(module, hook, func)
    return module


def _fitter_class(fitter_name: str) -> type[Fitter]:
    class Dummy(Fitter):
        name = fitter_name

        def __init__(self, *, alpha=1.0):
            self.alpha = alpha

    return Dummy


def test_builtin_fitters_come_through_entry_points_only():
    fitters = get_fitters()
    assert fitters["flops-sigmoid"].plugin == "baselines"
    assert fitters["flops-sigmoid-family"].plugin == "baselines"
    assert fitters["flops-sigmoid"].distribution == "obslaws"
    # Without the entry-point group nothing is registered: the core names no plugin.
    assert len(get_fitters(get_plugin_manager(load_entry_points=False))) == 0
    core = "\n".join(p.read_text() for p in (ROOT / "obslaws").rglob("*.py"))
    for name in BUILTIN:
        assert f"import obslaws_{name}" not in core and f"from obslaws_{name}" not in core


def test_describe_plugins_names_hooks_and_distribution():
    infos = {p.name: p for p in describe_plugins(get_plugin_manager())}
    assert "register_fitters" in infos["baselines"].hooks
    assert infos["baselines"].distribution == "obslaws"


def test_extra_plugin_registers_a_fitter():
    @hookimpl
    def register_fitters(register):
        register(_fitter_class("dummy-extra"))

    pm = get_plugin_manager(load_entry_points=False, extra=[_plugin("extra_plugin", register_fitters=register_fitters)])
    fitters = get_fitters(pm)
    assert fitters["dummy-extra"].plugin == "extra_plugin"
    assert fitters.create("dummy-extra", alpha=2.0).alpha == 2.0


def test_duplicate_fitter_name_names_both_plugins():
    @hookimpl
    def register_fitters(register):
        register(_fitter_class("flops-sigmoid"))

    pm = get_plugin_manager(extra=[_plugin("copycat", register_fitters=register_fitters)])
    with pytest.raises(
        PluginError, match=r'"flops-sigmoid" is registered by both plugin "baselines" and plugin "copycat"'
    ):
        get_fitters(pm)


def test_misspelled_hook_is_an_error_naming_the_plugin():
    @hookimpl
    def register_fitter(register):  # missing "s"
        pass

    with pytest.raises(PluginError) as info:
        get_plugin_manager(load_entry_points=False, extra=[_plugin("typo_plugin", register_fitter=register_fitter)])
    assert str(info.value) == (
        'plugin "typo_plugin" (module typo_plugin) implements an unknown hook register_fitter() '
        "(did you mean register_fitters?); the hooks are prepare_connection, register_commands, "
        "register_fitters, register_ingestors, register_migrations, report_sections"
    )


def test_hook_with_wrong_arguments_is_an_error():
    @hookimpl
    def register_fitters(add):
        pass

    with pytest.raises(PluginError) as info:
        get_plugin_manager(load_entry_points=False, extra=[_plugin("args_plugin", register_fitters=register_fitters)])
    message = str(info.value)
    assert message.startswith('plugin "args_plugin" (module args_plugin): ') and "\n" not in message
    assert "register_fitters(add)" in message and "{'add'}" in message


def test_hook_without_hookimpl_marker_is_an_error():
    def register_fitters(register):
        pass

    with pytest.raises(PluginError, match=r'^plugin "unmarked" \(module unmarked\): .*not marked with @hookimpl'):
        get_plugin_manager(load_entry_points=False, extra=[_plugin("unmarked", register_fitters=register_fitters)])


def test_hook_that_raises_or_registers_junk_names_the_plugin():
    @hookimpl
    def register_fitters(register):
        raise RuntimeError("boom")

    pm = get_plugin_manager(load_entry_points=False, extra=[_plugin("raiser", register_fitters=register_fitters)])
    with pytest.raises(PluginError, match=r'plugin "raiser" failed in register_fitters\(\): RuntimeError: boom'):
        get_fitters(pm)

    @hookimpl
    def register_junk(register):
        register(object)

    pm = get_plugin_manager(load_entry_points=False, extra=[_plugin("junk", register_fitters=register_junk)])
    with pytest.raises(PluginError, match=r'plugin "junk" registered .*not a subclass of obslaws.Fitter'):
        get_fitters(pm)


def test_unknown_fitter_lists_the_registered_ones():
    with pytest.raises(PluginError, match=r'unknown fitter "nope"; registered fitters: .*flops-sigmoid'):
        get_fitters()["nope"]
    assert get_fitters().get("nope") is None


def test_a_plugin_that_fails_to_import_is_disabled_with_a_warning(tmp_path, monkeypatch, caplog):
    make_dist(tmp_path, "broken-plugin", "broken", "obslaws_broken_mod", "import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="obslaws.plugins"):
        pm = get_plugin_manager()
    assert pm.get_plugin("broken") is None and "flops-sigmoid" in get_fitters(pm)
    [warning] = caplog.messages
    assert 'plugin "broken" (obslaws_broken_mod, from distribution broken-plugin 0.1) failed to import' in warning
    assert "ModuleNotFoundError" in warning and "OBSLAWS_DISABLE_PLUGINS=broken" in warning
    # Strict: an error naming the plugin.
    monkeypatch.setenv("OBSLAWS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r'^plugin "broken" \(obslaws_broken_mod, from distribution'):
        get_plugin_manager()
    # Disabled by name, it is skipped without a word, strict or not.
    monkeypatch.setenv("OBSLAWS_DISABLE_PLUGINS", "broken")
    caplog.clear()
    assert "flops-sigmoid" in get_fitters(get_plugin_manager())
    assert not caplog.messages


def test_the_process_manager_is_built_once_and_reset_by_cache_clear(tmp_path, monkeypatch):
    assert plugin_manager() is plugin_manager()
    assert get_fitters()["flops-sigmoid"].plugin == "baselines"  # through the shared manager
    make_dist(tmp_path, "late-plugin", "late", "obslaws_late_mod", "x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert plugin_manager().get_plugin("late") is None  # built before the plugin was installed
    plugin_manager.cache_clear()
    assert plugin_manager().get_plugin("late") is not None


def test_temporary_entry_point_plugin_is_discovered(tmp_path, monkeypatch):
    source = """
        from obslaws import Fitter, hookimpl

        class Temp(Fitter):
            name = "temp-fitter"
            def __init__(self, *, k=1):
                self.k = k

        @hookimpl
        def register_fitters(register):
            register(Temp)
    """
    make_dist(tmp_path, "temp-plugin", "temp", "obslaws_temp_mod", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    fitters = get_fitters()
    assert fitters["temp-fitter"].plugin == "temp"
    assert fitters["temp-fitter"].distribution == "temp-plugin"


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from obslaws.cli import main; main({list(args)!r})"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OBSLAWS_")} | (env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environ)


def test_cli_commands_run_beside_a_plugin_that_fails_to_import(tmp_path):
    make_dist(tmp_path, "broken-plugin", "broken", "obslaws_broken_cli", "raise RuntimeError('half installed')\n")
    db = str(tmp_path / "x.duckdb")
    for args in (["--help"], ["--db", db, "init"], ["--db", db, "sql", "SELECT 42 AS answer"]):
        proc = _cli(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith('Warning: plugin "broken"') and "RuntimeError: half installed" in line
        assert "OBSLAWS_DISABLE_PLUGINS=broken" in line
    assert "42" in proc.stdout
    strict = _cli(tmp_path, "plugins", env={"OBSLAWS_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    [line] = strict.stderr.strip().splitlines()
    assert line.startswith('Error: plugin "broken" (obslaws_broken_cli, from distribution broken-plugin 0.1) failed')
    assert "OBSLAWS_STRICT_PLUGINS" in line and "Error: Error" not in line


def test_cli_prints_one_line_for_a_plugin_with_a_misspelled_hook(tmp_path):
    source = "from obslaws import hookimpl\n@hookimpl\ndef register_fitter(register):\n    pass\n"
    make_dist(tmp_path, "broken-plugin", "broken", "obslaws_broken_cli", source)
    proc = _cli(tmp_path, "plugins")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    # it read 'Error: Error in plugin "broken": unknown hook ...', naming neither the module nor the hooks
    assert lines[0].startswith('Error: plugin "broken" (module obslaws_broken_cli) implements an unknown hook')
    assert "register_fitter() (did you mean register_fitters?); the hooks are prepare_connection," in lines[0]
    assert "Error: Error" not in lines[0]
