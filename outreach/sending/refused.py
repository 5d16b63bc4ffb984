"""An address the receiving server says does not exist is suppressed, as a hard bounce is.

A relay that refuses a recipient at RCPT with a permanent "bad mailbox" status
(RFC 3463: 5.1.1 no such user, 5.1.2 no such domain, 5.1.3 bad address syntax,
5.1.6 mailbox moved, 5.1.10 null MX) says at once what a delivery status
notification for the same address would say later. Writing to it again, in this
campaign's follow-up or the next campaign, only costs the sender's reputation, so
the address goes on the do-not-contact list with the reason ``hard-bounce`` and the
relay's words as the note. Other permanent refusals (a policy or content refusal
such as 5.7.1) say nothing about the address and suppress nothing.

This runs after each sending run over the campaign's refused letters, so a sender
killed before it got here is caught up by the next run; suppressing is idempotent.
"""

from __future__ import annotations

import re

from outreach.models import Delivery, DeliveryState, Suppression
from outreach.replies.effects import HARD_BOUNCE_REASON, Suppressed, suppress_address

BAD_MAILBOX = re.compile(r"(?<![\d.])5\.1\.(?:1|2|3|6|10)(?![\d.])")


def is_bad_mailbox(code: int | None, text: str) -> bool:
    """A permanent refusal that names the address itself as undeliverable."""
    return code is not None and 500 <= code < 600 and bool(BAD_MAILBOX.search(text or ""))


async def suppress_refused(campaign_id: int, *, actor: str) -> list[Suppressed]:
    """Suppress the addresses of this campaign's letters refused as bad mailboxes."""
    rows = await Delivery.filter(
        campaign_id=campaign_id, state=DeliveryState.FAILED.value, smtp_code__gte=500,
    ).values_list("recipient", "smtp_code", "smtp_text")
    refused = {str(r).lower(): str(t) for r, c, t in rows if r and is_bad_mailbox(c, str(t))}
    if not refused:
        return []
    listed = await Suppression.filter(email__in=list(refused)).values_list("email", flat=True)
    known = {str(email) for email in listed}
    done = []
    for address, text in sorted(refused.items()):
        if address in known:
            continue
        done.append(await suppress_address(
            address, reason=HARD_BOUNCE_REASON, actor=actor, campaign_id=campaign_id,
            note=f"refused by the relay: {text[:300]}",
        ))
    return done
