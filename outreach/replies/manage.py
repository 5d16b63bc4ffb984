"""Listing, assigning, reviewing and purging stored replies.

A reply is named by its number (``12`` or ``#12``). Every change is an audit
event: ``replies.assign``, ``replies.review``, ``replies.purge`` (and
``stance.set`` / ``replies.suppress`` through :mod:`stance` and :mod:`effects`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from outreach import audit
from outreach.errors import InputError, NotFoundError
from outreach.models import Campaign, Contact, Delivery, Reply
from outreach.replies.effects import OPT_OUT_REASON, suppress_address
from outreach.replies.stance import record_stances, stances_by_reply

_AGE_RE = re.compile(r"^\s*(\d+)\s*(d|w|m|y)\s*$", re.IGNORECASE)
_AGE_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_age(text: str, *, place: str) -> timedelta:
    """``14d``, ``3w``, ``6m``, ``2y`` → a timedelta (months of 30, years of 365 days)."""
    found = _AGE_RE.match(text)
    if not found:
        raise InputError(f"expected a number and d, w, m or y (like 14d or 2y), not {text!r}",
                         place=place)
    return timedelta(days=int(found.group(1)) * _AGE_DAYS[found.group(2).lower()])


async def get_reply(ref: str | int) -> Reply:
    text = str(ref).strip().lstrip("#")
    if not text.isdigit():
        raise InputError("name a reply by its number", place=str(ref))
    reply = await Reply.get_or_none(id=int(text)).prefetch_related("contact", "campaign")
    if reply is None:
        raise NotFoundError("no such reply", place=f"reply {text}")
    return reply


def reply_dict(reply: Reply, stances: dict[str, str], *, body: bool = False) -> dict[str, Any]:
    """A reply as ``replies list --json`` shows it (``contact``/``campaign`` prefetched)."""
    out: dict[str, Any] = {
        "id": reply.id,
        "kind": reply.kind,
        "contact": reply.contact.email if reply.contact else None,
        "campaign": reply.campaign.name if reply.campaign else None,
        "received_at": reply.received_at.isoformat(),
        "subject": reply.subject,
        "from": reply.from_address,
        "matched_by": reply.matched_by or None,
        "stance": stances,
        "reviewed": reply.reviewed,
        "opt_out_request": reply.opt_out_request,
        "failed_address": reply.failed_address or None,
        "dsn_status": reply.dsn_status or None,
        "return_date": reply.return_date or None,
        "message_id": reply.message_id,
        "source": reply.source,
        "purged": reply.body is None,
    }
    if body:
        out["body"] = reply.body
    return out


async def list_replies(
    *, unmatched: bool = False, unreviewed: bool = False, kinds: list[str] | None = None,
    campaign: str | None = None, contact: Contact | None = None, limit: int | None = None,
) -> list[Reply]:
    query = Reply.all()
    if unmatched:
        query = query.filter(contact_id__isnull=True, campaign_id__isnull=True)
    if unreviewed:
        query = query.filter(reviewed=False)
    if kinds:
        query = query.filter(kind__in=kinds)
    if campaign is not None:
        found = await Campaign.get_or_none(name=campaign)
        if found is None:
            raise NotFoundError(f"no campaign named {campaign!r}", place="--campaign")
        query = query.filter(campaign_id=found.id)
    if contact is not None:
        query = query.filter(contact_id=contact.id)
    query = query.order_by("received_at", "id").prefetch_related("contact", "campaign")
    if limit is not None:
        query = query.limit(limit)
    return list(await query)


async def reply_rows(replies: list[Reply], *, body: bool = False) -> list[dict[str, Any]]:
    stances = await stances_by_reply([r.id for r in replies])
    return [reply_dict(r, stances.get(r.id, {}), body=body) for r in replies]


async def assign(ref: str, *, contact: Contact, campaign: Campaign | None, actor: str) -> Reply:
    """Attach a reply to a contact (and campaign): the review queue's way out."""
    reply = await get_reply(ref)
    delivery = None
    if campaign is not None:
        delivery = await Delivery.get_or_none(campaign_id=campaign.id, contact_id=contact.id)
    async with in_transaction():
        reply.contact = contact
        reply.campaign = campaign
        reply.delivery = delivery
        reply.matched_by = "manual"
        await reply.save(update_fields=["contact_id", "campaign_id", "delivery_id", "matched_by"])
        await audit.record(actor, "replies.assign", contact=contact, campaign=campaign,
                           reply=reply.id)
    return reply


@dataclass(frozen=True)
class Decision:
    """What a campaigner decided about one reply."""

    stances: dict[str, str]
    note: str = ""
    confirm_opt_out: bool = False
    reviewed: bool = True


async def decide(ref: str | int, decision: Decision, *, actor: str) -> Reply:
    """Record stances (from this reply), a confirmed opt-out, and mark it reviewed."""
    reply = await get_reply(ref)
    if (decision.stances or decision.confirm_opt_out) and reply.contact is None:
        raise InputError("this reply has no contact yet: `replies assign` it first",
                         place=f"reply {reply.id}")
    contact = reply.contact
    async with in_transaction():
        if decision.stances and contact is not None:
            await record_stances(contact, decision.stances, actor=actor, source="reply",
                                 campaign=reply.campaign, reply=reply, note=decision.note)
        if decision.confirm_opt_out and contact is not None and contact.email:
            await suppress_address(contact.email, reason=OPT_OUT_REASON, actor=actor,
                                   reply_id=reply.id, note=decision.note,
                                   campaign_id=reply.campaign.id if reply.campaign else None)
        if decision.reviewed and not reply.reviewed:
            reply.reviewed = True
            await reply.save(update_fields=["reviewed"])
            await audit.record(actor, "replies.review", contact=contact, campaign=reply.campaign,
                               reply=reply.id)
    return reply


async def purge(older_than: timedelta, *, actor: str, now: datetime | None = None) -> int:
    """Delete the texts of replies received before now − ``older_than`` (kind, stance stay)."""
    cutoff = (now or datetime.now(UTC)) - older_than
    async with in_transaction():
        count = await Reply.filter(received_at__lt=cutoff, body__isnull=False).update(
            body=None, subject="")
        if count:
            await audit.record(actor, "replies.purge", count=count, before=cutoff.isoformat())
    return count
