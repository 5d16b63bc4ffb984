"""``campaign follow-up``: a new campaign for the targets of a first one, threaded onto it.

:func:`create_follow_up` makes a draft campaign whose ``follow_up_of`` is the
first campaign and whose saved audience is

    the user's ``--where`` items (when they name no status: ``status=sent`` or
    ``status=auto-replied``, i.e. no person answered)
    + ``campaign=FIRST`` (had a letter in it)
    + ``sent_ago=AFTER`` (that letter went out at least AFTER ago)

Because ``status`` and ``sent_ago`` are read in the campaign a follow-up
follows (:mod:`outreach.replies.status`), planning the follow-up again later
still selects exactly the targets who have not answered the first letter.

Planning a follow-up renders each letter with the first letter's Message-ID in
``In-Reply-To`` and ``References`` and passes ``previous`` (its date and
subject) to the template, whose subject line gives the "Re:" (see the shipped
``follow-up`` letter): :func:`threaded_renderer`, which
:func:`outreach.campaigns.plan.plan_campaign` uses for such campaigns.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from tortoise.transactions import in_transaction

from outreach import audit
from outreach.campaigns.manage import create_campaign, get_campaign
from outreach.campaigns.plan import RenderedLetter, Renderer
from outreach.config import Settings
from outreach.errors import StateError
from outreach.models import Campaign, Contact, Delivery, DeliveryState
from outreach.replies.manage import parse_age
from outreach.selection import parse_where

#: how many campaigns up a chain of follow-ups the References header reaches
_MAX_CHAIN = 10


@dataclasses.dataclass(frozen=True)
class Thread:
    message_id: str
    subject: str
    sent_at: datetime | None
    references: tuple[str, ...]


async def _free_name(base: str) -> str:
    name, number = base, 1
    while await Campaign.exists(name=name):
        number += 1
        name = f"{base}-{number}"
    return name


async def create_follow_up(
    first_name: str, *, settings: Settings, template: str, after: str,
    where: list[str] | None = None, name: str | None = None, asks: list[str] | None = None,
) -> Campaign:
    """A draft follow-up campaign of ``first_name`` (see the module docstring)."""
    first = await get_campaign(first_name)
    if not await Delivery.filter(campaign_id=first.id, state=DeliveryState.SENT.value).exists():
        raise StateError(f"campaign {first_name!r} has sent no letter yet: nothing to follow up",
                         place="campaign")
    parse_age(after, place="--after")
    items = list(where or [])
    if "status" not in parse_where(items).fields:
        items += ["status=sent", "status=auto-replied"]
    items += [f"campaign={first.name}", f"sent_ago={after.strip()}"]
    new_name = name or await _free_name(f"{first.name}-follow-up")
    campaign = await create_campaign(
        new_name, settings=settings, template=template,
        asks=list(asks) if asks is not None else first.ask_list, where=items,
        from_address=first.from_address, reply_to=first.reply_to)
    async with in_transaction():
        campaign.follow_up_of = first
        await campaign.save(update_fields=["follow_up_of_id", "updated_at"])
        await audit.record(settings.actor, "campaign.follow-up", campaign=campaign,
                           follows=first.name, after=after, where=items)
    return campaign


async def threads_of(campaign: Campaign) -> dict[int, Thread]:
    """contact id → the letter a follow-up answers (with the chain's References)."""
    chain: list[int] = []
    current: int | None = campaign.follow_up_of_id  # type: ignore[attr-defined]
    while current is not None and current not in chain and len(chain) < _MAX_CHAIN:
        chain.append(current)
        above = await Campaign.get_or_none(id=current)
        current = above.follow_up_of_id if above else None  # type: ignore[attr-defined]
    chain.reverse()  # oldest first
    threads: dict[int, Thread] = {}
    for campaign_id in chain:
        rows = await Delivery.filter(campaign_id=campaign_id, contact_id__isnull=False).exclude(
            state=DeliveryState.SKIPPED.value).values_list(
            "contact_id", "message_id", "subject", "sent_at")
        for contact_id, mid, subject, sent_at in rows:
            earlier = threads.get(int(contact_id))
            refs = (*earlier.references, str(mid)) if earlier else (str(mid),)
            threads[int(contact_id)] = Thread(str(mid), str(subject), sent_at, refs)
    return threads


async def threaded_renderer(campaign: Campaign, settings: Settings) -> Renderer:
    """The letters of a follow-up, each threaded onto the contact's previous letter."""
    from outreach.letters import Library

    threads = await threads_of(campaign)
    library = Library.for_settings(settings)

    def render(contact: Contact, campaign: Campaign, message_id: str,
               reply_to: str | None) -> RenderedLetter:
        local = settings
        if campaign.from_address:
            local = dataclasses.replace(settings, sender=dataclasses.replace(
                settings.sender, address=campaign.from_address))
        thread = threads.get(contact.id)
        previous = ({"sent_on": thread.sent_at or "", "subject": thread.subject}
                    if thread is not None else None)
        letter = library.get(campaign.template)
        if previous is None and letter.spec.follow_up:
            previous = {"sent_on": "", "subject": ""}
        r = letter.render(
            contact, asks=campaign.ask_list, settings=local, message_id=message_id,
            reply_to=reply_to, campaign_name=campaign.name, previous=previous,
            in_reply_to=thread.message_id if thread else None,
            references=thread.references if thread else (),
        )
        return RenderedLetter(r.subject, r.language, r.message, r.fell_back)

    return render
