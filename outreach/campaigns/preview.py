"""`campaign preview`: each planned letter as an ``.eml`` file, and the schedule as CSV."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from outreach.campaigns.manage import get_campaign
from outreach.errors import InputError, StateError
from outreach.letters import with_date
from outreach.models import Delivery
from outreach.sending.sql import as_dt

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
CHUNK = 500


@dataclass
class PreviewReport:
    folder: Path
    letters: int
    schedule: Path


async def preview_campaign(name: str, *, out: Path) -> PreviewReport:
    """Write ``NNNNN-recipient.eml`` files (Date = the scheduled time) and ``schedule.csv``."""
    campaign = await get_campaign(name)
    ids = cast(list[int], await Delivery.filter(campaign_id=campaign.id)
               .order_by("scheduled_at", "id").values_list("id", flat=True))
    if not ids:
        raise StateError(f"campaign {name!r} has no letters yet; run "
                         f"`outreach campaign plan {name}`", place="campaign")
    _make_folder(out)
    schedule = out / "schedule.csv"
    written = 0
    with schedule.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["n", "scheduled_at", "recipient", "domain", "language", "state",
                         "subject", "message_id", "file"])
        for start in range(0, len(ids), CHUNK):
            rows = {r.id: r for r in await Delivery.filter(id__in=list(ids[start:start + CHUNK]))}
            for n, ident in enumerate(ids[start:start + CHUNK], start=start + 1):
                row = rows[ident]
                when = as_dt(row.scheduled_at)
                filename = ""
                if row.message:
                    filename = f"{n:05d}-{_UNSAFE.sub('_', row.recipient)}.eml"
                    data = with_date(bytes(row.message), when) if when else bytes(row.message)
                    _write(out / filename, data)
                    written += 1
                writer.writerow([n, when.isoformat() if when else "", row.recipient, row.domain,
                                 row.language, row.state, row.subject, row.message_id, filename])
    return PreviewReport(out, written, schedule)


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", place=str(out)) from None


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
