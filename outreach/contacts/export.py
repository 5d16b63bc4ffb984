"""``contacts export``: every contact and every opt-out, in a file an import reads back.

The file has the canonical columns, then ``suppressed`` (the reason an address
is on the do-not-contact list: ``opt-out``, a bounce …; empty otherwise),
``suppressed_note``, and the provenance ``source_file`` / ``source_date``
(where the data first came from; an import of the export keeps them). An
address on the list that belongs to no contact is a row with only ``email``,
``suppressed`` and ``suppressed_note``. Erased people are not exported (only a
hash of their address is kept).

Rows are sorted by e-mail address, then by EP id, and the same database always
gives the same bytes, so export → empty database → import → export gives an
identical file. CSV is UTF-8 without BOM, comma-separated, ``\\n`` line ends;
JSON is an indented array of objects.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from outreach.contacts import fields, record
from outreach.errors import InputError
from outreach.models import Contact, Suppression, load_list
from outreach.spreadsheet import guard

EXPORT_COLUMNS: tuple[str, ...] = (*fields.COLUMNS, *record.EXTRA_COLUMNS)
EXPORT_FORMATS = ("csv", "json")


def export_format(path: Path, format: str | None) -> str:
    if format:
        if format not in EXPORT_FORMATS:
            raise InputError(f"unknown format {format!r} (csv or json)", place="--format")
        return format
    suffix = path.suffix.lower().lstrip(".")
    if suffix in EXPORT_FORMATS:
        return suffix
    raise InputError(
        "cannot tell the format from the file name; add --format csv or --format json",
        place=str(path),
    )


async def export_rows() -> list[dict[str, Any]]:
    """Every contact and every address-keeping suppression, as export rows, sorted."""
    suppressions = {
        str(s["email"]): s
        for s in await Suppression.filter(email__isnull=False).values("email", "reason", "note")
    }
    rows: list[dict[str, Any]] = []
    for c in await Contact.all().values(*fields.COLUMNS, "source_file", "source_date"):
        row: dict[str, Any] = {}
        for column in fields.COLUMNS:
            value = c[column]
            row[column] = load_list(value) if column in fields.LIST_COLUMNS else value or ""
        found = suppressions.pop(c["email"], None) if c["email"] else None
        row["suppressed"] = found["reason"] if found else ""
        row["suppressed_note"] = found["note"] if found else ""
        row["source_file"] = c["source_file"] or ""
        when = c["source_date"]
        row["source_date"] = when.astimezone(UTC).isoformat(timespec="seconds") if when else ""
        rows.append(row)
    for email, s in suppressions.items():
        row = {column: "" for column in EXPORT_COLUMNS}
        row.update(committees=[], tags=[], email=email, suppressed=s["reason"])
        row["suppressed_note"] = s["note"]
        rows.append(row)
    rows.sort(key=lambda r: (not r["email"], r["email"], r["ep_id"]))
    return rows


def render(rows: list[dict[str, Any]], format: str) -> str:
    if format == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([
            guard(";".join(row[c]) if c in fields.LIST_COLUMNS else row[c])
            for c in EXPORT_COLUMNS
        ])
    return out.getvalue()


async def export_contacts(path: Path, *, format: str | None = None) -> int:
    """Write the export file (atomically: a crash leaves no half file); the rows written."""
    kind = export_format(path, format)
    rows = await export_rows()
    data = render(rows, kind).encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("folder does not exist", place=str(folder))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), place=str(path)) from None
    return len(rows)
