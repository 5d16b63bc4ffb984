"""A sender killed with SIGKILL at random moments and resumed: exactly-once holds."""

from __future__ import annotations

from collections import Counter

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.models import Campaign, Contact, Delivery
from outreach.sending.pacing import Pace
from tests.helpers_smtp import (
    make_campaign,
    make_contacts,
    send_with_kills,
    smtp_sink,
    tiny_renderer,
)

K, BATCH, LETTERS, KILLS = 4, 5, 300, 4


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2026])  # the 5,000-letter test below runs 20 kills more
async def test_sigkill_and_resume_never_duplicates(db: Settings, seed: int) -> None:
    await make_contacts([f"t{n}@d{n % 7}.example" for n in range(LETTERS)])
    await make_campaign("kill")
    await plan_campaign("kill", settings=db, pace=Pace(0, 0), renderer=tiny_renderer)
    env = {
        "OUTREACH_CONFIG": str(db.path),
        "OUTREACH_DATABASE_URL": db.database_url,
        "OUTREACH_SMTP_CONCURRENCY": str(K),
        "OUTREACH_SMTP_BATCH_SIZE": str(BATCH),
        "OUTREACH_SMTP_LEASE_SECONDS": "1",
        "OUTREACH_SMTP_BREAKER_THRESHOLD": "0",
    }
    # the sink takes 10 ms a letter, so a run killed within 0.15 s of its first delivery
    # has sent at most ~60 letters: every one of the kills lands mid-campaign
    async with smtp_sink(delay=0.01) as sink:
        env["OUTREACH_SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
        run = await send_with_kills("kill", sink=sink, env=env, kills=KILLS, seed=seed,
                                    lease_seconds=1, max_delay=0.15)
    assert run.kills == KILLS, run
    ids = [m.message_id for m in sink.messages]
    duplicates = [mid for mid, n in Counter(ids).items() if n > 1]
    assert duplicates == [], run
    rows = await Delivery.all()
    assert len(rows) == LETTERS
    states = Counter(r.state for r in rows)
    assert set(states) <= {"sent", "unknown"}, (states, run)
    by_id = {r.message_id: r for r in rows}
    assert all(by_id[mid].state in ("sent", "unknown") for mid in ids)
    assert {r.message_id for r in rows if r.state == "sent"} <= set(ids)
    assert states["unknown"] <= K * BATCH * KILLS
    assert states["sent"] + states["unknown"] == LETTERS
    campaign = await Campaign.get(name="kill")
    assert campaign.state == "done"


BIG_LETTERS, BIG_KILLS, BIG_K, BIG_BATCH = 5000, 20, 4, 10


@pytest.mark.slow
@pytest.mark.sqlite_only  # PostgreSQL: the 300-letter test above and tests/test_scale_senders.py
async def test_5000_letters_20_kills_no_duplicate_none_lost(db: Settings) -> None:
    """5,000 letters, 20 senders killed with SIGKILL at seeded moments, resumed each time.

    Each run is killed after a seeded random number of its deliveries (1-200, so the 20
    runs use at most ~4,000 letters even when a kill lands late on a busy machine), so
    every kill lands mid-campaign wherever the machine's speed; the next run starts at once
    (the dead one's leases, 1 s, are reaped by its heartbeat). Per kill, the letters the
    dead sender held (`sending`, its process id in the lease owner) are counted: they and
    only they become `unknown`, at most K × batch each time.

    On SQLite, the laptop's database (~25-40 s on a 2-core machine: 21 sender processes,
    most of the time their start-up); on PostgreSQL the same kills are exercised by the
    300-letter test above and by three senders sharing one ledger, one killed
    (tests/test_scale_senders.py), which keeps the whole suite inside its time.
    """
    contacts = [Contact(email=f"t{n}@d{n % 23}.example", name=f"Target {n}", kind="mep",
                        country="BE") for n in range(BIG_LETTERS)]
    await Contact.bulk_create(contacts, batch_size=500)
    await make_campaign("big")
    await plan_campaign("big", settings=db, pace=Pace(0, 0), renderer=tiny_renderer)
    env = {
        "OUTREACH_CONFIG": str(db.path),
        "OUTREACH_DATABASE_URL": db.database_url,
        "OUTREACH_SMTP_CONCURRENCY": str(BIG_K),
        "OUTREACH_SMTP_BATCH_SIZE": str(BIG_BATCH),
        "OUTREACH_SMTP_LEASE_SECONDS": "1",
        "OUTREACH_SMTP_BREAKER_THRESHOLD": "0",
    }
    held: list[int] = []

    async def count_held(pid: int) -> None:
        # the lease owner is host:pid:random (outreach.sending.engine.new_owner)
        held.append(await Delivery.filter(state="sending",
                                          lease_owner__contains=f":{pid}:").count())

    async with smtp_sink() as sink:
        env["OUTREACH_SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
        run = await send_with_kills("big", sink=sink, env=env, kills=BIG_KILLS, seed=8,
                                    lease_seconds=1, max_delay=0.02, after_letters=(1, 200),
                                    wait_for_lease=False, on_kill=count_held, timeout=120)
    assert run.kills == BIG_KILLS, run
    assert len(held) == BIG_KILLS
    assert max(held) <= BIG_K * BIG_BATCH, held
    ids = Counter(m.message_id for m in sink.messages)
    assert [mid for mid, n in ids.items() if n > 1] == [], "a letter went out twice"
    rows = await Delivery.all()
    assert len(rows) == BIG_LETTERS
    states = Counter(r.state for r in rows)
    assert set(states) <= {"sent", "unknown"}, states
    assert states["unknown"] == sum(held), (states, held)
    by_id = {r.message_id: r for r in rows}
    assert set(ids) <= set(by_id), "the relay got a letter the ledger does not know"
    assert {mid for mid, r in by_id.items() if r.state == "sent"} <= set(ids)
    campaign = await Campaign.get(name="big")
    assert campaign.state == "done"
