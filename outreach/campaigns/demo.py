"""`outreach demo`: the whole path in a scratch folder, through the capture server.

A fresh workspace (``outreach init``), the shipped sample targets imported,
two campaigns created and planned with the shipped letters (MEPs; governments,
ministries and permanent representations), sent through the embedded capture
server, and every captured letter copied out as an ``.eml`` file.
"""

from __future__ import annotations

import mailbox
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from outreach.campaigns.manage import CampaignRow, campaign_status, create_campaign
from outreach.campaigns.plan import plan_campaign
from outreach.campaigns.send import send_campaign
from outreach.config import load_settings
from outreach.db import open_db
from outreach.resources import shipped_contacts
from outreach.sending.pacing import Pace
from outreach.sending.relay import parse_relay_url
from outreach.setup import initialise

#: (campaign, letter, asks, audience)
CAMPAIGNS = (
    ("demo-meps", "mep", ["caucus", "risk-assessment", "funding", "appeals-body",
                          "compensation-fund", "transparency"], ["kind=mep"]),
    ("demo-governments", "government", ["caucus", "risk-assessment", "funding"],
     ["kind=government", "kind=ministry", "kind=permanent-representation"]),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


@dataclass
class DemoReport:
    folder: Path
    imported: int = 0
    campaigns: list[CampaignRow] = field(default_factory=list)
    maildir: Path | None = None
    eml_folder: Path | None = None
    letters: int = 0


def make_folder(folder: Path | None) -> Path:
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="outreach-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def run_demo(folder: Path) -> DemoReport:
    """Run the demo in ``folder`` (made by :func:`make_folder`)."""
    from outreach.contacts.store import import_files

    report = DemoReport(folder=folder)
    await initialise(folder, values={"campaigner": "demo"})
    settings = load_settings(folder / "outreach.toml")
    samples = sorted(shipped_contacts().glob("sample-*.csv"))
    fast = Pace(rate_per_minute=0, per_domain_per_hour=0)
    async with open_db(settings.database_url):
        imported = await import_files(samples, settings=settings)
        report.imported = imported.created + imported.updated
        for name, letter, asks, where in CAMPAIGNS:
            if not await _exists(name):
                await create_campaign(name, settings=settings, template=letter, asks=asks,
                                      where=where)
            await plan_campaign(name, settings=settings, pace=fast)
            await send_campaign(name, settings=settings)
            report.campaigns.append(await campaign_status(name))
    url = parse_relay_url(settings.smtp.url)
    if url.scheme == "capture":
        report.maildir = settings.resolve(url.path)
        report.eml_folder = folder / "letters"
        report.letters = _export_eml(report.maildir, report.eml_folder)
    return report


async def _exists(name: str) -> bool:
    from outreach.models import Campaign

    return await Campaign.exists(name=name)


def _export_eml(maildir: Path, out: Path) -> int:
    """Copy every captured message out of the Maildir as ``NNN-recipient.eml``."""
    out.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(maildir, create=False)
    count = 0
    for n, key in enumerate(sorted(box.keys()), start=1):
        data = box.get_bytes(key)
        rcpt = ""
        for line in data.split(b"\r\n", 3)[:3]:
            if line.lower().startswith(b"delivered-to:"):
                rcpt = line.split(b":", 1)[1].strip().decode("ascii", "replace")
        (out / f"{n:03d}-{_UNSAFE.sub('_', rcpt) or key}.eml").write_bytes(data)
        count += 1
    return count
