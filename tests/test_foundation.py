"""The package, configuration, database and `init`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outreach.config import load_settings, render_config
from outreach.errors import ConfigError


def test_init_is_idempotent(cli, workspace: Path) -> None:
    config = (workspace / "outreach.toml").read_text()
    result = cli("init")
    assert result.exit_code == 0
    assert "kept existing" in result.stderr
    assert "schema already current" in result.stderr
    assert (workspace / "outreach.toml").read_text() == config
    status = cli("db", "status")
    assert "pending" not in status.stdout
    assert "applied  0001_initial" in status.stdout


@pytest.mark.sqlite_only
def test_default_config_uses_placeholder_sender_and_sqlite(workspace: Path) -> None:
    settings = load_settings(workspace / "outreach.toml")
    assert settings.uses_placeholder_sender
    assert settings.database_url == "sqlite://" + str(workspace / "outreach.db")
    assert (workspace / "outreach.db").exists()


def test_environment_overrides_file(workspace: Path) -> None:
    env = {"OUTREACH_SMTP_URL": "smtps://u@relay.example.org:465", "OUTREACH_SMTP_CONCURRENCY": "7"}
    settings = load_settings(workspace / "outreach.toml", environ=env)
    assert settings.smtp.url == "smtps://u@relay.example.org:465"
    assert settings.smtp.concurrency == 7


def test_password_in_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outreach.toml"
    path.write_text('[smtp]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "OUTREACH_SMTP_PASSWORD" in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[smtp\nurl=1", "not valid TOML"),
        ("[smtp]\nconcurrency = 'many'", "[smtp] concurrency must be int"),
        ("[smtp]\nspeed = 3", "unknown key [smtp] speed"),
        ("[nonsense]\n", "unknown section [nonsense]"),
        ("[database]\nurl = 'mysql://x'", "must start with sqlite://"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "outreach.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_bad_config_is_one_line_exit_1(cli, workspace: Path) -> None:
    (workspace / "outreach.toml").write_text("[smtp]\nconcurrency = 0\n")
    result = cli("db", "status")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "concurrency must be at least 1" in result.stderr


def test_rendered_config_round_trips_awkward_values(tmp_path: Path) -> None:
    path = tmp_path / "outreach.toml"
    path.write_text(render_config(signature='Line "one"\nLine \\two', campaigner="Zoë"))
    settings = load_settings(path)
    assert settings.sender.signature == 'Line "one"\nLine \\two'
    assert settings.general.campaigner == "Zoë"
    assert settings.actor == "Zoë"


@pytest.mark.sqlite_only
def test_missing_database_is_reported(cli, workspace: Path) -> None:
    os.remove(workspace / "outreach.db")
    result = cli("db", "status")
    assert result.exit_code == 1
    assert "run `outreach init` first" in result.stderr
    assert not (workspace / "outreach.db").exists()


def test_version_and_help(cli) -> None:
    assert cli("--version").stdout.startswith("outreach ")
    assert cli("--help").exit_code == 0
