"""A database made by an earlier schema version is upgraded in place, keeping its data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outreach.cli import app
from outreach.config import render_config
from outreach.db import open_db, schema_status, upgrade
from outreach.errors import DatabaseError
from outreach.models import Contact, Suppression


async def _make_old_database(url: str) -> None:
    """What outreach 0.1's first schema (migration 0001) held, with some data in it."""
    async with open_db(url, create=True, check_schema=False) as ctx:
        await upgrade(ctx, target="0001_initial")
        applied, pending = await schema_status(ctx)
        assert applied == ["0001_initial"]
        assert pending
        await Contact.create(
            email="anna.novak@example.org",
            name="Anna Novak",
            kind="mep",
            country="SI",
            committees='["DROI"]',
        )
        await Suppression.create(email="gone@example.org", email_hash="ab" * 32, reason="opt-out")


async def _read(url: str) -> tuple[list[str], list[str], str, int]:
    async with open_db(url, check_schema=False) as ctx:
        applied, pending = await schema_status(ctx)
        contact = await Contact.get(email="anna.novak@example.org")
        return applied, pending, contact.committees, await Suppression.all().count()


def test_old_schema_is_refused_then_upgraded_in_place(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outreach.toml").write_text(render_config())
    url = "sqlite://" + str(tmp_path / "outreach.db")
    asyncio.run(_make_old_database(url))

    runner = CliRunner()
    refused = runner.invoke(app, ["db", "status"])
    assert refused.exit_code == 0
    assert "pending  0002_ledger_and_replies" in refused.stdout

    # any ordinary command refuses a schema that is behind, naming the fix
    async def touch() -> None:
        async with open_db(url):
            pass

    with pytest.raises(DatabaseError, match="outreach db upgrade"):
        asyncio.run(touch())

    done = runner.invoke(app, ["db", "upgrade"])
    assert done.exit_code == 0, done.stderr
    assert "applied 0002_ledger_and_replies" in done.stderr

    applied, pending, committees, suppressions = asyncio.run(_read(url))
    assert applied[:2] == ["0001_initial", "0002_ledger_and_replies"]
    assert pending == []
    assert committees == '["DROI"]'
    assert suppressions == 1

    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0
    assert "schema already current" in again.stderr


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    url = "sqlite://" + str(tmp_path / "outreach.db")

    async def scenario() -> str:
        async with open_db(url, create=True, migrate=True) as ctx:
            await ctx.db().execute_query(
                "INSERT INTO tortoise_migrations (app, name, applied_at) "
                "VALUES ('models', '9999_from_the_future', CURRENT_TIMESTAMP)"
            )
        try:
            async with open_db(url):
                pass
        except Exception as exc:
            return str(exc)
        return ""

    message = asyncio.run(scenario())
    assert "newer outreach" in message
    assert "9999_from_the_future" in message
