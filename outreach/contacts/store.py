"""``contacts import``: read, check, merge and write contact files in one transaction.

The steps: every file is read (an unreadable one stops everything before a
write); every row is checked and normalised (a bad one becomes a rejection
``FILE:LINE: reason``); rows are merged (the same address twice in one file is
rejected, the first wins; the European Parliament's records merge on the EP id
across files); existing contacts are found by e-mail, else by ``ep_id``; then
new contacts, changed contacts, suppressions and audit events are written in a
single transaction, so a crash leaves the database as it was. ``strict`` writes
nothing when any row was rejected; ``dry_run`` writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outreach.config import Settings
from outreach.contacts import fields, record
from outreach.contacts.formats import read_file
from outreach.contacts.rows import RawRow
from outreach.contacts.suppress import erased_hashes, hash_with, suppressed_emails
from outreach.contacts.writer import CHUNK, STORED, Candidate, Plan, Progress, list_text, write
from outreach.models import Contact, load_list
from outreach.refdata import default_language


@dataclass
class Rejection:
    place: str
    reason: str

    def __str__(self) -> str:
        return f"{self.place}: {self.reason}"


@dataclass
class ImportReport:
    files: list[str]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False
    #: False when nothing was written (dry run, or strict with rejections)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "suppressions": self.suppressions,
            "rejected": [{"place": r.place, "reason": r.reason} for r in self.rejected],
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "written": self.written,
        }


_ByKey = dict[str, dict[str, Any]]


def _keys(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    if values.get("email"):
        out.append(("email", str(values["email"])))
    if values.get("ep_id"):
        out.append(("ep", str(values["ep_id"])))
    return out


def _merge(
    rows: list[RawRow], report: ImportReport, progress: Progress | None = None
) -> list[Candidate]:
    """Checked rows merged into candidates; rejections added to the report."""
    candidates: list[Candidate] = []
    by_key: dict[tuple[str, str], Candidate] = {}
    first_in_file: dict[tuple[str, tuple[str, str]], int] = {}
    for number, row in enumerate(rows, 1):
        if progress and (number % 1000 == 0 or number == len(rows)):
            progress("checking", number, len(rows))
        if row.error:
            report.rejected.append(Rejection(row.place, row.error))
            continue
        try:
            values = record.normalise_values(row.values)
        except ValueError as exc:
            report.rejected.append(Rejection(row.place, str(exc)))
            continue
        finally:
            row.values = {}  # the raw text is no longer needed: keep memory flat
        keys = _keys(values)
        if not row.ep:
            duplicate = next(
                (first_in_file[(row.file, k)] for k in keys if (row.file, k) in first_in_file),
                None,
            )
            if duplicate is not None:
                what = "address" if keys and keys[0][0] == "email" else "ep_id"
                reason = f"duplicate {what}: line {duplicate} has it (the first wins)"
                report.rejected.append(Rejection(row.place, reason))
                continue
            for k in keys:
                first_in_file[(row.file, k)] = row.line
        found = {id(by_key[k]): by_key[k] for k in keys if k in by_key}
        if len(found) > 1:
            report.rejected.append(
                Rejection(row.place, "its e-mail and ep_id belong to two different rows")
            )
            continue
        if found:
            cand = next(iter(found.values()))
            cand.values.update(values)
        else:
            cand = Candidate(place=row.place, file=row.file, values=values, ep=row.ep)
            candidates.append(cand)
        for k in keys:
            by_key[k] = cand
            cand.keys.add(k)
    return candidates


def _suppression_only(values: dict[str, Any]) -> bool:
    """A row with an address and ``suppressed`` and nothing else: a do-not-contact entry."""
    if not values.get("suppressed") or not values.get("email"):
        return False
    skip = {"email", "suppressed", "suppressed_note", "source_file", "source_date"}
    return not any(v for k, v in values.items() if k not in skip)


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """Candidate values as the Contact columns store them (only the columns present)."""
    out: dict[str, Any] = {}
    for column in STORED:
        if column in values:
            value = values[column]
            out[column] = list_text(value) if column in fields.LIST_COLUMNS else value
    return out


def _source(values: dict[str, Any], file: str, now: datetime) -> tuple[str, datetime]:
    name = str(values.get("source_file") or file)
    text = str(values.get("source_date") or "")
    if text:
        try:
            when = datetime.fromisoformat(text)
            return name, when if when.tzinfo else when.replace(tzinfo=UTC)
        except ValueError:
            pass
    return name, now


async def _existing(candidates: list[Candidate]) -> tuple[_ByKey, _ByKey]:
    """Stored contacts (as dicts) by e-mail and by ep_id, for the candidates' keys."""
    emails = sorted({k[1] for c in candidates for k in c.keys if k[0] == "email"})
    ep_ids = sorted({k[1] for c in candidates for k in c.keys if k[0] == "ep"})
    columns = ("id", *STORED)
    by_email: dict[str, dict[str, Any]] = {}
    by_ep: dict[str, dict[str, Any]] = {}
    stored = await Contact.all().count()
    if stored == 0:
        return by_email, by_ep
    if len(emails) + len(ep_ids) > stored // 2:  # most of the table: one full read is quicker
        wanted_emails, wanted_eps = set(emails), set(ep_ids)
        for row in await Contact.all().values(*columns):
            if row["email"] in wanted_emails:
                by_email[row["email"]] = row
            if row["ep_id"] in wanted_eps:
                by_ep[row["ep_id"]] = row
        return by_email, by_ep
    for i in range(0, len(emails), CHUNK):
        for row in await Contact.filter(email__in=emails[i : i + CHUNK]).values(*columns):
            by_email[row["email"]] = row
    for i in range(0, len(ep_ids), CHUNK):
        for row in await Contact.filter(ep_id__in=ep_ids[i : i + CHUNK]).values(*columns):
            by_ep[row["ep_id"]] = row
    return by_email, by_ep


