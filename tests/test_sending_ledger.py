"""The ledger: claims, pacing at claim time, leases, unknowns, group commit (fake clock)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.models import Campaign, Delivery, DeliveryState, Suppression
from outreach.sending import ledger
from outreach.sending.ledger import Result
from outreach.sending.pacing import Pace, Window, zone_for
from tests.helpers_smtp import make_campaign, make_contacts, tiny_renderer

MONDAY = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC
LEASE = timedelta(seconds=5)
FAST = Pace(rate_per_minute=0, per_domain_per_hour=0)


async def planned(name: str, emails: list[str], pace: Pace, *, start: datetime,
                  settings: Settings, countries: list[str] | None = None) -> Campaign:
    for n, addr in enumerate(emails):
        await make_contacts([addr], country=(countries or ["BE"])[n % len(countries or ["BE"])])
    campaign = await make_campaign(name)
    await plan_campaign(name, settings=settings, pace=pace, start=start,
                        renderer=tiny_renderer, clock=lambda: start)
    await Campaign.filter(id=campaign.id).update(state="sending")
    return campaign


async def sent(rows: list[ledger.Claimed], owner: str, at: datetime) -> None:
    await ledger.record([Result(r.id, DeliveryState.SENT, 250, "OK", at) for r in rows],
                        owner=owner)


async def test_window_and_domain_rate_hold_in_plan_and_at_claim(db: Settings) -> None:
    """--per-domain 30/h --window 09:00-17:00 --weekdays, a sender starting an hour late."""
    pace = Pace(rate_per_minute=60, per_domain_per_hour=30,
                window=Window.parse("09:00-17:00", weekdays_only=True))
    countries = ["BE", "PT", "GR", "FI", "IE", "DE"]
    meps = [f"mep{n}@europarl.example" for n in range(40)]
    others = [f"min{n}@gov{n % 3}.example" for n in range(12)]
    campaign = await planned("paced", meps + others, pace, start=MONDAY, settings=db,
                             countries=countries)
    rows = await Delivery.filter(campaign_id=campaign.id).prefetch_related("contact")
    from outreach import refdata

    def local_ok(at: datetime, country: str) -> bool:
        info = refdata.country(country)
        assert info is not None
        local = at.astimezone(zone_for(info.timezone))
        return local.weekday() < 5 and 9 <= local.hour < 17

    by_domain: dict[str, list[datetime]] = {}
    for row in rows:
        assert local_ok(row.scheduled_at, row.contact.country), (row.recipient, row.scheduled_at)
        by_domain.setdefault(row.domain, []).append(row.scheduled_at)
    for times in by_domain.values():
        times.sort()
        assert all(b - a >= timedelta(minutes=2) for a, b in itertools.pairwise(times))
    # the sender starts an hour after the schedule began: the spacing still holds
    now = min(r.scheduled_at for r in rows) + timedelta(hours=1)
    claimed_at: dict[str, list[datetime]] = {}
    country_of = {r.id: r.contact.country for r in rows}
    domain_of = {r.id: r.domain for r in rows}
    for _ in range(4000):
        got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=10, pace=pace,
                                 lease=LEASE, now=now)
        for row in got.rows:
            assert local_ok(now, country_of[row.id]), (row.recipient, now)
            claimed_at.setdefault(domain_of[row.id], []).append(now)
        await sent(got.rows, "A", now)
        if sum(len(v) for v in claimed_at.values()) == len(rows):
            break
        now += timedelta(seconds=20)
    assert sum(len(v) for v in claimed_at.values()) == len(rows)
    for times in claimed_at.values():
        assert all(b - a >= timedelta(minutes=2) for a, b in itertools.pairwise(times))
    # a backlog: the late sender did not burst, the europarl letters took their time
    europarl = claimed_at["europarl.example"]
    assert europarl[-1] - europarl[0] >= timedelta(minutes=2) * (len(europarl) - 1)


async def test_global_rate_holds_at_claim_time(db: Settings) -> None:
    pace = Pace(rate_per_minute=6, per_domain_per_hour=0)
    emails = [f"t{n}@d{n}.example" for n in range(8)]
    campaign = await planned("rate", emails, pace, start=MONDAY, settings=db)
    now = MONDAY + timedelta(hours=3)  # far behind schedule: everything is due
    times: list[datetime] = []
    while len(times) < len(emails):
        got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=5, pace=pace,
                                 lease=LEASE, now=now)
        times += [now] * len(got.rows)
        await sent(got.rows, "A", now)
        now += timedelta(seconds=1)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= timedelta(seconds=9)  # 10 s interval, 1 s tolerance


async def test_expired_lease_makes_unknown_never_resent_until_asked(db: Settings) -> None:
    campaign = await planned("lease", [f"t{n}@a.example" for n in range(6)], FAST,
                             start=MONDAY, settings=db)
    got = await ledger.claim(campaign_id=campaign.id, owner="dead", batch=4, pace=FAST,
                             lease=LEASE, now=MONDAY)
    assert len(got.rows) == 4
    assert await ledger.reap(now=MONDAY + timedelta(seconds=4)) == 0
    assert await ledger.reap(now=MONDAY + timedelta(seconds=6)) == 4
    counts = await ledger.counts(campaign.id)
    assert counts["unknown"] == 4
    assert counts["planned"] == 2
    later = MONDAY + timedelta(seconds=7)
    again = await ledger.claim(campaign_id=campaign.id, owner="B", batch=10, pace=FAST,
                               lease=LEASE, now=later)
    assert {r.id for r in again.rows}.isdisjoint({r.id for r in got.rows})
    assert len(again.rows) == 2
    row = await Delivery.get(id=got.rows[0].id)
    assert "lease expired" in row.smtp_text
    # the campaigner decides
    assert await ledger.resend_unknown(campaign_id=campaign.id, now=later) == 4
    third = await ledger.claim(campaign_id=campaign.id, owner="B", batch=10, pace=FAST,
                               lease=LEASE, now=later)
    assert {r.id for r in third.rows} == {r.id for r in got.rows}


async def test_late_result_corrects_unknown_but_not_others_rows(db: Settings) -> None:
    campaign = await planned("late", ["a@a.example", "b@a.example"], FAST, start=MONDAY,
                             settings=db)
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=2, pace=FAST,
                             lease=LEASE, now=MONDAY)
    await ledger.reap(now=MONDAY + timedelta(seconds=10))
    await sent(got.rows[:1], "A", MONDAY + timedelta(seconds=11))
    await sent(got.rows[1:], "intruder", MONDAY + timedelta(seconds=11))
    first, second = (await Delivery.get(id=got.rows[0].id), await Delivery.get(id=got.rows[1].id))
    assert first.state == "sent"
    assert first.smtp_code == 250
    assert second.state == "unknown"


async def test_renew_and_release(db: Settings) -> None:
    campaign = await planned("renew", ["a@a.example", "b@b.example"], FAST, start=MONDAY,
                             settings=db)
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=2, pace=FAST,
                             lease=LEASE, now=MONDAY)
    assert await ledger.renew(owner="A", until=MONDAY + timedelta(minutes=5)) == 2
    assert await ledger.reap(now=MONDAY + timedelta(minutes=1)) == 0
    assert await ledger.release([r.id for r in got.rows], owner="B", now=MONDAY) == 0
    assert await ledger.release([r.id for r in got.rows], owner="A", now=MONDAY) == 2
    assert (await ledger.counts(campaign.id))["planned"] == 2


async def test_suppressed_contact_is_skipped_at_claim_time(db: Settings) -> None:
    campaign = await planned("supp", ["keep@a.example", "gone@b.example"], FAST, start=MONDAY,
                             settings=db)
    await Suppression.create(email="gone@b.example", email_hash="x" * 64, reason="opt-out")
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=5, pace=FAST,
                             lease=LEASE, now=MONDAY)
    assert [r.recipient for r in got.rows] == ["keep@a.example"]
    assert got.skipped == 1
    row = await Delivery.get(recipient="gone@b.example")
    assert row.state == "skipped"
    assert "suppressed" in row.smtp_text


async def test_concurrent_claims_never_share_a_letter(db: Settings) -> None:
    campaign = await planned("race", [f"t{n}@d{n}.example" for n in range(60)], FAST,
                             start=MONDAY, settings=db)

    async def worker(owner: str) -> list[int]:
        mine: list[int] = []
        while True:
            got = await ledger.claim(campaign_id=campaign.id, owner=owner, batch=3, pace=FAST,
                                     lease=LEASE, now=MONDAY)
            if not got.rows:
                return mine
            mine += [r.id for r in got.rows]
            await sent(got.rows, owner, MONDAY)

    results = await asyncio.gather(*(worker(f"w{n}") for n in range(4)))
    flat = [i for ids in results for i in ids]
    assert len(flat) == len(set(flat)) == 60
    assert (await ledger.counts(campaign.id))["sent"] == 60


async def test_paused_campaign_claims_nothing(db: Settings) -> None:
    campaign = await planned("pause", ["a@a.example"], FAST, start=MONDAY, settings=db)
    await Campaign.filter(id=campaign.id).update(state="paused")
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=5, pace=FAST,
                             lease=LEASE, now=MONDAY)
    assert got.stopped
    assert not got.rows


async def test_group_commit_writes_many_results_in_one_call(db: Settings) -> None:
    campaign = await planned("group", [f"t{n}@a{n}.example" for n in range(30)], FAST,
                             start=MONDAY, settings=db)
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=30, pace=FAST,
                             lease=LEASE, now=MONDAY)
    results = [Result(r.id, DeliveryState.FAILED if n % 2 else DeliveryState.SENT,
                      550 if n % 2 else 250, "no" if n % 2 else "ok", MONDAY)
               for n, r in enumerate(got.rows)]
    assert await ledger.record(results, owner="A") == 30
    counts = await ledger.counts(campaign.id)
    assert counts["sent"] == 15
    assert counts["failed"] == 15
    sent_row = await Delivery.filter(campaign_id=campaign.id, state="sent").first()
    assert sent_row is not None
    assert sent_row.sent_at == MONDAY
    assert sent_row.attempts == 1


async def test_erased_contact_is_skipped_at_claim_time(db: Settings) -> None:
    from outreach.models import Contact

    campaign = await planned("erase", ["keep@a.example", "erased@b.example"], FAST,
                             start=MONDAY, settings=db)
    await Delivery.filter(recipient="erased@b.example").update(recipient="", message=None)
    await Contact.filter(email="erased@b.example").delete()
    got = await ledger.claim(campaign_id=campaign.id, owner="A", batch=5, pace=FAST,
                             lease=LEASE, now=MONDAY)
    assert [r.recipient for r in got.rows] == ["keep@a.example"]
    assert got.skipped == 1
    assert (await ledger.counts(campaign.id))["skipped"] == 1
