"""The story of a contact for ``contacts show``: letters, replies, stances, suppressions.

Three timeline providers (:func:`outreach.contacts.manage.register_timeline`),
each dated by what happened rather than when it was recorded:

- **letters**, at the moment they went out (or were planned, refused, skipped),
  with the command that writes each one as an ``.eml`` file to read;
- **replies** (person replies, auto-replies, bounces, complaints), at their arrival,
  with ``outreach replies show N`` to read them;
- **stance changes**, with the previous stance on that ask and where the new one
  came from (a reply, a meeting, a statement …).

The audit events ``replies.receive`` and ``stance.set`` tell the same as the last
two, so they are hidden from the audit entries; suppressions (``replies.suppress``)
keep their audit entry, described in words.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise.expressions import Q

from outreach.contacts.manage import (
    DESCRIBERS,
    SUPERSEDED_ACTIONS,
    TimelineEntry,
    register_timeline,
)
from outreach.models import Campaign, Contact, Delivery, Reply, Stance

#: the file names ``campaign preview`` gives (outreach.campaigns.preview)
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
_REPLY_WORDS = {
    "reply": "replied", "auto-reply": "automatic reply", "hard-bounce": "bounced (hard)",
    "soft-bounce": "bounced (soft)", "complaint": "complaint (marked as spam)",
}


async def _position(letter: Delivery) -> int:
    """The letter's number in ``campaign preview`` (ordered by schedule, then id)."""
    earlier = await Delivery.filter(campaign_id=letter.campaign_id).filter(  # type: ignore[attr-defined]
        Q(scheduled_at__lt=letter.scheduled_at)
        | Q(scheduled_at=letter.scheduled_at, id__lte=letter.id)).count()
    return int(earlier)


async def _letters(contact: Contact) -> list[TimelineEntry]:
    rows = await Delivery.filter(contact_id=contact.id).order_by("id")
    campaigns = {c.id: c for c in await Campaign.filter(
        id__in=sorted({r.campaign_id for r in rows}))}  # type: ignore[attr-defined]
    names = {c.id: c.name for c in await Campaign.filter(
        id__in=sorted({c.follow_up_of_id for c in campaigns.values()  # type: ignore[attr-defined]
                       if c.follow_up_of_id is not None}))}  # type: ignore[attr-defined]
    out = []
    for row in rows:
        campaign = campaigns[row.campaign_id]  # type: ignore[attr-defined]
        first = campaign.follow_up_of_id  # type: ignore[attr-defined]
        what = f"follow-up letter (to {names.get(first, '?')})" if first else "letter"
        where = f"in {campaign.name}"
        read = ""
        if row.message is not None:
            n = await _position(row)
            read = (f"outreach campaign preview {campaign.name} → "
                    f"preview-{campaign.name}/{n:05d}-{_UNSAFE.sub('_', row.recipient)}.eml")
        at = row.sent_at or row.first_attempt_at or row.scheduled_at
        if row.state in ("sent", "unknown", "sending"):
            summary = f"{what} sent {where} to {row.recipient}: “{row.subject}”"
            if row.state == "unknown":
                summary += " (the relay's answer was lost)"
        elif row.state == "failed":
            summary = (f"{what} {where} refused by the relay: {row.smtp_code or ''} "
                       f"{row.smtp_text}".rstrip())
        elif row.state == "skipped":
            summary = f"{what} {where} skipped" + (f" ({row.smtp_text})" if row.smtp_text else "")
        else:
            due = row.next_attempt_at or row.scheduled_at
            summary = f"{what} {where} {row.state}, due {due:%Y-%m-%d %H:%M} UTC"
        if read:
            summary += f" — read it: {read}"
        out.append(TimelineEntry(at=at, kind="letter", summary=summary, details={
            "campaign": campaign.name, "letter": row.id, "state": row.state,
            "message_id": row.message_id, "read": read}))
    return out


async def _replies(contact: Contact) -> list[TimelineEntry]:
    rows = await Reply.filter(contact_id=contact.id).order_by("received_at", "id") \
        .prefetch_related("campaign", "delivery")
    out = []
    for r in rows:
        where = f" in {r.campaign.name}" if r.campaign else ""
        word = _REPLY_WORDS.get(r.kind, r.kind)
        summary = f"{word}{where}: “{r.subject}”"
        if r.kind in ("hard-bounce", "soft-bounce") and r.failed_address:
            summary = f"{word}{where} for {r.failed_address}" + (
                f" ({r.dsn_status})" if r.dsn_status else "")
        if r.opt_out_request:
            summary += " — asks not to be written to again"
        summary += f" — read it: outreach replies show {r.id}"
        sent = r.delivery.sent_at if r.delivery else None
        out.append(TimelineEntry(at=r.received_at, kind=f"reply.{r.kind}", summary=summary,
                                 details={"reply": r.id, "kind": r.kind,
                                          "campaign": r.campaign.name if r.campaign else None},
                                 order=sent if sent and sent > r.received_at else None))
    return out


async def _stances(contact: Contact) -> list[TimelineEntry]:
    rows = await Stance.filter(contact_id=contact.id).order_by("recorded_at", "id")
    previous: dict[str, str] = {}
    out = []
    for s in rows:
        before = previous.get(s.ask)
        change = f"{before} → {s.stance}" if before and before != s.stance else s.stance
        origin = f"reply {s.reply_id}" if s.reply_id else s.source  # type: ignore[attr-defined]
        summary = f"stance on {s.ask}: {change} (from {origin})"
        if s.note:
            summary += f": {s.note}"
        previous[s.ask] = s.stance
        out.append(TimelineEntry(at=s.recorded_at, kind="stance", summary=summary, details={
            "actor": s.recorded_by, "ask": s.ask, "stance": s.stance, "previous": before,
            "source": s.source}))
    return out


def _suppressed(details: dict[str, Any]) -> str:
    text = f"suppressed ({details.get('reason', '?')}): {details.get('email', '')}"
    if details.get("skipped"):
        text += f"; {details['skipped']} letter(s) not yet sent skipped"
    return text


SUPERSEDED_ACTIONS.update({"replies.receive", "stance.set"})
DESCRIBERS["replies.suppress"] = _suppressed
DESCRIBERS["replies.assign"] = lambda d: f"reply {d.get('reply')} assigned to this contact"
DESCRIBERS["replies.review"] = lambda d: f"reply {d.get('reply')} reviewed"
for _provider in (_letters, _replies, _stances):
    register_timeline(_provider)
