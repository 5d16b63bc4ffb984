"""``follow-up-due`` as a status, and the status of contacts in one campaign.

A contact's follow-up is **due** in a campaign when its letter there is in state
``sent`` and went out at least :data:`~outreach.report.compute.DEFAULT_AFTER`
(14 days) ago, the contact is not suppressed, no person answered, the letter did
not bounce (unless an auto-reply came back, which proves the address works), and
no letter of a follow-up campaign of that campaign went to the contact yet
(:func:`outreach.report.compute.follow_ups_due`).

This module re-registers the ``status`` field of ``--where`` (the handler of
:mod:`outreach.replies.status`, which it calls for every other value) so that

- ``--where status=follow-up-due`` selects those contacts, and
- inside :func:`list_in_campaign` (``contacts list --campaign NAME``) every status is
  read in that campaign itself, not over the other campaigns as when planning.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from outreach.models import Campaign
from outreach.replies import status as derived
from outreach.report.compute import DEFAULT_AFTER, follow_ups_due
from outreach.selection import FieldRequest, Selection, register_field

FOLLOW_UP_DUE = "follow-up-due"
#: the campaign ``--where status=…`` reads in, set by :func:`list_in_campaign`
_CHUNK = 2000
_READING: ContextVar[Campaign | None] = ContextVar("outreach_status_campaign", default=None)


async def due_contacts(
    campaign: Campaign | None = None, *, leave_out: Campaign | None = None,
    after: timedelta = DEFAULT_AFTER, now: datetime | None = None,
) -> set[int]:
    """The contacts whose follow-up is due in ``campaign`` (in any campaign, but
    ``leave_out``, when None)."""
    from outreach.report.queries import load_dataset

    data = await load_dataset([campaign.name] if campaign is not None else [])
    skip = leave_out.id if leave_out is not None else None
    return {
        letter.contact_id for letter in follow_ups_due(data, after=after, now=now)
        if letter.contact_id is not None and letter.campaign_id != skip
    }


def _status_value(value: str) -> str:
    folded = value.strip().lower().replace("_", "-").replace(" ", "-")
    if folded == FOLLOW_UP_DUE:
        return folded
    try:
        return derived._status_value(value)
    except ValueError:
        known = ", ".join((*derived.STATUSES, FOLLOW_UP_DUE))
        raise ValueError(f"unknown status {value.strip()!r} (known: {known})") from None


async def _in_campaign(campaign: Campaign, wanted: tuple[str, ...]) -> Q | set[int]:
    found = await derived.statuses(campaign)
    if "not-contacted" in wanted:
        others = [cid for cid, value in found.items() if value not in wanted]
        return ~Q(id__in=others) if others else Q()
    return {cid for cid, value in found.items() if value in wanted}


async def _by_status(request: FieldRequest) -> Q | set[int]:
    reading = _READING.get()
    others = tuple(v for v in request.values if v != FOLLOW_UP_DUE)
    parts: list[Q | set[int]] = []
    if FOLLOW_UP_DUE in request.values:
        if reading is not None:
            parts.append(await due_contacts(reading))
        else:
            first = await derived._status_campaign(request.campaign)
            parts.append(await due_contacts(
                first, leave_out=request.campaign if first is None else None))
    if others:
        if reading is not None:
            parts.append(await _in_campaign(reading, others))
        else:
            parts.append(await derived._by_status(
                FieldRequest(field=request.field, values=others, campaign=request.campaign)))
    if all(isinstance(p, set) for p in parts):
        return set().union(*(p for p in parts if isinstance(p, set)))
    queries = [p if isinstance(p, Q) else Q(id__in=sorted(p)) for p in parts]
    return Q(*queries, join_type=Q.OR)


async def list_in_campaign(selection: Selection, campaign_name: str) -> list[dict[str, Any]]:
    """``contacts list --campaign NAME``: the selected contacts, ``status`` read in that
    campaign; each row also gets ``campaign_status`` and ``stances`` (latest per ask)."""
    from outreach.campaigns.manage import get_campaign
    from outreach.contacts.manage import list_contacts
    from outreach.replies.stance import current_stances

    campaign = await get_campaign(campaign_name)
    token = _READING.set(campaign)
    try:
        rows = await list_contacts(selection)
    finally:
        _READING.reset(token)
    found = await derived.statuses(campaign)
    due = await due_contacts(campaign)
    ids = [int(r["id"]) for r in rows]
    stances: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        stances.update(await current_stances(ids[start:start + _CHUNK]))
    for row in rows:
        cid = int(row["id"])
        row["campaign_status"] = (FOLLOW_UP_DUE if cid in due
                                  else found.get(cid, "not-contacted"))
        row["stances"] = stances.get(cid, {})
    return rows


# Registered after outreach.replies.status (outreach.selection imports both, in that
# order), replacing its ``status`` field with this one, which calls it.
register_field("status", _by_status, normalise=_status_value,
               help="the derived status: suppressed, replied, auto-replied, bounced, sent, "
               "planned, not-contacted, or follow-up-due")
