"""What a stored reply does: suppressions, soft-bounce scores, skipped letters.

- A **hard bounce** puts each failed address on the do-not-contact list
  (reason ``hard-bounce``) and skips its letters not yet sent.
- A **soft bounce** scores the address, the way Mailman does: at most one
  point a day; a bounce after :data:`SOFT_STALE_DAYS` quiet days starts again
  from one; at :data:`SOFT_THRESHOLD` points the address is suppressed
  (reason ``soft-bounces``) like a hard bounce.
- A **complaint** suppresses the contact's address (reason ``complaint``).
- An **opt-out** asked for in a reply is only flagged; it suppresses the
  contact once a campaigner confirms it (:func:`suppress_address` with
  reason ``opt-out``, from ``replies review`` or ``replies set --opt-out``).

Every suppression is an audit event (``replies.suppress``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from outreach import audit
from outreach.contacts.suppress import OPT_OUT, email_hash
from outreach.models import BounceScore, Contact, Delivery, DeliveryState, Suppression

HARD_BOUNCE_REASON = "hard-bounce"
SOFT_BOUNCE_REASON = "soft-bounces"
COMPLAINT_REASON = "complaint"
OPT_OUT_REASON = OPT_OUT
#: points at which soft bounces suppress an address
SOFT_THRESHOLD = 5.0
#: a soft bounce after this many quiet days resets the score
SOFT_STALE_DAYS = 7
_PENDING = (DeliveryState.PLANNED.value, DeliveryState.DEFERRED.value)


@dataclass(frozen=True)
class Suppressed:
    email: str
    reason: str
    #: False when the address was on the list already
    added: bool
    #: letters not yet sent that were skipped because of it
    skipped: int


async def suppress_address(
    address: str, *, reason: str, actor: str, note: str = "", reply_id: int | None = None,
    campaign_id: int | None = None,
) -> Suppressed:
    """Put ``address`` on the do-not-contact list and skip its pending letters."""
    email = address.strip().lower()
    digest = await email_hash(email)
    added = False
    if not await Suppression.filter(Q(email=email) | Q(email_hash=digest)).exists():
        await Suppression.create(email=email, email_hash=digest, reason=reason, note=note)
        added = True
    skipped = await Delivery.filter(recipient__iexact=email, state__in=_PENDING).update(
        state=DeliveryState.SKIPPED.value, smtp_text=f"suppressed ({reason})"
    )
    if added or skipped:
        contact = await Contact.get_or_none(email=email)
        await audit.record(
            actor, "replies.suppress", contact=contact.id if contact else None,
            campaign=campaign_id, email=email, reason=reason, reply=reply_id, skipped=skipped,
        )
    return Suppressed(email=email, reason=reason, added=added, skipped=skipped)


async def score_soft_bounce(address: str, when: datetime) -> float:
    """Add a soft bounce for ``address`` received at ``when``; return the new score."""
    email = address.strip().lower()
    row = await BounceScore.get_or_none(email=email)
    if row is None:
        await BounceScore.create(email=email, score=1.0, last_bounce_at=when)
        return 1.0
    last = row.last_bounce_at
    if when - last > timedelta(days=SOFT_STALE_DAYS):
        row.score = 1.0
    elif when.date() > last.date():
        row.score += 1.0
    else:  # same day (or an older notice arriving late): no second point
        return row.score
    row.last_bounce_at = max(when, last)
    await row.save(update_fields=["score", "last_bounce_at"])
    return row.score


async def _ours(addresses: list[str]) -> list[str]:
    """The addresses we wrote to or know as contacts: a notice cannot suppress others."""
    found: list[str] = []
    for addr in addresses:
        email = addr.strip().lower()
        if email in found:
            continue
        known = await Contact.filter(email=email).exists() or await Delivery.filter(
            recipient__iexact=email).exists()
        if known:
            found.append(email)
    return found


async def apply_effects(
    *, kind: str, failed: list[str], contact: Contact | None, received_at: datetime,
    reply_id: int, campaign_id: int | None, actor: str,
) -> list[Suppressed]:
    """The automatic effects of one new reply (see the module docstring)."""
    done: list[Suppressed] = []
    targets = await _ours(failed)
    if not targets and contact is not None and contact.email:
        targets = [contact.email]
    if kind == "hard-bounce":
        for addr in targets:
            done.append(await suppress_address(
                addr, reason=HARD_BOUNCE_REASON, actor=actor, reply_id=reply_id,
                campaign_id=campaign_id))
    elif kind == "soft-bounce":
        for addr in targets:
            score = await score_soft_bounce(addr, received_at)
            if score >= SOFT_THRESHOLD:
                done.append(await suppress_address(
                    addr, reason=SOFT_BOUNCE_REASON, actor=actor, reply_id=reply_id,
                    campaign_id=campaign_id, note=f"soft-bounce score {score:g}"))
    elif kind == "complaint":
        for addr in targets:
            done.append(await suppress_address(
                addr, reason=COMPLAINT_REASON, actor=actor, reply_id=reply_id,
                campaign_id=campaign_id))
    return done
