"""Finding, listing, showing, tagging and opting out contacts.

A contact is named on the command line by its e-mail address, ``ep:ID`` (its
European Parliament id) or its number (``12`` or ``#12``): :func:`resolve`.

:func:`timeline` builds a contact's history from providers. The audit events
are built in; later features add theirs (letters, replies, stances) with
:func:`register_timeline`, a coroutine taking the contact and returning
:class:`TimelineEntry` items. The entries are merged in time order.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from outreach.audit import event_rows, record
from outreach.contacts import fields
from outreach.contacts.suppress import OPT_OUT, email_hash, suppressed_emails
from outreach.errors import InputError, NotFoundError
from outreach.models import Contact, Event, Suppression, dump_list, load_list
from outreach.selection import Selection, contact_query

#: the keys of a listed contact, in order (``--json`` and tables)
LIST_KEYS: tuple[str, ...] = ("id", *fields.COLUMNS, "status", "suppressed")


async def resolve(ref: str) -> Contact:
    """The contact named by an address, ``ep:ID`` or a number; NotFoundError otherwise."""
    text = ref.strip()
    contact: Contact | None
    if text.lower().startswith("ep:"):
        contact = await Contact.get_or_none(ep_id=text[3:].strip())
    elif text.lstrip("#").isdigit():
        contact = await Contact.get_or_none(id=int(text.lstrip("#")))
    elif "@" in text:
        contact = await Contact.get_or_none(email=text.lower())
    else:
        raise InputError("name a contact by e-mail address, ep:ID or number", place=ref)
    if contact is None:
        raise NotFoundError("no such contact", place=ref)
    return contact


def contact_dict(row: dict[str, Any], suppressed: dict[str, str]) -> dict[str, Any]:
    """A stored contact (``values()`` row) as listed: canonical names, lists as lists."""
    reason = suppressed.get(row.get("email") or "", "")
    out: dict[str, Any] = {"id": row["id"]}
    for column in fields.COLUMNS:
        value = row.get(column)
        if column in fields.LIST_COLUMNS:
            out[column] = load_list(value)
        else:
            out[column] = value if value is not None else ""
    out["status"] = reason or "active"
    out["suppressed"] = bool(reason)
    return out


async def list_contacts(selection: Selection) -> list[dict[str, Any]]:
    """The selected contacts as plain dicts (see :data:`LIST_KEYS`), ordered by id."""
    query = await contact_query(selection)
    rows = await query.values("id", *fields.COLUMNS)
    suppressed = await suppressed_emails()
    return [contact_dict(row, suppressed) for row in rows]


# --- the timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    #: where the entry sorts when not at ``at``: an answer dated (by the sender's clock,
    #: to the second) before the letter it answers still comes after that letter
    order: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "summary": self.summary,
            "details": self.details,
        }


TimelineProvider = Callable[[Contact], Awaitable[list[TimelineEntry]]]
_PROVIDERS: list[TimelineProvider] = []
#: audit actions another provider tells better (left out of the audit entries)
SUPERSEDED_ACTIONS: set[str] = set()
#: action → its one-line description from the event's details (added by later features)
DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {}


def register_timeline(provider: TimelineProvider) -> None:
    """Add a source of timeline entries (letters, replies, stances …)."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def _describe(event: Event) -> str:
    details = event.detail_dict
    if event.action in DESCRIBERS:
        return DESCRIBERS[event.action](details)
    if event.action == "contacts.import":
        change = details.get("change", "")
        source = details.get("source", "")
        if change == "updated":
            return f"updated from {source} ({', '.join(details.get('fields', []))})"
        return f"{change} from {source}" if change else "imported"
    if event.action in {"contacts.tag", "contacts.untag"}:
        verb = "tagged" if event.action == "contacts.tag" else "untagged"
        return f"{verb} {', '.join(details.get('tags', []))}"
    if event.action == "contacts.opt-out":
        note = details.get("note")
        return "opted out" + (f": {note}" if note else "")
    return event.action + (f" {json.dumps(details, ensure_ascii=False)}" if details else "")


