"""Stances: where a target stands on each ask, as a campaigner records it.

The set is small and fixed (:data:`STANCES`):

``supports``   says yes, will act on it (sign, co-sponsor, raise it)
``open``       interested, wants to know more, will consider or forward it
``undecided``  answered without taking a position
``opposes``    says no
``no-answer``  nothing came back (set by a campaigner, e.g. before a follow-up)

A stance is recorded per (contact, ask), optionally with the campaign and the
reply it came from; the latest recording wins. Stances learnt without a reply
(a meeting, a call, a public statement) carry that ``source``. Every
recording is an audit event (``stance.set``). :func:`suggest` proposes a
stance from a reply's own words; a suggestion is only shown, never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from outreach import audit
from outreach.errors import InputError
from outreach.models import Campaign, Contact, Reply, Stance
from outreach.replies.classify import own_text

STANCES = ("supports", "open", "undecided", "opposes", "no-answer")
SOURCES = ("reply", "meeting", "call", "statement", "letter", "other")


def known_asks() -> tuple[str, ...]:
    from outreach.letters import ASKS

    return tuple(ASKS)


def parse_assignments(items: list[str], *, place: str = "--stance") -> dict[str, str]:
    """``["caucus=supports", "funding=open"]`` → ``{"caucus": "supports", …}`` (checked)."""
    out: dict[str, str] = {}
    asks = known_asks()
    for item in items:
        ask, sep, value = item.partition("=")
        ask, value = ask.strip().lower(), value.strip().lower()
        if not sep or not ask or not value:
            raise InputError(f"expected ASK=STANCE, got {item!r}", place=place)
        if ask not in asks:
            raise InputError(f"unknown ask {ask!r} (known: {', '.join(asks)})", place=place)
        if value not in STANCES:
            raise InputError(
                f"unknown stance {value!r} (known: {', '.join(STANCES)})", place=place
            )
        out[ask] = value
    if not out:
        raise InputError("give at least one ASK=STANCE", place=place)
    return out


@dataclass(frozen=True)
class StanceRow:
    ask: str
    stance: str
    source: str
    campaign: str | None
    reply_id: int | None
    note: str
    recorded_by: str
    recorded_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "ask": self.ask, "stance": self.stance, "source": self.source,
            "campaign": self.campaign, "reply": self.reply_id, "note": self.note,
            "recorded_by": self.recorded_by, "recorded_at": self.recorded_at.isoformat(),
        }


async def record_stances(
    contact: Contact, stances: dict[str, str], *, actor: str, source: str = "reply",
    campaign: Campaign | None = None, reply: Reply | None = None, note: str = "",
) -> list[Stance]:
    """Record one stance per ask (the latest recording wins), each an audit event."""
    if source not in SOURCES:
        raise InputError(f"unknown source {source!r} (known: {', '.join(SOURCES)})",
                         place="--source")
    rows: list[Stance] = []
    async with in_transaction():
        for ask, value in stances.items():
            rows.append(await Stance.create(
                contact_id=contact.id, campaign_id=campaign.id if campaign else None,
                reply_id=reply.id if reply else None, ask=ask, stance=value, source=source,
                note=note, recorded_by=actor,
            ))
            await audit.record(
                actor, "stance.set", contact=contact, campaign=campaign, ask=ask, stance=value,
                source=source, reply=reply.id if reply else None, note=note,
            )
    return rows


async def current_stances(contact_ids: list[int]) -> dict[int, dict[str, str]]:
    """contact id → {ask: latest stance} (across campaigns)."""
    out: dict[int, dict[str, str]] = {}
    if not contact_ids:
        return out
    query = Stance.filter(contact_id__in=contact_ids).order_by("recorded_at", "id")
    rows = await query.values_list("contact_id", "ask", "stance")
    for contact_id, ask, value in rows:
        out.setdefault(int(contact_id), {})[str(ask)] = str(value)
    return out


async def stances_by_reply(reply_ids: list[int]) -> dict[int, dict[str, str]]:
    """reply id → {ask: stance} recorded from that reply (latest per ask)."""
    out: dict[int, dict[str, str]] = {}
    if not reply_ids:
        return out
    rows = await Stance.filter(reply_id__in=reply_ids).order_by("recorded_at", "id").values_list(
        "reply_id", "ask", "stance")
    for reply_id, ask, value in rows:
        out.setdefault(int(reply_id), {})[str(ask)] = str(value)
    return out


async def contact_history(contact: Contact) -> list[StanceRow]:
    query = Stance.filter(contact_id=contact.id).order_by("recorded_at", "id")
    rows = await query.prefetch_related("campaign")
    return [
        StanceRow(
            ask=r.ask, stance=r.stance, source=r.source,
            campaign=r.campaign.name if r.campaign else None,
            reply_id=r.reply_id,  # type: ignore[attr-defined]
            note=r.note, recorded_by=r.recorded_by, recorded_at=r.recorded_at,
        )
        for r in rows
    ]


# --- suggestions (shown to the campaigner, never stored by themselves) ---------------

_SUPPORT = re.compile(
    r"\b(i|we) (fully |strongly |would )?(support|endorse|agree|back)\b|\bhappy to (join|sign|"
    r"support|co-?sign)|\bcount (me|us) in\b|\bich unterstütze|\bwir unterstützen|"
    r"\bje soutiens|\bnous soutenons|\bapoyo\b|\bapoyamos\b|\bsostengo\b|\bsosteniamo\b",
    re.IGNORECASE,
)
_OPPOSE = re.compile(
    r"\b(cannot|can't|can not|will not|won't|do not|don't) (support|endorse|agree|join)|"
    r"\b(not|no) in a position to (support|endorse|join)|\bdecline\b|\bunfortunately\b.{0,60}"
    r"\bnot\b|\bkönnen (wir|ich) nicht\b|\bne (pouvons|peux) pas\b|\bno podemos\b|"
    r"\bnon possiamo\b",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"\b(interest(ed|ing)|consider|look into|forward(ed)? (it|your|this)|pass (it|this) on|"
    r"meet|meeting|more information|get back to you)\b|\binteressant|\bprüfen\b|\bétudier\b|"
    r"\brendez-vous\b|\breunión\b|\bincontro\b",
    re.IGNORECASE,
)


def suggest(reply: Reply) -> str:
    """A stance the reply's own words suggest, or "" (auto-replies and bounces: none)."""
    if reply.kind != "reply" or not reply.body:
        return ""
    text = " ".join(own_text(reply.body).split())
    if _OPPOSE.search(text):
        return "opposes"
    if _SUPPORT.search(text):
        return "supports"
    if _OPEN.search(text):
        return "open"
    return "undecided"
