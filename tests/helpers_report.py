"""A campaign with known outcomes for the report tests, built through the models directly.

Campaign ``c1`` (asks caucus and funding) wrote to ten contacts ``a``…``j``;
``c2`` follows it up (ask caucus) with one letter, to ``j``. ``NOW`` is the
moment the figures are computed at; most letters went out 30 days and 3 hours
before it. What happened to each letter:

====  =======  =====  ==========  ======  ===============================================
who   country  group  kind        state   what came back (hours after the letter)
====  =======  =====  ==========  ======  ===============================================
a     DE       EPP    mep         sent    a person's reply (10 h); caucus: supports
b     DE       S&D    mep         sent    a hard bounce (1 h); address suppressed
c     FR       EPP    ministry    sent    an auto-reply (2 h)
d     FR       -      government  sent    nothing; funding: opposes (a meeting)
e     FR       Renew  mep         failed  (the relay refused it)
f     IT       Renew  mep         planned (not sent); caucus: supports (a statement)
g     IT       EPP    mep         sent    reply (30 h, letter sent 1 h later than the
                                          others); caucus undecided, then supports;
                                          funding: open
h     BE       EPP    mep         sent    nothing (sent two days before NOW); caucus opposes
i     BE       -      mep         skipped
j     DE       EPP    mep         sent    auto-reply (3 h) and a hard bounce (4 h); then
                                          c2's letter 20 days later, replied after 5 h
====  =======  =====  ==========  ======  ===============================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

from outreach.models import Campaign, Contact, Delivery, Reply, Stance, Suppression

_n = count(1)
PEOPLE = {
    # who: (country, group, kind, committees, language)
    "a": ("DE", "EPP", "mep", ["LIBE", "DROI"], "de"),
    "b": ("DE", "S&D", "mep", ["LIBE"], "de"),
    "c": ("FR", "EPP", "ministry", [], "fr"),
    "d": ("FR", "", "government", [], "fr"),
    "e": ("FR", "Renew", "mep", ["DROI"], "en"),
    "f": ("IT", "Renew", "mep", [], "it"),
    "g": ("IT", "EPP", "mep", ["AFET"], "it"),
    "h": ("BE", "EPP", "mep", [], "en"),
    "i": ("BE", "", "mep", [], "en"),
    "j": ("DE", "EPP", "mep", [], "de"),
}


@dataclass
class Known:
    now: datetime
    sent: datetime
    people: dict[str, Contact]
    c1: Campaign
    c2: Campaign


async def letter(campaign: Campaign, contact: Contact, state: str,
                 sent_at: datetime | None, *, subject: str = "Interpol reform") -> Delivery:
    n = next(_n)
    return await Delivery.create(
        campaign=campaign, contact=contact, recipient=contact.email or "",
        domain=(contact.email or "@").split("@")[1], language=contact.language,
        subject=subject, message=b"Subject: x\r\n\r\nletter\r\n", message_id=f"<l{n}@test>",
        token=f"tok{n}", state=state, scheduled_at=sent_at or datetime(2026, 1, 1, tzinfo=UTC),
        sent_at=sent_at)


async def reply(campaign: Campaign, contact: Contact, kind: str, at: datetime,
                body: str = "Thank you for your letter.") -> Reply:
    return await Reply.create(
        message_id=f"<r{next(_n)}@test>", kind=kind, contact=contact, campaign=campaign,
        from_address=contact.email or "", subject=f"Re: {kind}", body=body, received_at=at,
        failed_address=contact.email if "bounce" in kind else "")


async def stance(contact: Contact, ask: str, value: str, at: datetime, *,
                 source: str = "reply") -> None:
    row = await Stance.create(contact=contact, ask=ask, stance=value, source=source)
    await Stance.filter(id=row.id).update(recorded_at=at)


async def build_known() -> Known:
    now = datetime.now(UTC).replace(microsecond=0)
    sent = now - timedelta(days=30, hours=3)
    people = {}
    for who, (country, group, kind, committees, language) in PEOPLE.items():
        people[who] = await Contact.create(
            email=f"{who}@example.org", name=f"Contact {who}", country=country,
            political_group=group, kind=kind, committees=json.dumps(committees),
            language=language)
    c1 = await Campaign.create(name="c1", template="mep", asks=json.dumps(["caucus", "funding"]))
    c2 = await Campaign.create(name="c2", template="follow-up", asks=json.dumps(["caucus"]),
                               follow_up_of=c1)
    p = people
    hour = timedelta(hours=1)
    for who in "abcdj":
        await letter(c1, p[who], "sent", sent)
    await letter(c1, p["e"], "failed", None)
    await letter(c1, p["f"], "planned", None)
    await letter(c1, p["g"], "sent", sent + hour)
    await letter(c1, p["h"], "sent", now - timedelta(days=2))
    await letter(c1, p["i"], "skipped", None)
    await letter(c2, p["j"], "sent", sent + timedelta(days=20), subject="Re: Interpol reform")
    await reply(c1, p["a"], "reply", sent + 10 * hour)
    await reply(c1, p["b"], "hard-bounce", sent + hour)
    await Suppression.create(email="b@example.org", email_hash="hb", reason="hard-bounce")
    await reply(c1, p["c"], "auto-reply", sent + 2 * hour)
    await reply(c1, p["g"], "reply", sent + 31 * hour)
    await reply(c1, p["j"], "auto-reply", sent + 3 * hour)
    await reply(c1, p["j"], "hard-bounce", sent + 4 * hour)
    await reply(c2, p["j"], "reply", sent + timedelta(days=20) + 5 * hour)
    await stance(p["a"], "caucus", "supports", sent + 11 * hour)
    await stance(p["f"], "caucus", "supports", sent + 12 * hour, source="statement")
    await stance(p["g"], "caucus", "undecided", sent + 32 * hour)
    await stance(p["g"], "caucus", "supports", sent + 50 * hour, source="meeting")
    await stance(p["g"], "funding", "open", sent + 32 * hour)
    await stance(p["d"], "funding", "opposes", sent + 60 * hour, source="meeting")
    await stance(p["h"], "caucus", "opposes", now - hour)
    return Known(now=now, sent=sent, people=people, c1=c1, c2=c2)