async def _events(contact: Contact) -> list[TimelineEntry]:
    events = await Event.filter(contact_id=contact.id).order_by("at", "id")
    return [
        TimelineEntry(
            at=e.at,
            kind=e.action,
            summary=_describe(e),
            details={"actor": e.actor, **e.detail_dict},
        )
        for e in events
        if e.action not in SUPERSEDED_ACTIONS
    ]


register_timeline(_events)


async def timeline(contact: Contact) -> list[TimelineEntry]:
    """Everything that happened to a contact, oldest first."""
    entries: list[TimelineEntry] = []
    for provider in _PROVIDERS:
        entries.extend(await provider(contact))
    return sorted(entries, key=lambda e: e.order or e.at)


async def profile(contact: Contact) -> dict[str, Any]:
    """The contact as listed, plus its provenance and timeline."""
    row = await Contact.filter(id=contact.id).values("id", *fields.COLUMNS)
    suppressed = await suppressed_emails()
    out = contact_dict(row[0], suppressed)
    note = ""
    if contact.email and out["suppressed"]:
        found = await Suppression.get_or_none(email=contact.email)
        note = found.note if found else ""
    out["suppression_note"] = note
    out["source_file"] = contact.source_file
    out["source_date"] = contact.source_date.isoformat() if contact.source_date else ""
    out["timeline"] = [e.to_json() for e in await timeline(contact)]
    return out


# --- tags and opt-outs ----------------------------------------------------------------------


async def _targets(refs: Sequence[str], selection: Selection | None) -> list[Contact]:
    found: dict[int, Contact] = {}
    for ref in refs:
        c = await resolve(ref)
        found[c.id] = c
    if selection:
        for c in await (await contact_query(selection)):
            found[c.id] = c
    return [found[k] for k in sorted(found)]


async def change_tags(
    tags: Sequence[str],
    *,
    refs: Sequence[str] = (),
    selection: Selection | None = None,
    remove: bool = False,
    actor: str,
) -> int:
    """Add (or remove) tags on the named and selected contacts; the number changed."""
    try:
        wanted = fields.tags(list(tags))
    except ValueError as exc:
        raise InputError(str(exc), place="tag") from None
    if not wanted:
        raise InputError("no tag given", place="tag")
    contacts = await _targets(refs, selection)
    changed: list[Contact] = []
    for c in contacts:
        have = c.tag_list
        new = (
            [t for t in have if t not in wanted]
            if remove
            else have + [t for t in wanted if t not in have]
        )
        if new != have:
            c.tags = dump_list(new)
            changed.append(c)
    if changed:
        action = "contacts.untag" if remove else "contacts.tag"
        async with in_transaction():
            await Contact.bulk_update(changed, fields=["tags", "updated_at"])
            await Event.bulk_create(
                event_rows(actor, action, [(c.id, None, {"tags": wanted}) for c in changed])
            )
    return len(changed)


@dataclass(frozen=True)
class OptOut:
    email: str
    contact_id: int | None
    already: bool


async def opt_out(ref: str, *, reason: str = "", actor: str) -> OptOut:
    """Put an address (or a contact's address) on the do-not-contact list."""
    if "@" in ref:
        try:
            address = fields.email(ref)
        except ValueError as exc:
            raise InputError(str(exc), place=ref) from None
        contact = await Contact.get_or_none(email=address)
    else:
        contact = await resolve(ref)
        if not contact.email:
            raise InputError("this contact has no e-mail address", place=ref)
        address = contact.email
    try:
        note = fields.text(reason, column="reason", multiline=True)
    except ValueError as exc:
        raise InputError(str(exc), place="--reason") from None
    digest = await email_hash(address)
    contact_id = contact.id if contact else None
    if await Suppression.filter(Q(email=address) | Q(email_hash=digest)).exists():
        return OptOut(email=address, contact_id=contact_id, already=True)
    async with in_transaction():
        row = await Suppression.create(email=address, email_hash=digest, reason=OPT_OUT, note=note)
        await record(actor, "contacts.opt-out", contact=contact_id, note=note, suppression=row.id)
    return OptOut(email=address, contact_id=contact_id, already=False)


# letters, replies and stance changes join the timeline on import (issue #6)
import outreach.report.timeline  # noqa: E402,F401
