"""Shared fixtures: a fresh database per test, a CLI workspace, server requirements."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outreach.cli import app
from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.setup import initialise

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_server(available: bool, what: str, how: str) -> None:
    """Skip a test whose server is missing, but fail under CI=true."""
    if available:
        return
    message = f"{what} is not available ({how})"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with `outreach init` done, as the working directory."""
    for key in list(os.environ):
        if key.startswith("OUTREACH_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    asyncio.run(initialise(tmp_path))
    return tmp_path


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "outreach.toml")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    """The workspace's database open in this test's event loop; yields the settings."""
    async with open_db(settings.database_url):
        yield settings


class Cli:
    """Runs `outreach …` in-process with Typer's CliRunner (from sync tests only)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        return self.runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def cli(workspace: Path) -> Iterator[Cli]:
    yield Cli()
