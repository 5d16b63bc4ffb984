"""Many senders on one PostgreSQL database: a workspace, a quick audience, sender processes.

The senders are real processes (``python -m outreach …``) pointed at the test's
database and at an aiosmtpd sink (:mod:`tests.helpers_smtp`) running in the test's
event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.models import Contact, Delivery
from outreach.sending.pacing import Pace
from outreach.setup import initialise
from tests.helpers_smtp import Sink, make_campaign, serve_sink, tiny_renderer


@pytest.fixture(name="pg_workspace")
def pg_workspace_fixture(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A folder with `outreach init` done against a fresh PostgreSQL database."""
    for key in list(os.environ):
        if key.startswith("OUTREACH_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    asyncio.run(initialise(tmp_path, values={"database_url": postgres_database}))
    return tmp_path


@pytest.fixture(name="pg")
async def pg_fixture(pg_workspace: Path) -> AsyncIterator[Settings]:
    """The PostgreSQL workspace's database open in the test's loop; yields the settings."""
    settings = load_settings(pg_workspace / "outreach.toml")
    async with open_db(settings.database_url):
        yield settings


async def planned_campaign(settings: Settings, name: str, emails: list[str], *,
                           pace: Pace | None = None) -> None:
    """Contacts for ``emails`` (in one statement), a campaign for all of them, planned."""
    await Contact.bulk_create(
        [Contact(email=addr, name=f"Target {n}", kind="mep", country="BE")
         for n, addr in enumerate(emails)], batch_size=1000)
    await make_campaign(name)
    await plan_campaign(name, settings=settings, pace=pace or Pace(0, 0),
                        renderer=tiny_renderer)


def sender_env(settings: Settings, sink: Sink, *, concurrency: int = 4, batch: int = 10,
               lease_seconds: int = 2) -> dict[str, str]:
    return {
        **os.environ,
        "OUTREACH_CONFIG": str(settings.path),
        "OUTREACH_DATABASE_URL": settings.database_url,
        "OUTREACH_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "OUTREACH_SMTP_CONCURRENCY": str(concurrency),
        "OUTREACH_SMTP_BATCH_SIZE": str(batch),
        "OUTREACH_SMTP_LEASE_SECONDS": str(lease_seconds),
        "OUTREACH_SMTP_BREAKER_THRESHOLD": "0",
    }


@dataclass
class Proc:
    """A sender process and what it printed."""

    process: asyncio.subprocess.Process
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, sig: signal.Signals) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)

    async def finish(self, timeout: float = 60.0) -> int:
        self.stdout, self.stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        return int(self.process.returncode or 0)

    def json(self) -> Any:
        return json.loads(self.stdout.decode())


async def start(*args: str, env: dict[str, str]) -> Proc:
    """``python -m outreach ARGS`` in the background."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outreach", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return Proc(process)


async def wait_for(sink: Sink, count: int, *, timeout: float = 60.0) -> None:
    """Until the sink holds at least ``count`` messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(sink.messages) < count:
        if loop.time() > deadline:
            raise AssertionError(f"the sink got {len(sink.messages)} of {count} letters")
        await asyncio.sleep(0.01)


async def states() -> dict[str, int]:
    out: dict[str, int] = {}
    for row in await Delivery.all().values_list("state", flat=True):
        out[str(row)] = out.get(str(row), 0) + 1
    return out


async def sending_owners() -> list[str]:
    """The lease owners of every letter now `sending`."""
    rows = await Delivery.filter(state="sending").values_list("lease_owner", flat=True)
    return [str(owner) for owner in rows]


@dataclass
class TimedSink(Sink):
    """A sink that also notes when each message arrived (monotonic seconds)."""

    times: list[float] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.times.append(time.monotonic())
        return answer


@asynccontextmanager
async def timed_sink(**kwargs: Any) -> AsyncIterator[TimedSink]:
    sink = TimedSink(**kwargs)
    async with serve_sink(sink, lambda: SMTPServer(sink, hostname="sink.test")):
        yield sink
