"""Planning: once per contact, again adds only the new, rerender keeps ids, caps, exclusions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from outreach.campaigns.manage import create_campaign
from outreach.campaigns.plan import RenderedLetter, plan_campaign
from outreach.config import Settings
from outreach.errors import SelectionError
from outreach.models import Campaign, Contact, Delivery, Suppression
from outreach.sending.pacing import Pace, Slotted, Window, schedule
from tests.helpers_smtp import make_campaign, make_contacts, tiny_renderer

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FAST = Pace(rate_per_minute=0, per_domain_per_hour=0)


def clock() -> datetime:
    return NOW


async def test_plan_again_adds_only_new_contacts_and_keeps_sent(db: Settings) -> None:
    await make_contacts(["a@x.example", "b@y.example"])
    await make_campaign("c")
    first = await plan_campaign("c", settings=db, pace=FAST, renderer=tiny_renderer, clock=clock)
    assert first.added == 2
    row = await Delivery.get(recipient="a@x.example")
    await Delivery.filter(id=row.id).update(state="sent", message=b"as sent")
    await make_contacts(["c@z.example"])
    second = await plan_campaign("c", settings=db, pace=FAST, renderer=tiny_renderer,
                                 clock=clock)
    assert (second.added, second.existing) == (1, 2)
    assert await Delivery.filter(campaign__name="c").count() == 3
    assert (await Delivery.get(id=row.id)).message == b"as sent"
    assert (await Campaign.get(name="c")).state == "planned"


async def test_rerender_keeps_message_ids_and_spares_sent_letters(db: Settings) -> None:
    await make_contacts(["a@x.example", "b@y.example"])
    await make_campaign("c")
    await plan_campaign("c", settings=db, pace=FAST, renderer=tiny_renderer, clock=clock)
    before = {d.recipient: d for d in await Delivery.all()}
    await Delivery.filter(recipient="a@x.example").update(state="sent")

    def fixed(contact: Contact, campaign: Campaign, mid: str, reply_to: str | None
              ) -> RenderedLetter:
        letter = tiny_renderer(contact, campaign, mid, reply_to)
        return RenderedLetter("Fixed typo", "en", letter.message.replace(b"Dear", b"Dear dear"))

    report = await plan_campaign("c", settings=db, pace=FAST, renderer=fixed, rerender=True,
                                 clock=clock)
    assert report.rerendered == 1
    assert report.added == 0
    after = {d.recipient: d for d in await Delivery.all()}
    assert after["b@y.example"].subject == "Fixed typo"
    assert b"Dear dear" in after["b@y.example"].message
    assert after["b@y.example"].message_id == before["b@y.example"].message_id
    assert after["b@y.example"].scheduled_at == before["b@y.example"].scheduled_at
    assert after["a@x.example"].subject == before["a@x.example"].subject


async def test_message_id_is_deterministic_and_at_sender_domain(db: Settings) -> None:
    (contact,) = await make_contacts(["a@x.example"])
    campaign = await make_campaign("c")
    await plan_campaign("c", settings=db, pace=FAST, renderer=tiny_renderer, clock=clock)
    row = await Delivery.get(recipient="a@x.example")
    assert row.message_id.startswith(f"<outreach.c{campaign.id}.t{contact.id}.")
    assert row.message_id.endswith("@example.org>")
    assert f"Message-ID: {row.message_id}".encode() in row.message
    assert b"\r\nDate:" not in row.message
    assert not row.message.startswith(b"Date:")


async def test_suppressed_no_address_excluded_and_capped(db: Settings) -> None:
    await make_contacts(["keep@x.example", "optout@x.example", "twice@y.example"])
    await Contact.create(name="No Address", kind="mep", country="BE")
    await Suppression.create(email="optout@x.example", email_hash="h" * 64, reason="opt-out")
    await make_campaign("earlier")
    await plan_campaign("earlier", settings=db, pace=FAST, renderer=tiny_renderer, clock=clock)
    await make_contacts(["fresh@z.example"])
    await create_campaign("later", settings=db, template="mep", asks=["caucus"],
                          exclude_campaigns=["earlier"], check_template=False)
    report = await plan_campaign("later", settings=db, pace=FAST, renderer=tiny_renderer,
                                 clock=clock)
    assert (report.added, report.excluded, report.no_address) == (1, 2, 1)
    # optout was skipped in "earlier", so it is not excluded, but still suppressed
    assert report.suppressed == 1
    await make_campaign("third")
    capped = await plan_campaign("third", settings=db, pace=FAST, renderer=tiny_renderer,
                                 clock=clock, max_per_contact=(1, timedelta(days=30)))
    assert capped.capped == 3  # keep, twice (earlier) and fresh (later) had a letter
    states = {d.recipient: d.state for d in await Delivery.filter(campaign__name="earlier")}
    assert states["optout@x.example"] == "skipped"


async def test_unknown_where_field_is_refused_at_create(db: Settings) -> None:
    with pytest.raises(SelectionError, match="unknown field"):
        await create_campaign("x", settings=db, template="mep", asks=["caucus"],
                              where=["colour=blue"], check_template=False)


def test_schedule_interleaves_domains_and_spaces_one_domain() -> None:
    pace = Pace(rate_per_minute=60, per_domain_per_hour=30)
    letters = [Slotted("ep.example", "UTC", n) for n in range(5)] + [
        Slotted(f"gov{n}.example", "UTC", 100 + n) for n in range(5)]
    out = schedule(letters, pace=pace, start=NOW)
    ep = sorted(s.at for s in out if s.domain == "ep.example")  # type: ignore[type-var]
    assert all(b - a == timedelta(minutes=2) for a, b in itertools.pairwise(ep))
    others = [s.at for s in out if s.domain != "ep.example"]
    assert max(others) <= NOW + timedelta(seconds=10)  # not stuck behind the slow domain
    times = sorted(s.at for s in out)  # type: ignore[type-var]
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(times))


def test_window_skips_weekend_and_night_in_local_time() -> None:
    window = Window.parse("09:00-17:00", weekdays_only=True)
    from zoneinfo import ZoneInfo

    athens = ZoneInfo("Europe/Athens")
    friday_evening = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 18:00 in Athens
    opening = window.next_open(friday_evening, athens)
    assert opening.astimezone(athens) == datetime(2026, 12, 7, 9, 0, tzinfo=athens)
    inside = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 10:00 in Athens, a Monday
    assert window.next_open(inside, athens) == inside
    assert window.contains(inside, athens)
