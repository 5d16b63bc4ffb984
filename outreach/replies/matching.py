"""Which contact and campaign an incoming message belongs to.

The evidence is tried in order, strongest first; the first that names a
letter (or a contact) wins, and :attr:`Match.matched_by` says which:

1. ``token``: a per-letter plus-address token (``replies+c12t345…@``) in a
   recipient header, checked against its HMAC (:func:`outreach.ids.parse_token`);
2. ``thread``: ``In-Reply-To``, then ``References`` (newest first), against the
   Message-IDs of our letters, and of replies already stored (a reply to a reply);
3. ``report``: the original letter's Message-ID quoted inside a delivery status
   notification or a complaint report;
4. ``failed``: for bounces and complaints, the failed address against the
   letters' recipients and the contacts;
5. ``sender``: the From address against the contacts (never for bounces, whose
   sender is a mail system); the campaign is that of the last letter sent to the
   contact before the message arrived.

Nothing matched: ``matched_by == ""``, and the message waits in the review queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outreach import ids
from outreach.models import Contact, Delivery, DeliveryState, Reply
from outreach.replies.classify import Inbound

_WRITTEN = (DeliveryState.SENT.value, DeliveryState.UNKNOWN.value, DeliveryState.SENDING.value)


@dataclass(frozen=True)
class Match:
    contact_id: int | None = None
    campaign_id: int | None = None
    delivery_id: int | None = None
    matched_by: str = ""

    @property
    def matched(self) -> bool:
        return self.contact_id is not None or self.campaign_id is not None


def _of(delivery: Delivery, how: str) -> Match:
    return Match(
        contact_id=delivery.contact_id,  # type: ignore[attr-defined]
        campaign_id=delivery.campaign_id,  # type: ignore[attr-defined]
        delivery_id=delivery.id,
        matched_by=how,
    )


async def _by_message_ids(message_ids: list[str], how: str) -> Match | None:
    if not message_ids:
        return None
    wanted = [m for m in message_ids if m][:50]
    letters = {d.message_id: d for d in await Delivery.filter(message_id__in=wanted)}
    replies = {
        r.message_id: r
        for r in await Reply.filter(message_id__in=wanted, contact_id__isnull=False)
    }
    for mid in wanted:
        if mid in letters:
            return _of(letters[mid], how)
        if mid in replies:
            reply = replies[mid]
            return Match(
                contact_id=reply.contact_id,  # type: ignore[attr-defined]
                campaign_id=reply.campaign_id,  # type: ignore[attr-defined]
                delivery_id=reply.delivery_id,  # type: ignore[attr-defined]
                matched_by=how,
            )
    return None


async def _last_letter(
    contact_id: int | None, recipient: str | None, before: datetime | None
) -> Delivery | None:
    query = Delivery.filter(state__in=_WRITTEN)
    if contact_id is not None:
        query = query.filter(contact_id=contact_id)
    elif recipient:
        query = query.filter(recipient__iexact=recipient)
    else:
        return None
    if before is not None:
        earlier = await query.filter(sent_at__lte=before).order_by("-sent_at", "-id").first()
        if earlier is not None:
            return earlier
    return await query.order_by("-sent_at", "-id").first()


async def _by_address(address: str, before: datetime | None, how: str) -> Match | None:
    email = address.strip().lower()
    if not email:
        return None
    contact = await Contact.get_or_none(email=email)
    letter = await _last_letter(contact.id if contact else None, email, before)
    if letter is not None:
        return _of(letter, how)
    if contact is not None:
        return Match(contact_id=contact.id, matched_by=how)
    return None


async def match(inbound: Inbound, *, key: str) -> Match:
    """The letter (or contact) ``inbound`` answers; an empty Match when unknown."""
    for tok in inbound.tokens:
        found = ids.parse_token(key, tok)
        if found is None:
            continue
        letter = await Delivery.get_or_none(token=tok.strip().lower())
        if letter is not None:
            return _of(letter, "token")
    thread = [*inbound.in_reply_to, *reversed(inbound.references)]
    hit = await _by_message_ids(thread, "thread")
    if hit is not None:
        return hit
    hit = await _by_message_ids(inbound.original_message_ids, "report")
    if hit is not None:
        return hit
    machine = inbound.kind in ("hard-bounce", "soft-bounce", "complaint")
    if machine:
        for addr in inbound.failed_addresses:
            hit = await _by_address(addr, inbound.received_at, "failed")
            if hit is not None:
                return hit
        return Match()
    hit = await _by_address(inbound.from_address, inbound.received_at, "sender")
    return hit if hit is not None else Match()
