"""What the doctor tests share: run `outreach doctor --json`, reach into the database."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from outreach.config import load_settings
from outreach.db import open_db

FIXTURES = Path(__file__).parent / "fixtures" / "sending"
#: a sender at a domain of the test mail stack that is not the example.org placeholder
SENDER = "campaign@example.com"

CONTACTS = (
    "email,name,kind,country,language\n"
    "anna.berg@example.org,Anna Berg,mep,SE,sv\n"
    "paul.roux@example.org,Paul Roux,mep,FR,fr\n"
    "jan.novak@example.org,Jan Novak,mep,CZ,en\n"
)


def doctor(cli: Any, *args: str, env: dict[str, str] | None = None
           ) -> tuple[int, dict[str, dict[str, str]]]:
    """Exit code and the checks by name (the last of each name wins: campaign warnings
    share a name, so ``checks_named`` gives them all)."""
    result = cli("doctor", "--json", *args, env=env)
    assert "Traceback" not in result.stderr
    rows = json.loads(result.stdout)
    return result.exit_code, {row["check"]: row for row in rows}


def checks_named(cli: Any, name: str, *args: str, env: dict[str, str] | None = None
                 ) -> list[dict[str, str]]:
    result = cli("doctor", "--json", *args, env=env)
    return [row for row in json.loads(result.stdout) if row["check"] == name]


def dkim_key(tmp: Path) -> Path:
    """A private key in a temporary folder (the test key the sending tests also use)."""
    target = tmp / "keys" / "dkim.pem"
    target.parent.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "dkim-test.pem", target)
    return target


def in_database(workspace: Path, body: Callable[[], Coroutine[Any, Any, object]]) -> object:
    """Run ``body`` with the workspace's database open (from a sync test)."""

    async def wrapped() -> object:
        settings = load_settings(workspace / "outreach.toml")
        async with open_db(settings.database_url):
            return await body()

    return asyncio.run(wrapped())


def planned_campaign(cli: Any, workspace: Path, *extra: str) -> None:
    """Three targets imported and campaign c1 planned (capture relay)."""
    (workspace / "targets.csv").write_text(CONTACTS, encoding="utf-8")
    for args in (("contacts", "import", "targets.csv"),
                 ("campaign", "create", "c1", "-t", "mep", "-a", "caucus"),
                 ("campaign", "plan", "c1", "--rate", "6000/min", "--per-domain", "36000/h",
                  *extra)):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
