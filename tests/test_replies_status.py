"""Derived status (precedence), stances, the --where fields on them, and follow-ups."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.errors import InputError, SelectionError, StateError
from outreach.models import Campaign, Contact, Delivery, Event, Reply, Suppression
from outreach.replies.followup import create_follow_up
from outreach.replies.stance import parse_assignments, record_stances, suggest
from outreach.replies.status import STATUSES, statuses
from outreach.selection import parse_where, select_contacts
from tests.helpers_replies import SENT_AT, sent_campaign
from tests.helpers_smtp import make_contacts

_ids = count(1)


async def reply(contact: Contact, campaign: Campaign, kind: str, body: str = "text") -> Reply:
    return await Reply.create(message_id=f"<r{next(_ids)}@test>", kind=kind, contact=contact,
                              campaign=campaign, received_at=SENT_AT + timedelta(days=1),
                              body=body)


async def picked(where: list[str], campaign: Campaign | None = None) -> list[str]:
    return [c.email or "" for c in await select_contacts(parse_where(where), campaign=campaign)]


async def test_status_precedence_per_campaign(db: Settings) -> None:
    emails = ["planned@x", "sent@x", "bounced@x", "auto@x", "replied@x", "gone@x", "failed@x"]
    campaign, letters = await sent_campaign(db, emails)
    (outsider,) = await make_contacts(["never@x"])
    who = {c.email: c for c in await Contact.all()}
    await Delivery.filter(id=letters["planned@x"].id).update(state="planned")
    await Delivery.filter(id=letters["failed@x"].id).update(state="failed")
    await reply(who["bounced@x"], campaign, "soft-bounce")
    await reply(who["auto@x"], campaign, "auto-reply")
    await reply(who["auto@x"], campaign, "hard-bounce")
    # bounced, then answered: replied
    await reply(who["replied@x"], campaign, "hard-bounce")
    await reply(who["replied@x"], campaign, "auto-reply")
    await reply(who["replied@x"], campaign, "reply")
    await reply(who["gone@x"], campaign, "reply")
    await Suppression.create(email="gone@x", email_hash="h1", reason="opt-out")
    found = await statuses(campaign)
    assert {email: found.get(c.id, "not-contacted") for email, c in who.items()} == {
        "planned@x": "planned", "sent@x": "sent", "bounced@x": "bounced",
        "auto@x": "auto-replied", "replied@x": "replied", "gone@x": "suppressed",
        "failed@x": "bounced", "never@x": "not-contacted"}
    # selecting without a campaign: the first status over every campaign (here just one)
    assert await picked(["status=sent"]) == ["sent@x"]
    assert await picked(["status=bounced", "status=planned"]) == [
        "planned@x", "bounced@x", "failed@x"]
    assert await picked(["status=not-contacted"]) == ["never@x"]
    assert await picked(["status=replied"]) == ["replied@x"]
    assert outsider.id not in found


async def test_status_values_are_checked() -> None:
    with pytest.raises(SelectionError, match="unknown status"):
        parse_where(["status=answered"])
    assert parse_where(["status=Not_Contacted"]).values("status") == ("not-contacted",)
    assert len(STATUSES) == 7


async def test_stances_latest_wins_and_select(db: Settings) -> None:
    campaign, _ = await sent_campaign(db, ["a@x", "b@x", "c@x"])
    a, b, _c = await Contact.all().order_by("id")
    await record_stances(a, {"caucus": "undecided"}, actor="ana", campaign=campaign)
    await record_stances(a, {"caucus": "supports", "funding": "open"}, actor="ana",
                         source="meeting", note="met in Strasbourg")
    await record_stances(b, {"caucus": "undecided"}, actor="ana")
    assert await picked(["stance.caucus=supports"]) == ["a@x"]
    assert await picked(["stance.caucus=undecided"]) == ["b@x"]
    assert await picked(["stance.caucus=none"]) == ["c@x"]
    assert await picked(["stance.funding=open", "stance.caucus=supports"]) == ["a@x"]
    events = await Event.filter(action="stance.set").order_by("id")
    assert len(events) == 4
    assert events[1].detail_dict["note"] == "met in Strasbourg"
    with pytest.raises(SelectionError, match="unknown ask"):
        await select_contacts(parse_where(["stance.colour=open"]))
    with pytest.raises(SelectionError, match="unknown stance"):
        parse_where(["stance.caucus=maybe"])


def test_stance_assignments_are_checked() -> None:
    assert parse_assignments(["caucus=Supports", "risk-assessment=open"]) == {
        "caucus": "supports", "risk-assessment": "open"}
    for bad in (["caucus"], ["colour=open"], ["caucus=maybe"], []):
        with pytest.raises(InputError):
            parse_assignments(bad)


async def test_suggestion_reads_only_the_persons_own_words(db: Settings) -> None:
    campaign, _ = await sent_campaign(db, ["a@x"])
    (a,) = await Contact.all()
    quoted = "\n\nOn Mon, 2 Mar 2026, Coalition wrote:\n> we ask you to support the caucus"
    cases = {
        "Thank you. I support this initiative fully." + quoted: "supports",
        "We cannot support this at present." + quoted: "opposes",
        "Interesting; I would like a meeting to discuss." + quoted: "open",
        "Received, thank you." + quoted: "undecided",
    }
    for body, expected in cases.items():
        assert suggest(await reply(a, campaign, "reply", body)) == expected
    assert suggest(await reply(a, campaign, "auto-reply", "I support it")) == ""
    assert await Event.filter(action="stance.set").count() == 0  # suggestions are not stored


async def test_follow_up_reaches_the_non_responders_threaded(db: Settings) -> None:
    campaign, letters = await sent_campaign(
        db, ["quiet@x.example", "answered@x.example", "undecided@x.example",
             "recent@x.example"], sent_at=SENT_AT)
    who = {c.email: c for c in await Contact.all()}
    await Delivery.filter(id=letters["recent@x.example"].id).update(
        sent_at=datetime.now(UTC) - timedelta(days=2))
    await reply(who["answered@x.example"], campaign, "reply")
    await record_stances(who["undecided@x.example"], {"caucus": "undecided"}, actor="ana")
    follow = await create_follow_up("c1", settings=db, template="follow-up", after="14d")
    assert follow.name == "c1-follow-up"
    assert follow.follow_up_of_id == campaign.id  # type: ignore[attr-defined]
    report = await plan_campaign(follow.name, settings=db)
    assert report.added == 2
    rows = {d.recipient: d for d in await Delivery.filter(campaign_id=follow.id)}
    assert set(rows) == {"quiet@x.example", "undecided@x.example"}
    first = letters["quiet@x.example"]
    message = email.message_from_bytes(rows["quiet@x.example"].message or b"")
    assert message["In-Reply-To"] == first.message_id
    assert first.message_id in (message["References"] or "")
    assert rows["quiet@x.example"].subject == f"Re: {first.subject}"
    # a narrower follow-up: only the undecided on the caucus
    narrow = await create_follow_up("c1", settings=db, template="follow-up", after="14d",
                                    where=["stance.caucus=undecided"], name="undecided")
    await plan_campaign(narrow.name, settings=db)
    assert [d.recipient for d in await Delivery.filter(campaign_id=narrow.id)] == [
        "undecided@x.example"]
    assert await Event.filter(action="campaign.follow-up").count() == 2


async def test_follow_up_needs_a_sent_campaign(db: Settings) -> None:
    campaign, _ = await sent_campaign(db, ["a@x.example"])
    await Delivery.filter(campaign_id=campaign.id).update(state="planned")
    with pytest.raises(StateError, match="sent no letter"):
        await create_follow_up("c1", settings=db, template="follow-up", after="14d")
    await Delivery.filter(campaign_id=campaign.id).update(state="sent")
    with pytest.raises(InputError, match="14d or 2y"):
        await create_follow_up("c1", settings=db, template="follow-up", after="soon")


async def test_a_new_campaign_reads_status_over_the_other_campaigns(db: Settings) -> None:
    first, _ = await sent_campaign(db, ["written@x.example", "replied@x.example"])
    await make_contacts(["fresh@x.example"])
    who = {c.email: c for c in await Contact.all()}
    await reply(who["replied@x.example"], first, "reply")
    from tests.helpers_smtp import make_campaign

    second = await make_campaign("round-2", where={"status": ["not-contacted"]})
    await plan_campaign("round-2", settings=db)
    assert [d.recipient for d in await Delivery.filter(campaign_id=second.id)] == [
        "fresh@x.example"]
    # planned letters of round-2 do not change what round-2 itself selects
    assert await picked(["status=not-contacted"], second) == ["fresh@x.example"]
    assert await picked(["status=replied"], second) == ["replied@x.example"]
