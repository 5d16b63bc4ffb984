"""`campaign plan`: render every letter once into the ledger, with its send time.

Planning again adds the contacts that newly match the saved audience and
never touches a letter that exists (``rerender=True`` re-renders the letters
not yet sent, keeping their Message-IDs and times). Contacts are streamed in
chunks, so memory does not grow with the audience: the schedule is computed
over (id, domain, time zone) tuples first, then letters are rendered and
inserted chunk by chunk.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.transactions import in_transaction

from outreach import audit, ids, refdata
from outreach.campaigns.manage import audience_of, get_campaign, set_state
from outreach.config import Settings
from outreach.contacts.suppress import erased_hashes, hash_with
from outreach.db import get_setting
from outreach.errors import StateError
from outreach.models import (
    Campaign,
    CampaignState,
    Contact,
    Delivery,
    DeliveryState,
    Suppression,
    load_list,
)
from outreach.selection import contact_query
from outreach.sending.ledger import NewLetter, insert_letters
from outreach.sending.pacing import Clock, Pace, Slotted, schedule, utcnow
from outreach.sending.sql import as_dt

CHUNK = 500
PAGE = 5000
_OPEN = (DeliveryState.PLANNED.value, DeliveryState.DEFERRED.value)
_COUNTED = ("planned", "sending", "sent", "deferred", "unknown")


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    language: str
    message: bytes
    fell_back: bool = False


#: (contact, campaign, message_id, reply_to) → the letter without Date; the contact is a
#: Contact or a :class:`ContactRow` (the same attributes)
Renderer = Callable[[Any, Campaign, str, "str | None"], RenderedLetter]

#: the columns a letter may use (no timestamps: parsing them is planning's main cost)
ROW_FIELDS = ("id", "email", "name", "first_name", "last_name", "honorific", "role", "kind",
              "organisation", "country", "language", "political_group", "national_party",
              "committees", "tags", "ep_id", "notes")


class ContactRow:
    """A contact read as plain values, for rendering many letters cheaply."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def committee_list(self) -> list[str]:
        return load_list(self.__dict__.get("committees"))

    @property
    def tag_list(self) -> list[str]:
        return load_list(self.__dict__.get("tags"))

    def label(self) -> str:
        email, ep_id = self.__dict__.get("email"), self.__dict__.get("ep_id")
        return str(email or (f"ep:{ep_id}" if ep_id else f"#{self.__dict__.get('id')}"))


def library_renderer(settings: Settings) -> Renderer:
    """The real letters (:mod:`outreach.letters`), sender address per campaign."""
    from outreach.letters import Library

    library = Library.for_settings(settings)

    def render(contact: Any, campaign: Campaign, message_id: str,
               reply_to: str | None) -> RenderedLetter:
        local = settings
        if campaign.from_address:
            local = dataclasses.replace(
                settings, sender=dataclasses.replace(settings.sender,
                                                     address=campaign.from_address))
        r = library.get(campaign.template).render(
            contact, asks=campaign.ask_list, settings=local, message_id=message_id,
            reply_to=reply_to, campaign_name=campaign.name,
        )
        return RenderedLetter(r.subject, r.language, r.message, r.fell_back)

    return render


@dataclass
class PlanReport:
    campaign: str
    added: int = 0
    rerendered: int = 0
    existing: int = 0
    suppressed: int = 0
    no_address: int = 0
    capped: int = 0
    excluded: int = 0
    fell_back: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    pace: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in dataclasses.asdict(self).items()}


Progress = Callable[[int, int], None]


def sender_domain(campaign: Campaign, settings: Settings) -> str:
    return (campaign.from_address or settings.sender.address).rpartition("@")[2] or "localhost"


def reply_to_for(campaign: Campaign, settings: Settings, token: str) -> str | None:
    base = campaign.reply_to or settings.sender.reply_to
    if settings.sender.plus_addressing:
        return ids.plus_address(base or campaign.from_address or settings.sender.address, token)
    return base or None


