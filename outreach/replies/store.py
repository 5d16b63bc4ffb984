"""Storing incoming messages: parse, classify, match, keep once, apply effects.

:func:`ingest` takes one raw message and stores it as a
:class:`~outreach.models.Reply` unless a reply with its Message-ID is stored
already (imports and fetches are idempotent by Message-ID). A message that
cannot be read is reported in the :class:`IngestReport`, never raised: one
bad message does not stop a batch. Each stored reply is an audit event
(``replies.receive``) and applies its effects (:mod:`outreach.replies.effects`)
in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from outreach import audit, ids
from outreach.config import Settings
from outreach.db import get_setting
from outreach.errors import InputError
from outreach.models import Contact, Reply
from outreach.replies.classify import Inbound, classify
from outreach.replies.effects import apply_effects
from outreach.replies.matching import match
from outreach.replies.parse import parse_message
from outreach.replies.sources import RawMessage, read_paths


@dataclass
class IngestReport:
    """What one import or fetch did."""

    new: int = 0
    duplicates: int = 0
    unmatched: int = 0
    suppressed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    #: (where, why) for each message that could not be stored
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: (where, warning) repairs made while reading messages that were stored
    warnings: list[tuple[str, str]] = field(default_factory=list)
    reply_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "new": self.new, "duplicates": self.duplicates, "unmatched": self.unmatched,
            "suppressed": self.suppressed, "kinds": dict(sorted(self.kinds.items())),
            "errors": [{"source": s, "error": e} for s, e in self.errors],
        }


Progress = Callable[[int], None]
#: the Reply.message_id column's size
MAX_MESSAGE_ID = 500


def _storable_id(message_id: str) -> str:
    """The Message-ID, or for an absurdly long one a stable digest of it."""
    if len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    return f"<{hashlib.sha256(message_id.encode()).hexdigest()}@long-id.outreach.invalid>"


async def _store(inbound: Inbound, *, key: str, settings: Settings, source: str,
                 report: IngestReport) -> None:
    inbound.message_id = _storable_id(inbound.message_id)
    if await Reply.exists(message_id=inbound.message_id):
        report.duplicates += 1
        return
    found = await match(inbound, key=key)
    received = inbound.received_at or datetime.now(UTC)
    contact = await Contact.get_or_none(id=found.contact_id) if found.contact_id else None
    try:
        async with in_transaction():
            reply = await Reply.create(
                message_id=inbound.message_id, kind=inbound.kind,
                contact_id=found.contact_id, campaign_id=found.campaign_id,
                delivery_id=found.delivery_id, matched_by=found.matched_by,
                from_address=inbound.from_address[:320], subject=inbound.subject,
                body=inbound.body, received_at=received,
                failed_address=(inbound.failed_addresses[0] if inbound.failed_addresses
                                else "")[:320],
                dsn_status=inbound.dsn_status[:16], return_date=inbound.return_date[:40],
                opt_out_request=inbound.opt_out_request, source=source[:500],
            )
            await audit.record(
                settings.actor, "replies.receive", contact=found.contact_id,
                campaign=found.campaign_id, reply=reply.id, kind=inbound.kind,
                matched_by=found.matched_by, reason=inbound.reason, source=source,
            )
            done = await apply_effects(
                kind=inbound.kind, failed=inbound.failed_addresses, contact=contact,
                received_at=received, reply_id=reply.id, campaign_id=found.campaign_id,
                actor=settings.actor,
            )
    except IntegrityError:  # stored meanwhile by another fetch
        report.duplicates += 1
        return
    report.new += 1
    report.reply_ids.append(reply.id)
    report.kinds[inbound.kind] = report.kinds.get(inbound.kind, 0) + 1
    report.unmatched += not found.matched
    report.suppressed += sum(1 for s in done if s.added)


async def ingest(raw: RawMessage, *, key: str, settings: Settings, report: IngestReport) -> bool:
    """Store one message; False (with the reason in ``report.errors``) if unreadable."""
    if raw.error:
        report.errors.append((raw.source, raw.error))
        return False
    try:
        inbound = classify(parse_message(raw.data, source=raw.source))
    except InputError as exc:
        report.errors.append((raw.source, exc.message))
        return False
    except Exception as exc:  # a parser bug must not end the batch
        report.errors.append((raw.source, f"cannot be read: {type(exc).__name__}: {exc}"))
        return False
    report.warnings.extend((raw.source, w) for w in inbound.warnings)
    await _store(inbound, key=key, settings=settings, source=raw.source, report=report)
    return True


async def import_messages(
    messages: Iterable[RawMessage], *, settings: Settings, progress: Progress | None = None
) -> IngestReport:
    """Store every message of ``messages`` (see :func:`ingest`)."""
    report = IngestReport()
    key = await get_setting(ids.MESSAGE_ID_KEY)
    for count, raw in enumerate(messages, start=1):
        await ingest(raw, key=key, settings=settings, report=report)
        if progress is not None:
            progress(count)
    return report


async def import_paths(
    paths: list[Path], *, settings: Settings, progress: Progress | None = None
) -> IngestReport:
    """``replies import PATH…``: .eml files, mbox files and Maildir folders."""
    return await import_messages(read_paths(paths), settings=settings, progress=progress)
