"""``contacts erase``: the right to erasure (GDPR art. 17).

In one transaction: the letters to the person keep their place in the ledger
(a campaign's counts stay right) but lose the message, recipient, subject and
the relay's answer (which may quote the address); their replies lose the body,
sender, subject and source file, and their Message-ID (written by the person's
mail program, it may hold a name) becomes a salted hash; audit events and stances go with
the contact row (cascade); events elsewhere that quote the address are blanked;
the bounce score is deleted; the do-not-contact list keeps only a salted hash of
the address, so a later import refuses it. A ``contacts.erase`` event records
that an erasure happened, without personal data. Then the database is compacted
(SQLite ``VACUUM`` and a WAL checkpoint; PostgreSQL ``VACUUM``) so that no free
page keeps the old rows.

What the database cannot reach is listed for the campaigner: captured letters in
the ``capture://`` Maildir that mention the address, the IMAP mailbox the replies
came from, and any export files made earlier (the program does not know where
those are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from outreach.audit import record
from outreach.config import Settings
from outreach.contacts.manage import resolve
from outreach.contacts.suppress import ERASED, email_hash
from outreach.models import BounceScore, Delivery, Event, Reply, Suppression

#: the stand-in for an event's details that quoted the erased address
BLANK_DETAILS = '{"erased": true}'


@dataclass
class EraseReport:
    contact_id: int
    letters: int = 0
    replies: int = 0
    events_blanked: int = 0
    compacted: bool = False
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def describe(ref: str) -> str:
    """What will be erased, for the confirmation question (shows the contact once)."""
    c = await resolve(ref)
    return f"contact #{c.id} {c.name or ''} <{c.email or 'no address'}>".replace("  ", " ")


async def erase_contact(ref: str, *, settings: Settings) -> EraseReport:
    contact = await resolve(ref)
    email = contact.email or ""
    report = EraseReport(contact_id=contact.id)
    digest = await email_hash(email) if email else ""
    async with in_transaction():
        report.letters = await Delivery.filter(contact_id=contact.id).update(
            message=None, recipient="", subject="", smtp_text=""
        )
        if email:
            report.letters += await Delivery.filter(recipient=email).update(
                message=None, recipient="", subject="", smtp_text=""
            )
        await _forget_reply_ids(contact.id, email)
        report.replies = await Reply.filter(contact_id=contact.id).update(
            body=None, from_address="", subject="", failed_address=""
        )
        if email:
            for column in ("from_address", "failed_address"):
                report.replies += await Reply.filter(**{column: email}).update(
                    body=None, from_address="", subject="", failed_address=""
                )
            report.events_blanked = await Event.filter(details__icontains=email).update(
                details=BLANK_DETAILS
            )
            await BounceScore.filter(email=email).delete()
            await Suppression.filter(email=email).delete()
            await Suppression.filter(email_hash=digest).delete()
            await Suppression.create(email=None, email_hash=digest, reason=ERASED, note="")
        await contact.delete()
        await record(settings.actor, "contacts.erase", erased_contact=report.contact_id)
    report.compacted = await compact(settings)
    report.files, report.notes = outside_files(settings, email)
    return report


async def _forget_reply_ids(contact_id: int, email: str) -> None:
    """Replace the Message-ID and source of the person's replies by a salted hash."""
    query = Q(contact_id=contact_id)
    if email:
        query |= Q(from_address=email) | Q(failed_address=email)
    for reply_id, message_id in await Reply.filter(query).values_list("id", "message_id"):
        hashed = await email_hash(str(message_id))
        await Reply.filter(id=reply_id).update(message_id=f"<erased.{hashed}@invalid>",
                                                source="")


async def compact(settings: Settings) -> bool:
    """Rewrite the database so no free page keeps deleted rows."""
    conn = connections.get("default")
    if settings.database_url.startswith("sqlite://"):
        await conn.execute_script("VACUUM")
        await conn.execute_query("PRAGMA wal_checkpoint(TRUNCATE)")
        return True
    tables = ("contact", "delivery", "reply", "event", "suppression", "stance", "bounce_score")
    await conn.execute_script("VACUUM " + ", ".join(tables))
    return True


def outside_files(settings: Settings, email: str) -> tuple[list[str], list[str]]:
    """Files outside the database that may still hold the person's letters, and notes."""
    files: list[str] = []
    notes: list[str] = []
    url = settings.smtp.url
    if url.startswith("capture://") and email:
        folder = settings.resolve(url[len("capture://") :])
        needle = email.lower().encode()
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and _mentions(path, needle):
                    files.append(str(path))
    if settings.imap.url:
        notes.append(f"the mailbox at {settings.imap.url} may still hold their replies")
        if settings.imap.sent_folder:
            notes.append(f"its folder {settings.imap.sent_folder!r} may hold the letters sent")
    notes.append("export files made earlier may hold their data (their places are not recorded)")
    return files, notes


def _mentions(path: Path, needle: bytes) -> bool:
    try:
        return needle in path.read_bytes().lower()
    except OSError:
        return False