def _zone(country: str) -> str:
    info = refdata.country(country) if country else None
    return info.timezone if info is not None else "UTC"


async def plan_campaign(
    name: str, *, settings: Settings, pace: Pace | None = None, start: datetime | None = None,
    rerender: bool = False, max_per_contact: tuple[int, timedelta] | None = None,
    renderer: Renderer | None = None, clock: Clock = utcnow, progress: Progress | None = None,
) -> PlanReport:
    """Plan (or plan again) a campaign; see the module docstring."""
    campaign = await get_campaign(name)
    if campaign.state in (CampaignState.CANCELLED.value,):
        raise StateError(f"campaign {name!r} is cancelled", place="campaign")
    if pace is None:
        saved = json.loads(campaign.pacing or "{}")
        pace = Pace.from_json(saved) if saved else Pace(
            settings.pacing.rate_per_minute, settings.pacing.per_domain_per_hour)
    if renderer is None and campaign.follow_up_of_id is not None:  # type: ignore[attr-defined]
        from outreach.replies.followup import threaded_renderer  # threads onto the first letter

        renderer = await threaded_renderer(campaign, settings)
    render = renderer or library_renderer(settings)
    now = clock()
    report = PlanReport(campaign=name, pace=pace.describe())
    key = await get_setting(ids.MESSAGE_ID_KEY)
    domain = sender_domain(campaign, settings)

    selection, excluded_names = audience_of(campaign)
    query = await contact_query(selection, campaign=campaign)
    have = set(cast(list[int], await Delivery.filter(campaign_id=campaign.id)
                    .values_list("contact_id", flat=True)))
    report.existing = len(have)
    excluded: set[int] = set()
    for other in excluded_names:
        other_campaign = await get_campaign(other)
        excluded |= set(cast(list[int], await Delivery.filter(campaign_id=other_campaign.id)
                             .exclude(state=DeliveryState.SKIPPED.value)
                             .values_list("contact_id", flat=True)))
    suppressed = {str(e).lower() for e in await Suppression.filter(email__not_isnull=True)
                  .values_list("email", flat=True)}
    salt, erased = await erased_hashes()
    recent = await _recent_letters(campaign.id, now, max_per_contact)

    # the audience is read in pages (by id) and kept as small (id, domain, zone) records, so
    # memory grows by ~100 bytes a letter, not by a contact object each
    new: list[Slotted] = []
    last = 0
    while True:
        page = await query.filter(id__gt=last).limit(PAGE).values_list("id", "email", "country")
        if not page:
            break
        last = int(page[-1][0])
        for contact_id, email, country in page:
            if contact_id in have:
                continue
            if contact_id in excluded:
                report.excluded += 1
            elif not email:
                report.no_address += 1
            elif max_per_contact and recent.get(contact_id, 0) >= max_per_contact[0]:
                report.capped += 1
            else:
                domain_of = sys.intern(str(email).rpartition("@")[2].lower())
                new.append(Slotted(domain_of, _zone(str(country or "")), int(contact_id)))
    del have
    global_next, domain_next = await _continuation(campaign.id, pace)
    slotted = schedule(new, pace=pace, start=max(start or now, now), global_next=global_next,
                       domain_next=domain_next)
    slotted.sort(key=lambda s: int(s.item))
    total = len(slotted) + (report.existing if rerender else 0)
    done = 0
    for chunk_start in range(0, len(slotted), CHUNK):
        chunk = slotted[chunk_start:chunk_start + CHUNK]
        contacts = {
            int(v["id"]): ContactRow(v)
            for v in await Contact.filter(id__in=[s.item for s in chunk]).values(*ROW_FIELDS)
        }
        rows = []
        for s in chunk:
            contact_id = int(s.item)
            contact = contacts.get(contact_id)
            addr = str(contact.__dict__.get("email") or "") if contact is not None else ""
            if not addr:  # erased or changed since the page was read
                report.no_address += 1
                continue
            mid = ids.message_id(key, campaign.id, contact_id, domain)
            tok = ids.token(key, campaign.id, contact_id)
            assert s.at is not None
            if addr.lower() in suppressed or (erased and hash_with(salt, addr) in erased):
                rows.append(NewLetter(campaign.id, contact_id, addr, s.domain, mid, tok, s.at,
                                      state=DeliveryState.SKIPPED.value,
                                      smtp_text="suppressed (at plan time)"))
                report.suppressed += 1
                continue
            letter = render(contact, campaign, mid, reply_to_for(campaign, settings, tok))
            rows.append(NewLetter(campaign.id, contact_id, addr, s.domain, mid, tok, s.at,
                                  subject=letter.subject, language=letter.language,
                                  message=letter.message))
            report.fell_back += letter.fell_back
            report.added += 1
            report.first_at = min(report.first_at or s.at, s.at)
            report.last_at = max(report.last_at or s.at, s.at)
        await insert_letters(rows, now=now)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    if rerender:
        report.rerendered = await _rerender(campaign, settings, render, key, progress, done, total)
    async with in_transaction():
        campaign.pacing = json.dumps(pace.to_json())
        await campaign.save(update_fields=["pacing", "updated_at"])
        if campaign.state in (CampaignState.DRAFT.value, CampaignState.DONE.value) and (
            report.added or campaign.state == CampaignState.DRAFT.value
        ):
            await set_state(campaign, CampaignState.PLANNED)
        await audit.record(settings.actor, "campaign.plan", campaign=campaign,
                           **{k: v for k, v in report.to_json().items() if k != "campaign"})
    return report


