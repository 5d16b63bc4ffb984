"""The docs cannot drift from the CLI: every command has help and is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.cli import LAZY, load_command

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, str, object]]:
    found: list[tuple[str, str, object]] = []
    for noun in LAZY:
        command = load_command(noun)
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found.extend((noun, name, sub) for name, sub in subcommands.items())
        else:
            found.append((noun, "", command))
    return found


@pytest.mark.parametrize(("noun", "name", "command"), _commands(), ids=lambda v: str(v)[:20])
def test_every_command_has_help_and_is_in_the_readme(noun: str, name: str, command) -> None:
    assert (command.help or "").strip(), f"outreach {noun} {name} has no help text"
    if name:
        row = next((line for line in README.splitlines() if f"`outreach {noun}`" in line), "")
        listed = re.search(rf"`{re.escape(name)}`", row)
        assert listed, f"README does not list outreach {noun} {name}"
    else:
        assert f"outreach {noun}" in README, f"README does not mention outreach {noun}"


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_same_tests() -> None:
    assert "python -m pip install . && outreach demo" in README
    match = re.search(
        r"python -m pip install -e '\.\[test,postgres\]' && (timeout .*pytest -q)", README
    )
    assert match, "README's test command not found"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'TEST_COMMAND="{match.group(1)}"' in ci


# rich reads "[word]" in a help text as a style tag and drops it from `--help`
_TAG = re.compile(r"\[/?[a-z][a-z0-9_. -]*\]")


@pytest.mark.parametrize(("noun", "name", "command"), _commands(), ids=lambda v: str(v)[:20])
def test_help_texts_hold_nothing_that_rich_would_swallow(noun: str, name: str,
                                                         command) -> None:
    texts = [command.help or ""] + [getattr(p, "help", "") or "" for p in command.params]
    swallowed = [t for t in texts if _TAG.search(t)]
    assert swallowed == [], f"outreach {noun} {name}: {swallowed}"
