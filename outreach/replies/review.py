"""What `replies review` shows: each unreviewed reply beside the letter it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outreach.errors import InputError
from outreach.models import Delivery, Reply
from outreach.replies.classify import own_text
from outreach.replies.manage import list_replies
from outreach.replies.parse import parse_message
from outreach.replies.stance import suggest

#: lines of each text shown side by side
SHOWN_LINES = 30


@dataclass(frozen=True)
class ReviewItem:
    reply_id: int
    kind: str
    contact: str
    campaign: str | None
    asks: tuple[str, ...]
    received_at: datetime
    subject: str
    reply_text: str
    letter_text: str
    suggestion: str
    opt_out_request: bool


def _clip(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if len(lines) > SHOWN_LINES:
        lines = [*lines[:SHOWN_LINES], f"[… {len(lines) - SHOWN_LINES} more lines]"]
    return "\n".join(lines)


def letter_text(delivery: Delivery | None) -> str:
    """The plain text of the letter as sent (empty when it is not on record)."""
    if delivery is None or not delivery.message:
        return ""
    try:
        return parse_message(bytes(delivery.message), source=f"letter {delivery.id}").body
    except InputError:
        return ""


async def review_items(
    *, campaign: str | None = None, every_kind: bool = False
) -> list[ReviewItem]:
    """The unreviewed replies written by a person (every kind: ``every_kind``) that have a
    contact, oldest first. Unmatched replies wait for `replies assign`."""
    kinds = None if every_kind else ["reply"]
    replies = [r for r in await list_replies(unreviewed=True, campaign=campaign, kinds=kinds)
               if r.contact is not None]
    deliveries = {d.id: d for d in await Delivery.filter(
        id__in=[r.delivery_id for r in replies if r.delivery_id])}  # type: ignore[attr-defined]
    items: list[ReviewItem] = []
    for reply in replies:
        items.append(_item(reply, deliveries.get(reply.delivery_id)))  # type: ignore[attr-defined]
    return items


def _item(reply: Reply, delivery: Delivery | None) -> ReviewItem:
    body = reply.body or ""
    return ReviewItem(
        reply_id=reply.id, kind=reply.kind,
        contact=reply.contact.label() if reply.contact else reply.from_address,
        campaign=reply.campaign.name if reply.campaign else None,
        asks=tuple(reply.campaign.ask_list) if reply.campaign else (),
        received_at=reply.received_at, subject=reply.subject,
        reply_text=_clip(own_text(body) or body) if reply.body is not None else "(text purged)",
        letter_text=_clip(letter_text(delivery)), suggestion=suggest(reply),
        opt_out_request=reply.opt_out_request,
    )
