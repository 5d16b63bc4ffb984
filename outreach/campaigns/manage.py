"""Creating campaigns, their states, and what `campaign list` / `status` show.

A campaign moves ``draft → planned → sending → paused → done | cancelled``:
``plan`` makes it planned, ``send`` sending, ``pause`` (or the circuit breaker)
paused, ``resume`` sending again, and a sender that finds every letter final
marks it done. ``cancel`` skips every letter not yet sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from outreach import audit
from outreach.config import Settings
from outreach.errors import InputError, NotFoundError, StateError, TemplateError
from outreach.models import Campaign, CampaignState, dump_list
from outreach.selection import Selection, parse_where
from outreach.sending import ledger
from outreach.sending.pacing import Clock, utcnow

FINAL_CAMPAIGN = (CampaignState.DONE.value, CampaignState.CANCELLED.value)


async def get_campaign(name: str) -> Campaign:
    campaign = await Campaign.get_or_none(name=name)
    if campaign is None:
        known = await Campaign.all().order_by("name").values_list("name", flat=True)
        hint = f" (known: {', '.join(str(k) for k in known)})" if known else " (none yet)"
        raise NotFoundError(f"no campaign named {name!r}{hint}", place="campaign")
    return campaign


def audience_of(campaign: Campaign) -> tuple[Selection, list[str]]:
    """The saved selection and the campaigns whose recipients are excluded."""
    data = json.loads(campaign.audience or "{}")
    selection = Selection.from_json(data.get("where", {}))
    return selection, [str(x) for x in data.get("exclude_campaigns", [])]


async def create_campaign(
    name: str, *, settings: Settings, template: str, asks: list[str],
    where: list[str] | None = None, exclude_campaigns: list[str] | None = None,
    from_address: str = "", reply_to: str = "", check_template: bool = True,
) -> Campaign:
    """A draft campaign with its audience saved (unknown ``--where`` fields are refused)."""
    if not name.strip():
        raise InputError("a campaign needs a name", place="NAME")
    from_address = _one_address(from_address, place="--from")
    reply_to = _one_address(reply_to, place="--reply-to")
    if await Campaign.exists(name=name):
        raise StateError(f"a campaign named {name!r} exists already", place="campaign")
    selection = parse_where(where or [])
    for other in exclude_campaigns or []:
        await get_campaign(other)
    if check_template:
        from outreach.letters import ASKS, Library

        Library.for_settings(settings).get(template)
        for ask in asks:
            if ask not in ASKS:
                raise TemplateError(f"unknown ask {ask!r} (known: {', '.join(ASKS)})",
                                    place="--ask")
    audience = {"where": selection.to_json(), "exclude_campaigns": list(exclude_campaigns or [])}
    async with in_transaction():
        campaign = await Campaign.create(
            name=name, template=template, asks=dump_list(asks),
            audience=json.dumps(audience, ensure_ascii=False),
            from_address=from_address, reply_to=reply_to,
        )
        await audit.record(settings.actor, "campaign.create", campaign=campaign,
                           template=template, asks=asks, audience=audience)
    return campaign


def _one_address(value: str, *, place: str) -> str:
    """An address for the From or Reply-To header: one valid address or nothing."""
    if not value:
        return ""
    from outreach.contacts.fields import email

    try:
        return email(value)
    except ValueError as exc:
        raise InputError(str(exc), place=place) from None


@dataclass
class CampaignRow:
    name: str
    state: str
    template: str
    asks: list[str]
    audience: str
    total: int
    counts: dict[str, int]
    pause_reason: str
    pacing: dict[str, Any]
    #: when the earliest letter still to send falls due (UTC), if any
    next_due: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.name, "state": self.state, "template": self.template,
            "asks": self.asks, "audience": self.audience, "total": self.total,
            "counts": self.counts, "pause_reason": self.pause_reason, "pacing": self.pacing,
            "next_due": self.next_due.isoformat() if self.next_due else None,
        }


async def campaign_status(name: str) -> CampaignRow:
    campaign = await get_campaign(name)
    return await _row(campaign)


async def _row(campaign: Campaign) -> CampaignRow:
    counts = await ledger.counts(campaign.id)
    try:
        selection, excluded = audience_of(campaign)
        audience = selection.describe() + "".join(f" minus {x}" for x in excluded)
    except InputError:
        audience = "?"
    return CampaignRow(
        name=campaign.name, state=campaign.state, template=campaign.template,
        asks=campaign.ask_list, audience=audience, total=sum(counts.values()), counts=counts,
        pause_reason=campaign.pause_reason, pacing=json.loads(campaign.pacing or "{}"),
        next_due=await ledger.next_due(campaign.id)
        if counts.get("planned", 0) + counts.get("deferred", 0) else None,
    )


async def list_campaigns() -> list[CampaignRow]:
    return [await _row(c) for c in await Campaign.all().order_by("created_at", "id")]


async def set_state(campaign: Campaign, state: CampaignState, *, reason: str = "") -> None:
    campaign.state = state.value
    campaign.pause_reason = reason
    await campaign.save(update_fields=["state", "pause_reason", "updated_at"])


async def pause_campaign(name: str, *, settings: Settings, reason: str = "") -> Campaign:
    campaign = await get_campaign(name)
    if campaign.state in FINAL_CAMPAIGN or campaign.state == CampaignState.DRAFT.value:
        raise StateError(f"campaign {name!r} is {campaign.state}: nothing to pause",
                         place="campaign")
    why = reason or f"paused by {settings.actor}"
    async with in_transaction():
        await set_state(campaign, CampaignState.PAUSED, reason=why)
        await audit.record(settings.actor, "campaign.pause", campaign=campaign, reason=why)
    return campaign


async def resume_campaign(name: str, *, settings: Settings) -> Campaign:
    campaign = await get_campaign(name)
    if campaign.state != CampaignState.PAUSED.value:
        raise StateError(f"campaign {name!r} is {campaign.state}, not paused", place="campaign")
    async with in_transaction():
        await set_state(campaign, CampaignState.SENDING)
        await audit.record(settings.actor, "campaign.resume", campaign=campaign)
    return campaign


async def cancel_campaign(name: str, *, settings: Settings, clock: Clock = utcnow) -> int:
    """Cancel: every planned or deferred letter becomes skipped; returns how many."""
    campaign = await get_campaign(name)
    if campaign.state in FINAL_CAMPAIGN:
        raise StateError(f"campaign {name!r} is {campaign.state} already", place="campaign")
    async with in_transaction():
        await set_state(campaign, CampaignState.CANCELLED, reason=f"cancelled by {settings.actor}")
        skipped = await ledger.skip_open(campaign_id=campaign.id, reason="campaign cancelled",
                                         now=clock())
        await audit.record(settings.actor, "campaign.cancel", campaign=campaign, skipped=skipped)
    return skipped


async def settle_campaign(campaign: Campaign) -> bool:
    """Mark a sending campaign done when no letter is planned, deferred or sending."""
    await campaign.refresh_from_db(fields=["state"])
    counts = await ledger.counts(campaign.id)
    open_ = counts["planned"] + counts["deferred"] + counts["sending"]
    if open_ == 0 and campaign.state == CampaignState.SENDING.value:
        await Campaign.filter(id=campaign.id, state=CampaignState.SENDING.value).update(
            state=CampaignState.DONE.value
        )
        return True
    return False
