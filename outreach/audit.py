"""The audit log: one :class:`~outreach.models.Event` per change, with its actor."""

from __future__ import annotations

import json
from typing import Any

from outreach.models import Campaign, Contact, Event


async def record(
    actor: str,
    action: str,
    *,
    contact: Contact | int | None = None,
    campaign: Campaign | int | None = None,
    **details: Any,
) -> Event:
    """Write one audit event. Call it inside the transaction of the change it records."""
    return await Event.create(
        actor=actor,
        action=action,
        contact_id=contact.id if isinstance(contact, Contact) else contact,
        campaign_id=campaign.id if isinstance(campaign, Campaign) else campaign,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    )


def event_rows(
    actor: str, action: str, items: list[tuple[int | None, int | None, dict[str, Any]]]
) -> list[Event]:
    """Unsaved events for ``Event.bulk_create`` (contact id, campaign id, details)."""
    return [
        Event(
            actor=actor,
            action=action,
            contact_id=contact_id,
            campaign_id=campaign_id,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
        for contact_id, campaign_id, details in items
    ]
