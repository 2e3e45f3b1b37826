"""Every concrete ``obslaws ...`` command the README and docs show names commands and options that exist.

A reader copies these lines; a renamed or never-existing option (``obslaws fit loss2loss -b ...``)
fails only when run. Lines with placeholders (``[--revision R]``, ``REPO_ID|PATH``, ``...``) are
synopses, not commands, and are left out; option values are not checked (paths need not exist).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]
PLACEHOLDER = re.compile(r"\.\.\.|\[|\||<|\{")
NUMBER = re.compile(r"^-\d")


def _cli() -> click.Group:
    from obslaws.cli import _build
    from obslaws.plugins import plugin_manager

    group = _build()
    plugin_manager().hook.register_commands(cli=group)
    return group


def _block_commands(block: str) -> Iterator[str]:
    """The ``obslaws`` lines of a code block, continuation lines and multi-line quotes joined."""
    pending = ""
    for line in block.replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        match = re.match(r"(?:\.venv/bin/)?obslaws (.*)", pending.strip(), re.S)
        if match:
            yield "obslaws " + match.group(1)
        pending = ""


def doc_commands(text: str) -> Iterator[str]:
    """Every concrete ``obslaws`` command of a markdown page: code-block lines and inline code."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        yield from _block_commands(block)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if span.startswith(("obslaws ", ".venv/bin/obslaws ")):
            yield span.removeprefix(".venv/bin/")


def _options(command: click.Command) -> dict[str, click.Option]:
    return {name: p for p in command.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}


def unknown_names(group: click.Group, command: str) -> list[str]:
    """The subcommands and options of ``command`` that the CLI does not have."""
    tokens = iter(shlex.split(command, comments=True)[1:])
    current: click.Command = group
    known = _options(group)
    problems = []
    for token in tokens:
        if token == "--":
            break
        if token.startswith("-") and token != "-" and not NUMBER.match(token):
            name, _, value = token.partition("=")
            option = known.get(name)
            if option is None:
                problems.append(f"option {name!r} of {current.name!r}")
            elif not (option.is_flag or option.count or value or getattr(option, "_flag_needs_value", False)):
                next(tokens, None)  # the option's value
            continue
        if isinstance(current, click.Group):
            sub = current.get_command(click.Context(current), token)
            if sub is None:
                problems.append(f"command {token!r} of {current.name!r}")
                break
            current = sub
            known |= _options(sub)
    return problems


def _cases() -> list[tuple[str, str]]:
    cases = []
    for page in DOCS:
        for command in doc_commands(page.read_text()):
            if not PLACEHOLDER.search(command.split(" #")[0]):
                cases.append((page.relative_to(ROOT).as_posix(), command))
    return cases


def test_the_pages_show_commands():
    """The scan finds the commands it is meant to check (the README's quick start among them)."""
    commands = [command for _, command in _cases()]
    assert any(c.startswith("obslaws backtest sloth --protocol family-holdout") for c in commands)
    assert len(commands) > 30


def test_an_option_the_cli_lacks_is_found():
    assert unknown_names(_cli(), "obslaws fit loss2loss -b mmlu -o form=chinchilla") == ["option '-b' of 'fit'"]
    assert unknown_names(_cli(), "obslaws --db x.duckdb sql - --format csv") == []


@pytest.mark.parametrize(("page", "command"), _cases())
def test_doc_command_names_exist(page, command):
    assert unknown_names(_cli(), command) == [], f"{page}: {command}"
