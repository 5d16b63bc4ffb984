"""The derived status of each contact in a campaign, and the ``--where`` fields on it.

One status per (contact, campaign), the first that applies in this order:

``suppressed``     the contact's address is on the do-not-contact list (opt-out,
                   complaint, hard bounce, too many soft bounces): we will not write
``replied``        a person's reply to this campaign is stored
``auto-replied``   only automatic answers (out of office, ticket receipts)
``bounced``        a bounce came back, or the relay refused the letter
``sent``           the letter went out and nothing came back yet
``planned``        the letter waits in the ledger
``not-contacted``  no letter in this campaign (or it was skipped)

Why this order: what a campaigner acts on comes first. A suppressed contact must
not be written to whatever else happened; a person's answer outweighs the
machine noise around it (a letter that bounced, was re-sent and answered is
``replied``); an auto-reply proves the address works, so it outranks a bounce.

Which campaign ``--where status=…`` reads: for a follow-up campaign, the campaign
it follows, so ``campaign follow-up … --where status=sent`` keeps meaning "no
answer to the first letter" when the follow-up is planned again later. For any
other campaign (``campaign create round-2 --where status=not-contacted``) and
without a campaign (``contacts list --where status=replied``), a contact's status
is the first of its statuses over every campaign (but the one being planned), in
the order above.

Fields registered in :mod:`outreach.selection`:

- ``status=STATUS`` (values above);
- ``stance.ASK=STANCE`` (``stance.caucus=undecided``): the latest stance
  recorded on that ask, in any campaign; ``none`` selects contacts with none;
- ``campaign=NAME``: contacts with a letter in that campaign (not skipped);
- ``sent_ago=14d``: a letter went out at least that long ago (for a follow-up:
  the letter of the campaign it follows; otherwise any letter).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import Q, Subquery

from outreach.errors import SelectionError
from outreach.models import Campaign, Contact, Delivery, DeliveryState, Reply, Stance, Suppression
from outreach.selection import FieldRequest, register_field

STATUSES = (
    "suppressed", "replied", "auto-replied", "bounced", "sent", "planned", "not-contacted",
)
_RANK = {name: rank for rank, name in enumerate(STATUSES)}
_BY_DELIVERY = {
    DeliveryState.SENT.value: "sent",
    DeliveryState.UNKNOWN.value: "sent",
    DeliveryState.SENDING.value: "sent",
    DeliveryState.PLANNED.value: "planned",
    DeliveryState.DEFERRED.value: "planned",
    DeliveryState.FAILED.value: "bounced",
    DeliveryState.SKIPPED.value: "not-contacted",
}
_BY_REPLY = {
    "reply": "replied",
    "auto-reply": "auto-replied",
    "hard-bounce": "bounced",
    "soft-bounce": "bounced",
    "complaint": "suppressed",
}


def _best(current: str | None, candidate: str) -> str:
    if current is None or _RANK[candidate] < _RANK[current]:
        return candidate
    return current


async def statuses(
    campaign: Campaign | None = None, *, leave_out: Campaign | None = None
) -> dict[int, str]:
    """contact id → status, for every contact that is not ``not-contacted``: in
    ``campaign``, else over every campaign (but ``leave_out``)."""
    out: dict[int, str] = {}
    deliveries = Delivery.filter(contact_id__isnull=False)
    replies = Reply.filter(contact_id__isnull=False)
    if campaign is not None:
        deliveries = deliveries.filter(campaign_id=campaign.id)
        replies = replies.filter(campaign_id=campaign.id)
    elif leave_out is not None:
        deliveries = deliveries.exclude(campaign_id=leave_out.id)
        replies = replies.filter(Q(campaign_id__isnull=True) | ~Q(campaign_id=leave_out.id))
    for contact_id, state in await deliveries.values_list("contact_id", "state"):
        out[int(contact_id)] = _best(out.get(int(contact_id)), _BY_DELIVERY.get(str(state),
                                                                                "planned"))
    for contact_id, kind in await replies.values_list("contact_id", "kind"):
        out[int(contact_id)] = _best(out.get(int(contact_id)), _BY_REPLY.get(str(kind), "replied"))
    listed = Subquery(Suppression.filter(email__isnull=False).values("email"))
    for (contact_id,) in await Contact.filter(email__in=listed).values_list("id"):
        out[int(contact_id)] = "suppressed"
    return {k: v for k, v in out.items() if v != "not-contacted"}


async def status_of(contact_id: int, campaign: Campaign | None = None) -> str:
    return (await statuses(campaign)).get(contact_id, "not-contacted")


async def _status_campaign(campaign: Campaign | None) -> Campaign | None:
    """The campaign whose statuses a command about ``campaign`` reads: the one a
    follow-up follows; None (every other campaign) for any other campaign."""
    if campaign is not None and campaign.follow_up_of_id is not None:  # type: ignore[attr-defined]
        return await Campaign.get_or_none(id=campaign.follow_up_of_id)  # type: ignore[attr-defined]
    return None


async def _by_status(request: FieldRequest) -> Q | set[int]:
    wanted = set(request.values)
    found = await statuses(await _status_campaign(request.campaign), leave_out=request.campaign)
    if "not-contacted" in wanted:
        others = [cid for cid, value in found.items() if value not in wanted]
        return ~Q(id__in=others) if others else Q()
    return {cid for cid, value in found.items() if value in wanted}


def _status_value(value: str) -> str:
    folded = value.strip().lower().replace("_", "-").replace(" ", "-")
    if folded not in STATUSES:
        raise ValueError(f"unknown status {value.strip()!r} (known: {', '.join(STATUSES)})")
    return folded


async def latest_stances(ask: str) -> dict[int, str]:
    """contact id → the latest stance recorded on ``ask``."""
    rows = await Stance.filter(ask=ask).order_by("recorded_at", "id").values_list(
        "contact_id", "stance")
    return {int(contact_id): str(value) for contact_id, value in rows}


async def _by_stance(request: FieldRequest) -> Q | set[int]:
    from outreach.replies.stance import known_asks

    ask = request.field.split(".", 1)[1].replace("_", "-")
    if ask not in known_asks():
        raise SelectionError(f"unknown ask {ask!r} (known: {', '.join(known_asks())})",
                             place=f"--where {request.field}")
    latest = await latest_stances(ask)
    wanted = set(request.values)
    chosen = {cid for cid, value in latest.items() if value in wanted}
    if "none" in wanted:
        others = [cid for cid in latest if cid not in chosen]
        return ~Q(id__in=others) if others else Q()
    return chosen


def _stance_value(value: str) -> str:
    from outreach.replies.stance import STANCES

    folded = value.strip().lower().replace("_", "-")
    if folded not in (*STANCES, "none"):
        raise ValueError(f"unknown stance {value.strip()!r} (known: {', '.join(STANCES)}, none)")
    return folded


async def _by_campaign(request: FieldRequest) -> set[int]:
    found: set[int] = set()
    for name in request.values:
        campaign = await Campaign.get_or_none(name=name)
        if campaign is None:
            raise SelectionError(f"no campaign named {name!r}", place="--where campaign")
        rows = await Delivery.filter(campaign_id=campaign.id, contact_id__isnull=False).exclude(
            state=DeliveryState.SKIPPED.value).values_list("contact_id")
        found |= {int(r) for (r,) in rows}
    return found


async def _by_sent_ago(request: FieldRequest) -> set[int]:
    from outreach.replies.manage import parse_age

    campaign = await _status_campaign(request.campaign)
    age = min(parse_age(v, place="--where sent_ago") for v in request.values)
    cutoff = datetime.now(UTC) - age
    query = Delivery.filter(contact_id__isnull=False, sent_at__lte=cutoff,
                            state=DeliveryState.SENT.value)
    if campaign is not None:
        query = query.filter(campaign_id=campaign.id)
    return {int(r) for (r,) in await query.values_list("contact_id")}


def _age_value(value: str) -> str:
    from outreach.errors import InputError
    from outreach.replies.manage import parse_age

    try:
        parse_age(value, place="sent_ago")
    except InputError as exc:
        raise ValueError(exc.message) from None
    return value.strip().lower()


def register() -> None:
    """Add ``status``, ``stance.ASK`` and ``campaign`` to the ``--where`` grammar."""
    register_field("status", _by_status, normalise=_status_value,
                   help="the derived status in the campaign: " + ", ".join(STATUSES))
    register_field("stance.", _by_stance, normalise=_stance_value, prefix=True,
                   help="the latest stance on an ask (stance.caucus=supports)")
    register_field("campaign", _by_campaign, help="has a letter in this campaign")
    register_field("sent_ago", _by_sent_ago, normalise=_age_value,
                   help="the letter in the campaign went out at least this long ago (14d)")


register()
