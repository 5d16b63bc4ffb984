"""The doctor's campaign checks: state, stored letters, schedule, suppressions, languages.

They read only (the database must be open): a campaign that exists and is
planned, every letter still to send complete (its bytes, recipient and
Message-ID), a schedule inside the campaign's window and not absurdly long,
and, as warnings, targets suppressed since planning and letters rendered in
English for want of their language.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.expressions import Q

from outreach import refdata
from outreach.campaigns.manage import get_campaign
from outreach.config import Settings
from outreach.contacts.suppress import erased_hashes, hash_with
from outreach.doctor import Check, fail, ok, warn
from outreach.errors import NotFoundError
from outreach.models import Campaign, CampaignState, Contact, Delivery, DeliveryState, Suppression
from outreach.sending.pacing import Clock, Pace, utcnow, zone_for

#: letters still to send
OPEN = (DeliveryState.PLANNED.value, DeliveryState.DEFERRED.value)
#: a schedule longer than this is worth a warning, and one longer than ABSURD a failure
LONG = timedelta(days=30)
ABSURD = timedelta(days=90)


def _zone(country: str) -> str:
    info = refdata.country(country) if country else None
    return info.timezone if info is not None else "UTC"


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(delta.total_seconds() / 60, 0):.0f} minutes"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.0f} days"


async def campaign_checks(
    name: str, *, settings: Settings, proof: bool = False, clock: Clock = utcnow
) -> list[Check]:
    """The checks for one campaign; ``proof``: only what a proof letter needs."""
    try:
        campaign = await get_campaign(name)
    except NotFoundError as exc:
        return [fail("campaign", exc.message, place=exc.place or "campaign",
                     fix="`outreach campaign list` shows the campaigns")]
    label = f"campaign {name}"
    checks: list[Check] = []
    if not proof:
        checks.append(await _state(campaign, label))
    checks.append(await _letters(campaign, label))
    if not proof:
        checks.append(await _schedule(campaign, label, clock()))
    checks.extend(await _warnings(campaign, label))
    return checks


async def _state(campaign: Campaign, label: str) -> Check:
    name, state = campaign.name, campaign.state
    if state == CampaignState.DRAFT.value:
        return fail(label, f"campaign {name!r} is not planned yet", place="campaign",
                    fix=f"run `outreach campaign plan {name}`")
    if state == CampaignState.PAUSED.value:
        return fail(label, f"campaign {name!r} is paused ({campaign.pause_reason})",
                    place="campaign", fix=f"run `outreach campaign resume {name}`")
    if state == CampaignState.CANCELLED.value:
        return fail(label, f"campaign {name!r} is cancelled", place="campaign",
                    fix="create a new campaign")
    counts = Counter(cast(list[str], await Delivery.filter(campaign_id=campaign.id)
                          .values_list("state", flat=True)))
    to_send = sum(counts[s] for s in OPEN)
    return ok(label, f"{state}: {to_send} letters to send, {counts['sent']} sent")


async def _letters(campaign: Campaign, label: str) -> Check:
    incomplete = Delivery.filter(campaign_id=campaign.id, state__in=OPEN).filter(
        Q(message__isnull=True) | Q(recipient="") | Q(message_id=""))
    rows = cast(list[tuple[int, str, str]], await incomplete.order_by("id").limit(3)
                .values_list("id", "recipient", "message_id"))
    if rows:
        count = await incomplete.count()
        first = rows[0]
        missing = ("recipient" if not first[1] else "Message-ID" if not first[2]
                   else "message")
        return fail(label, f"{count} stored letters are incomplete (letter {first[0]}"
                    f"{' to ' + first[1] if first[1] else ''} has no {missing})",
                    place=f"campaign {campaign.name}",
                    fix=f"render them again: `outreach campaign plan {campaign.name} "
                    "--rerender`")
    count = await Delivery.filter(campaign_id=campaign.id, state__in=OPEN).count()
    return ok(label, f"{count} stored letters complete (message, recipient, Message-ID)")


async def _schedule(campaign: Campaign, label: str, now: datetime) -> Check:
    pace = Pace.from_json(json.loads(campaign.pacing or "{}"))
    rows = cast(list[tuple[datetime, str | None]], await Delivery.filter(
        campaign_id=campaign.id, state=DeliveryState.PLANNED.value)
        .values_list("scheduled_at", "contact__country"))
    if not rows:
        return ok(label, "no letters waiting to be scheduled")
    first = min(at for at, _ in rows)
    last = max(at for at, _ in rows)
    place = f"campaign {campaign.name}"
    if pace.window is not None:
        outside = [(at, country) for at, country in rows
                   if not pace.window.contains(at, zone_for(_zone(str(country or ""))))]
        if outside:
            at, country = min(outside)
            days = " on weekdays" if pace.window.weekdays_only else ""
            return fail(label, f"{len(outside)} letters are scheduled outside the window "
                        f"{pace.window.text()}{days} in their recipient's local time (the "
                        f"first at {at:%Y-%m-%d %H:%M} UTC, {country or 'no country'})",
                        place=place,
                        fix="they were planned under another window: cancel the campaign "
                        "and plan a new one with the window you want, or --force (the "
                        "sender holds each letter to its next opening)")
    # how long sending takes from its start (a campaign may be planned to start later)
    takes = last - max(first, now) if last > now else timedelta(0)
    span = (f"{len(rows)} letters from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
            f"(sending takes about {_span(takes)}) at {pace.describe()}")
    if takes > ABSURD:
        return fail(label, f"the schedule is too long: {span}", place=place,
                    fix="raise the rates or widen the window: cancel and plan again with "
                    "--rate / --per-domain / --window")
    if takes > LONG:
        return warn(label, f"the schedule is long: {span}", place=place,
                    fix="raise the rates (--rate, --per-domain) if that is not intended")
    return ok(label, f"schedule fits: {span}")


async def _warnings(campaign: Campaign, label: str) -> list[Check]:
    rows = cast(list[tuple[str, str, int | None]], await Delivery.filter(
        campaign_id=campaign.id, state__in=OPEN).values_list("recipient", "language",
                                                              "contact_id"))
    out: list[Check] = []
    suppressed = {str(e).lower() for e in await Suppression.filter(email__not_isnull=True)
                  .values_list("email", flat=True)}
    salt, erased = await erased_hashes()
    hit = [r for r, _, _ in rows if r.lower() in suppressed
           or (erased and hash_with(salt, r) in erased)]
    at_plan = await Delivery.filter(campaign_id=campaign.id, state=DeliveryState.SKIPPED.value,
                                    smtp_text__startswith="suppressed").count()
    if hit or at_plan:
        parts = []
        if hit:
            parts.append(f"{len(hit)} letters to send go to suppressed addresses (e.g. "
                         f"{hit[0]}); the sender skips them")
        if at_plan:
            parts.append(f"{at_plan} targets were suppressed when it was planned (skipped)")
        out.append(warn(label, "; ".join(parts), place=f"campaign {campaign.name}",
                        fix="nothing to do: suppressed targets never receive a letter"))
    fell_back = await _fallbacks(rows)
    if fell_back:
        total = sum(fell_back.values())
        which = ", ".join(f"{lang}: {n}" for lang, n in fell_back.most_common())
        out.append(warn(label, f"{total} letters are in English for want of their language "
                        f"({which})", place=f"template {campaign.template}",
                        fix=f"add those languages to the letter (`outreach templates copy "
                        f"{campaign.template}`), then `campaign plan {campaign.name} "
                        "--rerender`"))
    return out


async def _fallbacks(rows: list[tuple[str, str, int | None]]) -> Counter[str]:
    """Wanted language → letters rendered in another one."""
    ids = [cid for _, _, cid in rows if cid is not None]
    wanted: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        chunk: list[Any] = await Contact.filter(id__in=ids[start:start + 1000]).values_list(
            "id", "language", "country")
        for cid, language, country in chunk:
            wanted[int(cid)] = (str(language or "").strip().lower()
                                or refdata.default_language(str(country or "")))
    out: Counter[str] = Counter()
    for _, language, cid in rows:
        want = wanted.get(cid or -1, "")
        if want and language and want != language:
            out[want] += 1
    return out
