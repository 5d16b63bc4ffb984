"""Issue #7: the claim's SQL on PostgreSQL really locks rows, and skips locked ones.

Tortoise drops ``FOR UPDATE`` when ``.values()`` follows ``select_for_update()``
(tortoise-orm #2250); the ledger writes its SQL itself. These tests read the SQL
the database is sent and hold rows locked from another connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from tortoise import connections

from outreach.config import Settings
from outreach.models import Campaign, Delivery
from outreach.sending import ledger
from outreach.sending.pacing import Pace, utcnow
from outreach.sending.worker import runnable_campaigns, serve
from tests.helpers_scale import (  # noqa: F401 (the fixtures)
    pg_fixture,
    pg_workspace_fixture,
    planned_campaign,
)
from tests.helpers_smtp import smtp_sink

LEASE = timedelta(seconds=30)


async def _start_sending(name: str) -> Campaign:
    campaign = await Campaign.get(name=name)
    campaign.state = "sending"
    await campaign.save(update_fields=["state"])
    return campaign


async def test_claim_sql_carries_for_update_skip_locked(
    pg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await planned_campaign(pg, "sql", [f"t{n}@d{n % 3}.example" for n in range(12)])
    campaign = await _start_sending("sql")
    conn = connections.get("default")
    seen: list[str] = []
    original = type(conn).execute_query_dict

    async def logged(self: Any, query: str, values: list[Any] | None = None) -> Any:
        seen.append(query)
        return await original(self, query, values)

    monkeypatch.setattr(type(conn), "execute_query_dict", logged)
    got = await ledger.claim(campaign_id=campaign.id, owner="a", batch=4, pace=Pace(0, 0),
                             lease=LEASE, now=utcnow())
    assert len(got.rows) == 4
    selects = [q for q in seen if "FROM delivery d" in q]
    assert len(selects) == 2, seen  # deferred, then planned
    assert all(q.rstrip().endswith("FOR UPDATE OF d SKIP LOCKED") for q in selects), selects
    updates = [q for q in seen if q.startswith("UPDATE delivery SET state = 'sending'")]
    assert updates
    assert "state IN ('planned', 'deferred')" in updates[0]


async def test_claim_skips_rows_another_transaction_holds(
    pg: Settings, postgres_url: str
) -> None:
    await planned_campaign(pg, "locks", [f"t{n}@d{n}.example" for n in range(10)])
    campaign = await _start_sending("locks")
    first_five = sorted(await Delivery.filter(campaign_id=campaign.id).order_by(
        "scheduled_at", "id").limit(5).values_list("id", flat=True))
    other = await asyncpg.connect(pg.database_url.replace("postgresql://", "postgres://", 1))
    try:
        lock = other.transaction()
        await lock.start()
        await other.execute("SELECT id FROM delivery WHERE id = ANY($1::int[]) FOR UPDATE",
                            first_five)
        # a claim must neither wait for the lock nor take the locked rows
        got = await asyncio.wait_for(ledger.claim(
            campaign_id=campaign.id, owner="b", batch=10, pace=Pace(0, 0), lease=LEASE,
            now=utcnow()), timeout=5)
        await lock.rollback()
    finally:
        await other.close()
    taken = {row.id for row in got.rows}
    assert len(taken) == 5
    assert not taken & set(first_five)


async def test_two_claims_at_once_never_share_a_letter(pg: Settings) -> None:
    await planned_campaign(pg, "race", [f"t{n}@d{n % 4}.example" for n in range(60)])
    campaign = await _start_sending("race")

    async def claim(owner: str) -> list[int]:
        got = await ledger.claim(campaign_id=campaign.id, owner=owner, batch=10,
                                 pace=Pace(0, 0), lease=LEASE, now=utcnow())
        return [row.id for row in got.rows]

    results = await asyncio.gather(*(claim(f"o{n}") for n in range(6)))
    every = [ident for ids in results for ident in ids]
    assert len(every) == len(set(every)) == 60
    owners = await Delivery.filter(campaign_id=campaign.id).values_list("lease_owner",
                                                                        flat=True)
    assert Counter(owners) == {f"o{n}": 10 for n in range(6)}


async def test_worker_serves_sending_campaigns_not_planned_ones(pg: Settings) -> None:
    await planned_campaign(pg, "on", ["a@x.example", "b@y.example"])
    await planned_campaign(pg, "waiting", ["c@x.example"])
    await _start_sending("on")
    assert await runnable_campaigns(include_planned=False) == ["on"]
    assert await runnable_campaigns(include_planned=True) == ["on", "waiting"]
    async with smtp_sink() as sink:
        # the settings' relay is the capture folder: point this run at the sink
        settings = dataclasses.replace(pg, smtp=dataclasses.replace(
            pg.smtp, url=f"smtp://127.0.0.1:{sink.port}"))
        summary = await serve(settings=settings, shutdown=asyncio.Event(), until_idle=True,
                              poll=0.05)
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == ["a@x.example", "b@y.example"]
    assert summary.campaigns["on"].tally.sent == 2
    assert "waiting" not in summary.campaigns
    assert (await Campaign.get(name="on")).state == "done"
    assert (await Campaign.get(name="waiting")).state == "planned"


async def test_renew_and_reap_pass_over_rows_a_transaction_holds(pg: Settings) -> None:
    """The heartbeat must not wait for (and so deadlock with) a claim writing results."""
    await planned_campaign(pg, "beat", [f"t{n}@d{n}.example" for n in range(6)])
    campaign = await _start_sending("beat")
    now = utcnow()
    got = await ledger.claim(campaign_id=campaign.id, owner="a", batch=6, pace=Pace(0, 0),
                             lease=LEASE, now=now)
    held = got.rows[0].id
    other = await asyncpg.connect(pg.database_url.replace("postgresql://", "postgres://", 1))
    try:
        lock = other.transaction()
        await lock.start()
        await other.execute("SELECT id FROM delivery WHERE id = $1 FOR UPDATE", held)
        renewed = await asyncio.wait_for(ledger.renew(owner="a", until=now + LEASE), timeout=5)
        reaped = await asyncio.wait_for(ledger.reap(now=now + 2 * LEASE), timeout=5)
        await lock.rollback()
    finally:
        await other.close()
    assert (renewed, reaped) == (5, 5)
    assert (await Delivery.get(id=held)).state == "sending"
    assert await ledger.reap(now=now + 2 * LEASE) == 1
