"""Every SMTP outcome ends in the state the rules give, with the reply kept (real aiosmtpd)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.campaigns.send import send_campaign
from outreach.config import Settings
from outreach.models import Campaign, Delivery
from outreach.sending.outcome import Phase, classify_lost, classify_reply, settle
from outreach.sending.pacing import Pace, utcnow
from tests.helpers_smtp import DROP, Fault, make_campaign, make_contacts, smtp_sink, tiny_renderer

FAST = Pace(rate_per_minute=0, per_domain_per_hour=0)


def relay_settings(settings: Settings, port: int, **smtp: object) -> Settings:
    values = {"url": f"smtp://127.0.0.1:{port}", "breaker_threshold": 0.0, "lease_seconds": 5,
              "concurrency": 2, "batch_size": 3, **smtp}
    return dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, **values))


@pytest.mark.parametrize(
    ("code", "state"),
    [(250, "sent"), (421, "deferred"), (451, "deferred"), (452, "deferred"), (550, "failed"),
     (552, "deferred"), (554, "failed"), (530, "failed")],
)
def test_classify_reply(code: int, state: str) -> None:
    outcome = classify_reply(code, " text ")
    assert outcome.state is not None
    assert outcome.state.value == state
    assert outcome.code == code
    assert outcome.text == "text"
    assert outcome.reconnect == (code == 421)


def test_classify_lost_depends_on_end_of_data() -> None:
    assert classify_lost(Phase.ENVELOPE, "reset").state.value == "deferred"  # type: ignore[union-attr]
    assert classify_lost(Phase.AFTER_DATA, "reset").state.value == "unknown"  # type: ignore[union-attr]
    assert classify_lost(Phase.CONNECT, "refused").state is None


def test_deferral_too_old_becomes_failure() -> None:
    now = utcnow()
    outcome = classify_reply(451, "try later")
    kept, retry = settle(outcome, now=now, attempts=1, first_attempt_at=now,
                         max_age=timedelta(hours=1))
    assert kept.state is not None
    assert kept.state.value == "deferred"
    assert retry is not None
    assert now < retry <= now + timedelta(minutes=2)
    old, none = settle(outcome, now=now, attempts=9, first_attempt_at=now - timedelta(hours=2),
                       max_age=timedelta(hours=1))
    assert old.state is not None
    assert old.state.value == "failed"
    assert none is None
    assert "gave up" in old.text
    assert old.code == 451


async def test_injected_faults_end_in_their_states(db: Settings) -> None:
    cases = {
        "ok@a.example": (None, "sent", 250),
        "r421@b.example": (Fault("data", 421, "closing"), "deferred", 421),
        "r451@c.example": (Fault("rcpt", 451, "greylisted"), "deferred", 451),
        "r452@d.example": (Fault("rcpt", 452, "too many"), "deferred", 452),
        "r550@e.example": (Fault("rcpt", 550, "no such user"), "failed", 550),
        "r552@f.example": (Fault("data", 552, "mailbox full"), "deferred", 552),
        "r554@g.example": (Fault("data", 554, "rejected as spam"), "failed", 554),
        "dropbefore@h.example": (Fault("rcpt", DROP), "deferred", None),
        "dropafter@i.example": (Fault("data", DROP), "unknown", None),
        "mailfail@j.example": (Fault("rcpt", 421, "shutting down"), "deferred", 421),
    }
    await make_contacts(list(cases))
    await make_campaign("faults")
    async with smtp_sink() as sink:
        for addr, (fault, _, _) in cases.items():
            if fault is not None:
                sink.fault(addr, fault)
        settings = relay_settings(db, sink.port)
        await plan_campaign("faults", settings=settings, pace=FAST, renderer=tiny_renderer)
        summary = await send_campaign("faults", settings=settings, once=True)
    rows = {d.recipient: d for d in await Delivery.all()}
    for addr, (_, state, code) in cases.items():
        row = rows[addr]
        assert row.state == state, (addr, row.state, row.smtp_text)
        assert row.smtp_code == code, addr
        assert row.smtp_text, addr
        assert row.attempts == 1, addr
    assert rows["r451@c.example"].smtp_text == "greylisted"
    assert "before the end of data" in rows["dropbefore@h.example"].smtp_text
    assert "after the end of data" in rows["dropafter@i.example"].smtp_text
    deferred = [r for r in rows.values() if r.state == "deferred"]
    assert all(r.next_attempt_at and r.next_attempt_at > r.updated_at - timedelta(seconds=1)
               for r in deferred)
    received = {m.rcpt_tos[0] for m in sink.messages}
    assert received == {"ok@a.example", "dropafter@i.example"}
    assert summary.counts["sent"] == 1
    assert summary.counts["unknown"] == 1
    campaign = await Campaign.get(name="faults")
    assert campaign.state == "sending"  # deferred letters remain: not done


async def test_deferred_letters_are_retried_and_then_sent(db: Settings) -> None:
    await make_contacts(["grey@a.example"])
    await make_campaign("retry")
    async with smtp_sink() as sink:
        sink.fault("grey@a.example", Fault("rcpt", 451, "greylisted", times=1))
        settings = relay_settings(db, sink.port)
        await plan_campaign("retry", settings=settings, pace=FAST, renderer=tiny_renderer)
        await send_campaign("retry", settings=settings, once=True)
        row = await Delivery.get(recipient="grey@a.example")
        assert row.state == "deferred"
        await Delivery.filter(id=row.id).update(next_attempt_at=utcnow() - timedelta(seconds=1))
        summary = await send_campaign("retry", settings=settings, once=True)
    row = await Delivery.get(recipient="grey@a.example")
    assert row.state == "sent"
    assert row.attempts == 2
    assert row.smtp_code == 250
    assert len(sink.messages) == 1
    assert summary.state == "done"


async def test_unreachable_relay_leaves_letters_planned_and_pauses(db: Settings) -> None:
    await make_contacts([f"t{n}@a.example" for n in range(5)])
    await make_campaign("down")
    async with smtp_sink() as sink:
        port = sink.port
    settings = relay_settings(db, port, breaker_threshold=0.5, breaker_window=4, concurrency=2)
    await plan_campaign("down", settings=settings, pace=FAST, renderer=tiny_renderer)
    summary = await send_campaign("down", settings=settings, once=True)
    states = set(await Delivery.all().values_list("state", flat=True))
    assert states == {"planned"}
    assert summary.state == "paused"
    assert "relay not reachable" in summary.paused_reason
    assert "outreach campaign resume down" in summary.paused_reason


async def test_error_rate_breaker_pauses_with_reason(db: Settings) -> None:
    addrs = [f"t{n}@a{n}.example" for n in range(12)]
    await make_contacts(addrs)
    await make_campaign("breaker")
    async with smtp_sink() as sink:
        for addr in addrs:
            sink.fault(addr, Fault("rcpt", 550, "policy rejection"))
        settings = relay_settings(db, sink.port, breaker_threshold=0.5, breaker_window=4,
                                  concurrency=1, batch_size=2)
        await plan_campaign("breaker", settings=settings, pace=FAST, renderer=tiny_renderer)
        summary = await send_campaign("breaker", settings=settings)
    assert summary.state == "paused"
    assert "circuit breaker" in summary.paused_reason
    assert "550" in summary.paused_reason
    counts = summary.counts
    assert counts["failed"] >= 2
    assert counts["planned"] >= 6
    assert counts["sending"] == 0


async def test_plus_addressing_and_dkim_at_send_time(db: Settings) -> None:
    import dkim

    from tests.test_sending_transport import FIXTURES

    (FIXTURES / "dkim-test.pem").read_bytes()
    await make_contacts(["a@x.example"])
    await make_campaign("plus")
    async with smtp_sink() as sink:
        settings = relay_settings(db, sink.port)
        settings = dataclasses.replace(
            settings,
            sender=dataclasses.replace(settings.sender, plus_addressing=True),
            dkim=dataclasses.replace(settings.dkim, key_file=str(FIXTURES / "dkim-test.pem"),
                                     selector="s2026", domain="example.org"),
        )
        await plan_campaign("plus", settings=settings, pace=FAST, renderer=tiny_renderer)
        await send_campaign("plus", settings=settings, once=True)
    row = await Delivery.get(recipient="a@x.example")
    (received,) = sink.messages
    assert received.mail_from == f"campaign+{row.token}@example.org"
    assert f"Reply-To: campaign+{row.token}@example.org".encode() in received.content
    assert received.content.startswith(b"DKIM-Signature:")
    public = (FIXTURES / "dkim-test.pub.b64").read_text().strip()
    assert dkim.verify(received.content,
                       dnsfunc=lambda name, timeout=5: f"v=DKIM1; p={public}".encode())
    assert b"\r\nDate: " in received.content
    assert row.message is not None
    assert b"Date:" not in row.message


async def test_limit_holds_across_connections(db: Settings) -> None:
    await make_contacts([f"t{n}@d{n}.example" for n in range(9)])
    await make_campaign("limit")
    async with smtp_sink() as sink:
        settings = relay_settings(db, sink.port, concurrency=3, batch_size=2)
        await plan_campaign("limit", settings=settings, pace=FAST, renderer=tiny_renderer)
        summary = await send_campaign("limit", settings=settings, limit=5)
    assert len(sink.messages) == 5
    assert summary.counts["sent"] == 5
    assert summary.counts["planned"] == 4


async def test_nothing_is_sent_once_the_lease_may_have_lapsed(db: Settings) -> None:
    import time

    from outreach.sending import ledger
    from outreach.sending.engine import Sender, SendPlan
    from outreach.sending.relay import RelayConfig, RelayUrl, Session

    await make_contacts(["a@x.example", "b@y.example"])
    campaign = await make_campaign("stall")
    await plan_campaign("stall", settings=db, pace=FAST, renderer=tiny_renderer)
    await Campaign.filter(id=campaign.id).update(state="sending")
    async with smtp_sink() as sink:
        relay = RelayConfig(RelayUrl("smtp", "127.0.0.1", sink.port))
        sender = Sender(SendPlan(campaign_id=campaign.id, campaign_name="stall", pace=FAST,
                                 relay=relay, envelope_from="c@example.org"))
        got = await ledger.claim(campaign_id=campaign.id, owner=sender.owner, batch=5,
                                 pace=FAST, lease=timedelta(seconds=5), now=utcnow())
        session = Session(relay)
        await session.connect()
        await sender._send_batch(session, got.rows, time.monotonic() - 1)  # a stalled process
        await session.quit()
    assert sink.messages == []
    assert (await ledger.counts(campaign.id))["planned"] == 2
    assert sender.report.tally.released == 2


async def test_an_idle_connection_is_renewed_before_use(db: Settings) -> None:
    import time

    from outreach.sending import ledger
    from outreach.sending.engine import Sender, SendPlan
    from outreach.sending.relay import RelayConfig, RelayUrl, Session

    await make_contacts(["a@x.example"])
    campaign = await make_campaign("idle")
    await plan_campaign("idle", settings=db, pace=FAST, renderer=tiny_renderer)
    await Campaign.filter(id=campaign.id).update(state="sending")
    async with smtp_sink() as sink:
        relay = RelayConfig(RelayUrl("smtp", "127.0.0.1", sink.port))
        sender = Sender(SendPlan(campaign_id=campaign.id, campaign_name="idle", pace=FAST,
                                 relay=relay, envelope_from="c@example.org"))
        got = await ledger.claim(campaign_id=campaign.id, owner=sender.owner, batch=5,
                                 pace=FAST, lease=timedelta(seconds=60), now=utcnow())
        session = Session(relay)
        await session.connect()
        session.last_used -= 3600  # an hour without a letter
        await sender._send_batch(session, got.rows, time.monotonic() + 30)
        await sender.recorder.flush()
        await session.quit()
    assert sink.connections == 2
    assert len(sink.messages) == 1
    assert (await ledger.counts(campaign.id))["sent"] == 1


async def test_once_does_not_wait_for_a_per_domain_slot_minutes_away(db: Settings) -> None:
    # three letters to one domain at 60 an hour: one now, the next a minute later
    await make_contacts(["a@one.example", "b@one.example", "c@one.example", "d@two.example"])
    await make_campaign("paced")
    async with smtp_sink() as sink:
        settings = relay_settings(db, sink.port)
        await plan_campaign("paced", settings=settings, renderer=tiny_renderer,
                            pace=Pace(rate_per_minute=0, per_domain_per_hour=60))
        summary = await asyncio.wait_for(
            send_campaign("paced", settings=settings, once=True), timeout=30)
    domains = sorted(m.rcpt_tos[0].split("@")[1] for m in sink.messages)
    assert domains == ["one.example", "two.example"]
    assert (summary.counts["sent"], summary.counts["planned"]) == (2, 2)
    assert summary.state == "sending"  # the rest goes with the next run