async def _recent_letters(
    campaign_id: int, now: datetime, cap: tuple[int, timedelta] | None
) -> dict[int, int]:
    """Letters per contact in other campaigns within the cap's period."""
    if cap is None:
        return {}
    since = now - cap[1]
    counts: dict[int, int] = {}
    rows = await Delivery.filter(state__in=_COUNTED).exclude(campaign_id=campaign_id).values_list(
        "contact_id", "sent_at", "scheduled_at")
    for contact_id, sent_at, scheduled_at in rows:
        when = as_dt(sent_at) or as_dt(scheduled_at)
        if contact_id is not None and when is not None and when >= since:
            counts[int(contact_id)] = counts.get(int(contact_id), 0) + 1
    return counts


async def _continuation(
    campaign_id: int, pace: Pace
) -> tuple[datetime | None, dict[str, datetime]]:
    """Where an existing schedule ends, so new letters queue behind it."""
    rows = await Delivery.filter(campaign_id=campaign_id, state__in=_OPEN).values_list(
        "domain", "scheduled_at")
    domain_next: dict[str, datetime] = {}
    latest: datetime | None = None
    for dom, at in rows:
        when = as_dt(at)
        if when is None:
            continue
        domain_next[str(dom)] = max(domain_next.get(str(dom), when), when + pace.domain_interval)
        latest = max(latest or when, when)
    return (latest + pace.global_interval if latest else None), domain_next


async def _rerender(campaign: Campaign, settings: Settings, render: Renderer, key: str,
                    progress: Progress | None, done: int, total: int) -> int:
    """Render again the letters not yet sent, keeping Message-ID, token and time."""
    count = 0
    ids_open = cast(list[int], await Delivery.filter(
        campaign_id=campaign.id, state__in=_OPEN).values_list("id", flat=True))
    for start in range(0, len(ids_open), CHUNK):
        rows = await Delivery.filter(id__in=list(ids_open[start:start + CHUNK]),
                                     state__in=_OPEN).prefetch_related("contact")
        changed = []
        for row in rows:
            contact = row.contact
            if contact is None:
                continue
            letter = render(contact, campaign, row.message_id,
                            reply_to_for(campaign, settings, row.token))
            row.subject, row.language, row.message = (letter.subject, letter.language,
                                                      letter.message)
            changed.append(row)
        if changed:
            await Delivery.bulk_update(changed, fields=["subject", "language", "message"])
        count += len(changed)
        if progress is not None:
            progress(done + count, total)
    return count
