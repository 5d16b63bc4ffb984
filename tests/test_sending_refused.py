"""A recipient refused as a bad mailbox is suppressed like a hard bounce; other refusals not."""

from __future__ import annotations

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.campaigns.send import send_campaign
from outreach.config import Settings
from outreach.models import Campaign, Delivery, Event, Suppression
from outreach.sending.refused import is_bad_mailbox
from tests.helpers_smtp import Fault, make_campaign, make_contacts, smtp_sink, tiny_renderer
from tests.test_sending_outcomes import FAST, relay_settings


@pytest.mark.parametrize(("code", "text", "bad"), [
    (550, "5.1.1 <a@x.example>: Recipient address rejected: User unknown", True),
    (550, "5.1.2 Host or domain name not found", True),
    (553, "5.1.3 Bad recipient address syntax", True),
    (550, "5.1.10 Recipient address has null MX", True),
    (550, "5.7.1 Message rejected as spam", False),
    (554, "5.7.1 Relay access denied", False),
    (550, "no such user", False),  # no enhanced status: nothing certain about the address
    (450, "4.1.1 Recipient temporarily unavailable", False),
    (550, "5.1.11 something else", False),
    (None, "5.1.1 no code", False),
])
def test_only_a_permanent_bad_mailbox_status_counts(code: int | None, text: str,
                                                     bad: bool) -> None:
    assert is_bad_mailbox(code, text) is bad


async def test_unknown_user_is_suppressed_and_its_other_letters_skipped(db: Settings) -> None:
    addresses = ["ok@a.example", "gone@b.example", "spam@c.example"]
    await make_contacts(addresses)
    await make_campaign("first")
    await make_campaign("second")
    async with smtp_sink() as sink:
        sink.fault("gone@b.example", Fault("rcpt", 550, "5.1.1 <gone@b.example>: user unknown"))
        sink.fault("spam@c.example", Fault("data", 550, "5.7.1 rejected by policy"))
        settings = relay_settings(db, sink.port)
        for name in ("first", "second"):
            await plan_campaign(name, settings=settings, pace=FAST, renderer=tiny_renderer)
        await send_campaign("first", settings=settings, once=True)
        assert [m.rcpt_tos for m in sink.messages] == [["ok@a.example"]]
    suppressed = {s.email: s for s in await Suppression.all()}
    assert set(suppressed) == {"gone@b.example"}
    assert suppressed["gone@b.example"].reason == "hard-bounce"
    assert "5.1.1" in suppressed["gone@b.example"].note
    second = await Campaign.get(name="second")
    states = {d.recipient: d.state for d in await Delivery.filter(campaign_id=second.id)}
    # the second campaign will not write to the address that does not exist
    assert states == {"ok@a.example": "planned", "gone@b.example": "skipped",
                      "spam@c.example": "planned"}


async def test_suppressing_again_is_a_no_op(db: Settings) -> None:
    await make_contacts(["gone@b.example"])
    await make_campaign("first")
    async with smtp_sink() as sink:
        sink.fault("gone@b.example", Fault("rcpt", 550, "5.1.1 user unknown"))
        settings = relay_settings(db, sink.port)
        await plan_campaign("first", settings=settings, pace=FAST, renderer=tiny_renderer)
        await send_campaign("first", settings=settings, once=True)
        await send_campaign("first", settings=settings, once=True)
    assert await Suppression.filter(email="gone@b.example").count() == 1
    assert await Event.filter(action="replies.suppress").count() == 1
