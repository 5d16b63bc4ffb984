"""`outreach init`: questions on a terminal the first time, flags and defaults otherwise,
never a password in the file, never an overwrite."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import outreach.cli.setup
from outreach.cli import app
from outreach.config import load_settings

SECRET = "Pw-never-in-the-file-8812"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`outreach …` in an empty folder, without any OUTREACH_* from the caller."""
    import os

    for key in list(os.environ):
        if key.startswith("OUTREACH_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, yes: bool = True) -> None:
    monkeypatch.setattr(outreach.cli.setup, "interactive", lambda: yes)


def config(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "outreach.toml").read_text(encoding="utf-8"))


def test_without_a_terminal_it_never_asks(run: Any, tmp_path: Path) -> None:
    result = run("init", "--dir", "ws")  # no input at all: a prompt would fail, not hang
    assert result.exit_code == 0, result.stderr
    assert "?" not in result.stdout
    assert result.stdout == ""
    settings = load_settings(tmp_path / "ws" / "outreach.toml")
    assert settings.sender.address == "campaign@example.org"
    assert (tmp_path / "ws" / "outreach.db").exists()
    assert "next: outreach contacts import FILE" in result.stderr
    assert "outreach doctor" in result.stderr


def test_flags_are_written_in_both_modes(run: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    flags = ["--coalition", "Fair Notices Coalition", "--signature", "Fair Notices team",
             "--sender-name", "Fair Notices", "--sender", "team@fairnotices.example",
             "--relay", "smtps://team@mail.fairnotices.example:465",
             "--mailbox", "imaps://team@mail.fairnotices.example/INBOX",
             "--campaigner", "Zoë"]
    result = run("init", "--dir", "plain", *flags, env={"OUTREACH_SMTP_PASSWORD": SECRET})
    assert result.exit_code == 0, result.stderr
    on_a_terminal(monkeypatch)
    asked = run("init", "--dir", "tty", *flags)  # every value given: nothing is asked
    assert asked.exit_code == 0, asked.stderr
    assert asked.stdout == ""
    for folder in ("plain", "tty"):
        data = config(tmp_path / folder)
        assert data["sender"]["organisation"] == "Fair Notices Coalition"
        assert data["sender"]["signature"] == "Fair Notices team"
        assert data["sender"]["name"] == "Fair Notices"
        assert data["sender"]["address"] == "team@fairnotices.example"
        assert data["smtp"]["url"] == "smtps://team@mail.fairnotices.example:465"
        assert data["imap"]["url"] == "imaps://team@mail.fairnotices.example/INBOX"
        assert data["general"]["campaigner"] == "Zoë"
        text = (tmp_path / folder / "outreach.toml").read_text(encoding="utf-8")
        assert SECRET not in text
        assert "password =" not in text
    assert "set OUTREACH_SMTP_PASSWORD for team@mail.fairnotices.example" in result.stderr
    assert "set OUTREACH_IMAP_PASSWORD" in result.stderr


def test_non_interactive_flag_wins_over_a_terminal(run: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    on_a_terminal(monkeypatch)
    result = run("init", "--non-interactive", "--coalition", "Open Doors")
    assert result.exit_code == 0, result.stderr
    data = config(tmp_path)
    assert data["sender"]["organisation"] == "Open Doors"
    assert data["sender"]["name"] == "Open Doors"  # the coalition carries into the defaults
    assert data["sender"]["signature"] == "The Open Doors"


def test_questions_on_a_terminal_and_a_bad_address_is_asked_again(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch)
    answers = [
        "Interpol Watch",                # coalition
        "",                              # signature: the default, "The Interpol Watch"
        "",                              # sender name: the default, the coalition
        "not an address",                # refused, asked again
        "letters@interpolwatch.example",
        "ftp://nowhere",                 # refused, asked again
        "smtp+starttls://letters@smtp.interpolwatch.example:587",
        "",                              # no mailbox
        "Ana",
    ]
    result = run("init", input="\n".join(answers) + "\n",
                 env={"OUTREACH_SMTP_PASSWORD": SECRET})
    assert result.exit_code == 0, result.stderr
    assert "Coalition name [Interpol Reform Coalition]:" in result.stdout
    assert result.stdout.count("Sender address [campaign@example.org]:") == 2
    assert result.stdout.count("Relay URL [capture://outbox]:") == 2
    assert "--sender: not a valid address: 'not an address'" not in result.stderr
    assert "not a valid address" in result.stderr
    assert "try again" in result.stderr
    assert "unknown relay scheme 'ftp'" in result.stderr
    data = config(tmp_path)
    assert data["sender"]["organisation"] == "Interpol Watch"
    assert data["sender"]["signature"] == "The Interpol Watch"
    assert data["sender"]["name"] == "Interpol Watch"
    assert data["sender"]["address"] == "letters@interpolwatch.example"
    assert data["smtp"]["url"] == "smtp+starttls://letters@smtp.interpolwatch.example:587"
    assert data["imap"]["url"] == ""
    assert data["general"]["campaigner"] == "Ana"
    assert SECRET not in (tmp_path / "outreach.toml").read_text(encoding="utf-8")
    assert "set OUTREACH_SMTP_PASSWORD" in result.stderr


def test_second_run_keeps_the_file_and_asks_nothing(run: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("init", "--sender", "first@coalition.example").exit_code == 0
    before = (tmp_path / "outreach.toml").read_bytes()
    on_a_terminal(monkeypatch)
    again = run("init", "--sender", "second@coalition.example")
    assert again.exit_code == 0, again.stderr
    assert again.stdout == ""  # no question: the file exists
    assert (tmp_path / "outreach.toml").read_bytes() == before
    assert "kept existing" in again.stderr
    assert "--sender not applied" in again.stderr
    assert "edit it to change a value" in again.stderr


def test_bad_flag_is_one_line_and_writes_nothing(run: Any, tmp_path: Path) -> None:
    result = run("init", "--dir", "ws", "--relay", "ftp://relay.example")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --relay: unknown relay scheme 'ftp'")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "ws").exists()
    bad = run("init", "--sender", "a@@b")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: --sender: not a valid address")
