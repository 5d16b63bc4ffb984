"""What the ``outreach templates`` commands do: list, preview, check, copy.

These read contacts from the database; rendering itself stays pure
(:mod:`outreach.letters.library`). Nothing here sends anything.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from outreach import ids
from outreach.config import Settings
from outreach.db import get_setting
from outreach.errors import InputError, NotFoundError, OutreachError, TemplateError
from outreach.letters.library import ASKS, PARTIALS, Letter, Library, Rendered
from outreach.letters.mime import with_date
from outreach.models import Contact
from outreach.resources import shipped_templates
from outreach.selection import parse_where, select_contacts

#: how long before a previewed follow-up its (imagined) first letter went out
PREVIEW_FOLLOW_UP_GAP = timedelta(days=14)


def summaries(library: Library) -> list[dict[str, Any]]:
    """One object per letter: name, description, languages, asks, fields, local."""
    out = []
    for letter in library.letters():
        spec = letter.spec
        out.append({
            "name": letter.name,
            "description": spec.description,
            "languages": letter.languages,
            "asks": list(spec.asks),
            "fields": letter.fields(),
            "follow_up": spec.follow_up,
            "local": spec.local,
        })
    return out


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def check_asks(asks: list[str]) -> None:
    for ask in asks:
        if ask not in ASKS:
            raise InputError(f"unknown ask {ask!r} (known: {', '.join(ASKS)})", place="--ask")


def sample_previous(
    library: Library, letter: Letter, contact: Contact, *, settings: Settings,
    lang: str | None, now: datetime,
) -> dict[str, Any] | None:
    """For a follow-up: the first letter's subject for this contact, dated two weeks ago."""
    if not letter.spec.follow_up:
        return None
    subject = ""
    if letter.spec.follows:
        first = library.get(letter.spec.follows)
        rendered = first.render(contact, settings=settings, message_id="<preview@localhost>",
                                lang=lang, today=(now - PREVIEW_FOLLOW_UP_GAP).date())
        subject = rendered.subject
    return {"sent_on": (now - PREVIEW_FOLLOW_UP_GAP).date(), "subject": subject}


@dataclass(frozen=True)
class Preview:
    rendered: Rendered
    message: bytes  # with Date
    contact: str


async def preview(
    settings: Settings, *, letter_name: str, to: str, asks: list[str] | None,
    lang: str | None, now: datetime | None = None,
) -> Preview:
    """The message for one contact exactly as it would be sent (Date and Message-ID set)."""
    if asks is not None:
        check_asks(asks)
    library = Library.for_settings(settings)
    letter = library.get(letter_name)
    contact = await Contact.get_or_none(email=to.strip().lower())
    if contact is None:
        contact = await Contact.filter(email__iexact=to.strip()).first()
    if contact is None:
        raise NotFoundError(f"no contact with address {to!r}", place="--to")
    key = await get_setting(ids.MESSAGE_ID_KEY)
    now = now or datetime.now(UTC)
    message_id = ids.message_id(key, 0, contact.id, _domain(settings.sender.address))
    rendered = letter.render(
        contact, asks=asks, settings=settings, message_id=message_id, lang=lang,
        previous=sample_previous(library, letter, contact, settings=settings, lang=lang,
                                 now=now),
        today=now.date(),
    )
    return Preview(rendered=rendered, message=with_date(rendered.message, now),
                   contact=contact.label())


@dataclass
class CheckReport:
    letters: list[str] = field(default_factory=list)
    contacts: int = 0
    rendered: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    fallbacks: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def check(
    settings: Settings, *, letter_name: str | None, where: list[str], asks: list[str] | None,
) -> CheckReport:
    """Render every chosen letter for every matching contact; collect failures and fallbacks."""
    if asks is not None:
        check_asks(asks)
    library = Library.for_settings(settings)
    letters = [library.get(letter_name)] if letter_name else library.letters()
    contacts = await select_contacts(parse_where(where))
    report = CheckReport(letters=[x.name for x in letters], contacts=len(contacts))
    now = datetime.now(UTC)
    domain = _domain(settings.sender.address)
    for letter in letters:
        for contact in contacts:
            label = contact.label()
            try:
                previous = sample_previous(library, letter, contact, settings=settings,
                                           lang=None, now=now)
                rendered = letter.render(
                    contact, asks=asks, settings=settings,
                    message_id=f"<check.{contact.id}@{domain}>", previous=previous,
                    today=now.date(),
                )
            except OutreachError as exc:
                report.failures.append({"letter": letter.name, "contact": label,
                                        "error": str(exc)})
                continue
            report.rendered += 1
            if rendered.fell_back:
                report.fallbacks.append({
                    "letter": letter.name, "contact": label,
                    "wanted": rendered.wanted_language, "used": rendered.language,
                })
    return report


def copy_letters(settings: Settings, *, name: str | None, force: bool) -> list[Path]:
    """Copy a shipped letter (or all, with the partials) into ``templates/`` beside the config."""
    source_root = shipped_templates()
    target_root = settings.base_dir / "templates"
    if name is not None:
        if name.startswith(("_", ".")) or not (source_root / name / "letter.toml").is_file():
            known = sorted(p.name for p in source_root.iterdir()
                           if (p / "letter.toml").is_file())
            raise TemplateError(f"no shipped letter named {name!r} (letters: "
                                f"{', '.join(known)})", place=name)
        names = [name]
    else:
        letters = sorted(p.name for p in source_root.iterdir() if (p / "letter.toml").is_file())
        names = [*letters, PARTIALS]
    copied: list[Path] = []
    for item in names:
        target = target_root / item
        if target.exists() and not force:
            raise TemplateError("already exists; edit it, or pass --force to replace it",
                                place=str(target))
    for item in names:
        target = target_root / item
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source_root / item, target)
        copied.append(target)
    return copied
