"""A sender killed with SIGKILL at random moments and resumed: exactly-once holds."""

from __future__ import annotations

from collections import Counter

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.models import Campaign, Delivery
from outreach.sending.pacing import Pace
from tests.helpers_smtp import make_campaign, make_contacts, send_with_kills, smtp_sink

K, BATCH, LETTERS, KILLS = 4, 5, 300, 4


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 2026])
async def test_sigkill_and_resume_never_duplicates(db: Settings, seed: int) -> None:
    await make_contacts([f"t{n}@d{n % 7}.example" for n in range(LETTERS)])
    await make_campaign("kill")
    from tests.helpers_smtp import tiny_renderer

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