async def _plan(
    candidates: list[Candidate], report: ImportReport, now: datetime, extra_tags: list[str]
) -> Plan:
    plan = Plan()
    salt, erased = await erased_hashes()
    suppressed = await suppressed_emails()
    by_email, by_ep = await _existing(candidates)
    for cand in candidates:
        values = cand.values
        email = values.get("email")
        if email and erased and hash_with(salt, email) in erased:
            report.rejected.append(
                Rejection(cand.place, "this address was erased and is on the do-not-contact list")
            )
            continue
        reason = str(values.get("suppressed") or "")
        if email and reason and email not in suppressed:
            plan.suppress.append((email, reason, str(values.get("suppressed_note") or "")))
            suppressed[email] = reason
        if _suppression_only(values):
            continue
        a = by_email.get(email) if email else None
        b = by_ep.get(values["ep_id"]) if values.get("ep_id") else None
        if a is not None and b is not None and a["id"] != b["id"]:
            report.rejected.append(
                Rejection(
                    cand.place,
                    f"the address is contact #{a['id']}'s but ep_id {values['ep_id']} "
                    f"is contact #{b['id']}'s",
                )
            )
            continue
        current = a or b
        new = _stored(values)
        if not new.get("language"):  # absent or empty: the stored one, else the country's
            new.pop("language", None)
        if extra_tags:
            if "tags" in values:
                base = list(values["tags"])
            else:
                base = load_list(current["tags"]) if current else []
            new["tags"] = list_text(base + [t for t in extra_tags if t not in base])
        source_file, source_date = _source(values, cand.file, now)
        if current is None:
            row: dict[str, Any] = {"kind": "other", **new}
            if not row.get("language"):
                row["language"] = default_language(str(row.get("country") or ""))
            row["source_file"], row["source_date"] = source_file, source_date
            plan.create.append((cand, row))
            continue
        if "language" not in new and not current.get("language"):
            new["language"] = default_language(str(new.get("country", current["country"])))
        changes = {k: v for k, v in new.items() if current.get(k) != v}
        if changes:
            changes["source_file"], changes["source_date"] = source_file, source_date
            plan.update.append((cand, int(current["id"]), changes))
        else:
            report.unchanged += 1
    return plan


async def import_files(
    paths: Sequence[str | Path],
    *,
    settings: Settings,
    format: str = "auto",
    tags: Sequence[str] = (),
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import contact files; see the module docstring for what is written when."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    report = ImportReport(files=[str(p) for p in paths], dry_run=dry_run, strict=strict)
    rows: list[RawRow] = []
    for path in paths:
        result = read_file(Path(path), format=format, today=now.date())
        rows.extend(result.rows)
        report.warnings.extend(result.warnings)
        if progress:
            progress("reading", len(rows), len(rows))
    candidates = _merge(rows, report, progress)
    plan = await _plan(candidates, report, now, fields.tags(list(tags)))
    report.created, report.updated = len(plan.create), len(plan.update)
    report.suppressions = len(plan.suppress)
    report.rejected.sort(key=lambda r: _place_key(r.place))
    nothing = not (plan.create or plan.update or plan.suppress)
    if dry_run or (strict and report.rejected) or (nothing and report.rejected):
        return report  # a file of only bad rows leaves no trace either
    summary = {
        "files": report.files,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
        "suppressions": report.suppressions,
    }
    await write(plan, summary=summary, actor=settings.actor, now=now, progress=progress)
    report.written = True
    return report


def _place_key(place: str) -> tuple[str, int]:
    file, _, line = place.rpartition(":")
    return (file, int(line)) if line.isdigit() else (place, 0)
