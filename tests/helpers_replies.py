"""Building incoming mail for the replies tests: person replies, adapted notices, Maildirs,
and a campaign whose letters count as sent."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.models import Campaign, Delivery
from outreach.sending.pacing import Pace
from tests.helpers_smtp import make_campaign, make_contacts, tiny_renderer

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAST = Pace(rate_per_minute=0, per_domain_per_hour=0)


def person_reply(
    *, sender: str, subject: str, body: str, message_id: str, to: str = "campaign@example.org",
    in_reply_to: str | None = None, references: str | None = None,
    when: datetime = SENT_AT + timedelta(days=1), extra: str = "",
) -> bytes:
    """A plain reply written by a person, as bytes with CRLF line ends."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: {message_id}",
        *([f"In-Reply-To: {in_reply_to}"] if in_reply_to else []),
        *([f"References: {references}"] if references else []),
        *([extra] if extra else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def adapted(name: str, replacements: dict[str, str]) -> bytes:
    """A notice from tests/fixtures/replies with its placeholder addresses and ids replaced."""
    data = (FIXTURES / name).read_bytes()
    for old, new in replacements.items():
        data = data.replace(old.encode(), new.encode())
    return data


def write_maildir(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for raw in messages:
        box.add(raw)
    box.close()
    return path


async def sent_campaign(
    settings: Settings, emails: list[str], *, name: str = "c1", sent_at: datetime = SENT_AT
) -> tuple[Campaign, dict[str, Delivery]]:
    """A campaign planned for new contacts at ``emails``, every letter marked sent."""
    await make_contacts(emails)
    campaign = await make_campaign(name)
    await plan_campaign(name, settings=settings, pace=FAST, renderer=tiny_renderer)
    await Delivery.filter(campaign_id=campaign.id).update(state="sent", sent_at=sent_at)
    letters = {d.recipient: d for d in await Delivery.filter(campaign_id=campaign.id)}
    return campaign, letters
