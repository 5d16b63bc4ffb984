"""Campaigns against a relay that misbehaves (tests/helpers_faults.py), through the CLI.

* Faults at seeded rates: `campaign send`, then `campaign resume` + `send` until the
  campaign is done; every letter ends in a final state that matches what the relay saw,
  and the relay never got a Message-ID twice, except for the letters of unknown fate that
  the campaigner resent with `--resend-unknown` (and exactly those).
* An outage: the relay goes away mid-campaign; the circuit breaker pauses the campaign
  with the reason in `campaign status`; nothing is lost or failed; after it comes back,
  `campaign resume` + `send` sends the rest, each letter exactly once.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from outreach.campaigns.plan import plan_campaign
from outreach.config import Settings
from outreach.db import open_db
from outreach.models import Contact, Delivery
from outreach.sending.pacing import Pace
from outreach.sending.relay import RelayConfig, RelayUrl, Session
from tests.helpers_faults import OUTAGE_REPLY, TRUSTED_CERT, Event, FaultRelay
from tests.helpers_smtp import make_campaign, tiny_renderer

FAST = Pace(rate_per_minute=0, per_domain_per_hour=0)
#: a campaign that is not done after this many sends is stuck
MAX_ROUNDS = 40


@dataclass(frozen=True)
class Mix:
    seed: int
    letters: int
    rates: dict[str, float]
    tls_rates: dict[str, float]
    #: [smtp] settings beyond the common ones
    smtp: dict[str, str]


MIXES = {
    # every refusal, slow replies and TLS failures; no breaker; deferrals retried for an hour
    "refusals": Mix(
        seed=11, letters=150,
        rates={"rcpt_421": 0.03, "rcpt_451": 0.06, "rcpt_452": 0.03, "rcpt_550": 0.04,
               "rcpt_552": 0.03, "data_451": 0.04, "data_552": 0.03, "data_554": 0.03,
               "slow": 0.05},
        tls_rates={"tls_untrusted": 0.15, "tls_abort": 0.15},
        smtp={"BREAKER_THRESHOLD": "0", "MAX_RETRY_HOURS": "1"}),
    # dropped connections (before, during and after the data) with a breaker that trips
    "drops": Mix(
        seed=23, letters=150,
        rates={"drop_at_data": 0.08, "drop_in_data": 0.06, "drop_after_accept": 0.08,
               "rcpt_421": 0.04, "data_451": 0.04, "slow": 0.04},
        tls_rates={"tls_abort": 0.1},
        smtp={"BREAKER_THRESHOLD": "0.5", "BREAKER_WINDOW": "8", "MAX_RETRY_HOURS": "1"}),
    # everything at once; deferred letters are given up after about two seconds
    "storm": Mix(
        seed=5, letters=120,
        rates={"rcpt_421": 0.04, "rcpt_451": 0.08, "rcpt_550": 0.05, "data_552": 0.05,
               "data_554": 0.04, "drop_at_data": 0.05, "drop_in_data": 0.04,
               "drop_after_accept": 0.05, "slow": 0.05},
        tls_rates={"tls_untrusted": 0.1, "tls_abort": 0.1},
        smtp={"BREAKER_THRESHOLD": "0.6", "BREAKER_WINDOW": "20",
              "MAX_RETRY_HOURS": str(2 / 3600)}),
}

#: the relay's last word on a letter → the final state the ledger must show
SENT_KINDS = {"ok", "slow"}
UNKNOWN_KINDS = {"drop_in_data", "drop_after_accept"}


def relay_env(port: int, **smtp: str) -> dict[str, str]:
    values = {"URL": f"smtp+starttls://127.0.0.1:{port}", "CONCURRENCY": "4",
              "BATCH_SIZE": "5", "LEASE_SECONDS": "10", "TIMEOUT": "5",
              "RETRY_SECONDS": "0.1", **smtp}
    env = {f"OUTREACH_SMTP_{key}": value for key, value in values.items()}
    env["SSL_CERT_FILE"] = str(TRUSTED_CERT)  # the relay's certificate (not the faulty one)
    return env


def in_db(settings: Settings, body: Any) -> Any:
    async def run() -> Any:
        async with open_db(settings.database_url):
            return await body()

    return asyncio.run(run())


def prepare(settings: Settings, name: str, letters: int, domains: int = 7) -> None:
    async def body() -> None:
        await Contact.bulk_create([
            Contact(email=f"t{n}@d{n % domains}.example", name=f"Target {n}", kind="mep",
                    country="BE") for n in range(letters)])
        await make_campaign(name)
        await plan_campaign(name, settings=settings, pace=FAST, renderer=tiny_renderer)

    in_db(settings, body)


def deliveries(settings: Settings) -> dict[str, Delivery]:
    async def body() -> dict[str, Delivery]:
        return {d.recipient: d for d in await Delivery.all()}

    result: dict[str, Delivery] = in_db(settings, body)
    return result


def status(cli: Any, name: str) -> dict[str, Any]:
    result = cli("campaign", "status", name, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def send_until_done(cli: Any, name: str, env: dict[str, str]) -> int:
    """`campaign send` (and `resume` when the breaker paused it) until done; the rounds."""
    for rounds in range(1, MAX_ROUNDS + 1):
        state = status(cli, name)["state"]
        if state == "paused":
            assert cli("campaign", "resume", name).exit_code == 0
        result = cli("campaign", "send", name, "--yes", env=env)
        if result.exit_code != 0:
            # the breaker paused it, or the check before sending met a TLS fault
            assert result.exit_code == 1, result.output
            assert "paused" in result.output or "nothing was sent" in result.output, \
                result.output
        if status(cli, name)["state"] == "done":
            return rounds
    raise AssertionError(f"not done after {MAX_ROUNDS} sends: {status(cli, name)}")


def check_ledger_matches_relay(rows: dict[str, Delivery], relay: FaultRelay) -> None:
    """Every letter is final, and its state is what the relay's last word on it means."""
    seen = relay.by_rcpt()
    assert set(seen) <= set(rows), "the relay got mail for no letter of the campaign"
    for rcpt, row in rows.items():
        events: list[Event] = seen.get(rcpt, [])
        where = (rcpt, row.state, row.smtp_code, row.smtp_text, events)
        assert events, where
        # one attempt in the ledger for each transaction the relay saw, same letter each time
        assert row.attempts == len(events), where
        assert {e.message_id for e in events} <= {row.message_id, ""}, where
        # once the relay kept a letter, it never saw that letter again
        assert not any(e.stored for e in events[:-1]), where
        last = events[-1]
        if row.state == "sent":
            assert last.kind in SENT_KINDS, where
            assert last.stored, where
            assert row.smtp_code == 250, where
        elif row.state == "unknown":
            assert last.kind in UNKNOWN_KINDS, where
            assert "after the end of data" in row.smtp_text, where
        elif row.state == "failed":
            assert last.code is None or last.code >= 400, where
            assert row.smtp_code == last.code, where
            if last.code is not None and last.code >= 500 and last.code != 552:
                assert row.smtp_text == last.text, where  # the relay's refusal, kept
            else:  # a temporary refusal or a drop, retried until the letter was too old
                assert "gave up" in row.smtp_text, where
                if last.code is not None:
                    assert row.smtp_text.startswith(last.text), where
        else:
            raise AssertionError(f"not a final state: {where}")


@pytest.mark.parametrize("mix", list(MIXES))
def test_faulty_relay_every_letter_final_and_consistent(cli: Any, settings: Settings,
                                                        mix: str) -> None:
    m = MIXES[mix]
    prepare(settings, "faults", m.letters)
    with FaultRelay(seed=m.seed, rates=dict(m.rates), tls_rates=dict(m.tls_rates)) as relay:
        env = relay_env(relay.port, **m.smtp)
        send_until_done(cli, "faults", env)
        rows = deliveries(settings)
        check_ledger_matches_relay(rows, relay)
        # every configured fault really happened (else this mix tests less than it says)
        injected = relay.injected()
        assert set(m.rates) | set(m.tls_rates) <= set(injected), injected
        states = Counter(r.state for r in rows.values())
        assert states["sent"] > m.letters // 3, states
        stored = relay.stored_ids()
        assert max(stored.values()) == 1, "a Message-ID reached the relay twice"
        assert {r.message_id for r in rows.values() if r.state == "sent"} <= set(stored)

        # the campaigner resends the letters of unknown fate, to a relay that works again
        relay.heal()
        unknown = {r.message_id for r in rows.values() if r.state == "unknown"}
        kept_before = set(stored)
        seen_before = len(relay.events)
        result = cli("campaign", "send", "faults", "--yes", "--resend-unknown", env=env)
        assert result.exit_code == 0, result.output
        assert f"{len(unknown)} letters of unknown fate planned again" in result.output
        again = Counter(e.message_id for e in relay.events[seen_before:] if e.stored)
        assert again == Counter(unknown), "the resend sent other letters, or some twice"
        twice = {mid for mid, n in relay.stored_ids().items() if n > 1}
        assert twice == unknown & kept_before
        after = deliveries(settings)
        assert all(after[r].state == "sent" for r, row in rows.items() if row.state == "unknown")
        assert all(after[r].state == row.state for r, row in rows.items()
                   if row.state != "unknown")
    if "drop_after_accept" in m.rates:
        assert twice, "no relayed unknown letter was resent: the duplicate rule went untested"
    assert status(cli, "faults")["state"] == "done"


def test_relay_outage_pauses_then_resume_sends_the_rest(cli: Any, settings: Settings) -> None:
    letters = 120
    prepare(settings, "outage", letters)
    with FaultRelay(seed=3, down_after=40) as relay:
        env = relay_env(relay.port, BREAKER_THRESHOLD="0.5", BREAKER_WINDOW="8",
                        MAX_RETRY_HOURS="1")
        result = cli("campaign", "send", "outage", "--yes", env=env)
        assert result.exit_code == 1, result.output
        assert relay.down
        row = status(cli, "outage")
        assert row["state"] == "paused", row
        assert "circuit breaker" in row["pause_reason"], row
        # the last straw: a refused connection, or a live session told the relay is going down
        reason = row["pause_reason"]
        assert "relay not reachable" in reason or OUTAGE_REPLY[1] in reason, reason
        table = cli("campaign", "status", "outage")
        assert "paused: paused by the circuit breaker" in " ".join(table.stdout.split())
        counts = row["counts"]
        # nothing lost, nothing failed or unknown because of the outage
        assert counts["failed"] == counts["unknown"] == counts["sending"] == 0, counts
        assert counts["sent"] == len(relay.stored()), counts
        assert counts["planned"] + counts["deferred"] + counts["sent"] == letters, counts
        assert counts["sent"] < letters
        # sending again while paused (and the relay down) is refused and changes nothing
        refused = cli("campaign", "send", "outage", "--yes", env=env)
        assert refused.exit_code == 1, refused.output
        assert status(cli, "outage")["counts"] == counts

        relay.come_back()
        assert cli("campaign", "resume", "outage").exit_code == 0
        result = cli("campaign", "send", "outage", "--yes", env=env)
        assert result.exit_code == 0, result.output
    rows = deliveries(settings)
    assert Counter(r.state for r in rows.values()) == {"sent": letters}
    stored = relay.stored_ids()
    assert sorted(stored) == sorted(r.message_id for r in rows.values())
    assert set(stored.values()) == {1}, "a letter went out twice"
    assert status(cli, "outage")["state"] == "done"


async def test_starttls_without_login_greets_again_before_mail() -> None:
    """RFC 3207: after STARTTLS the relay forgets the EHLO; a sender that logs in greets
    again anyway, one that does not must do it itself (it used to get 503 at MAIL)."""
    context = ssl.create_default_context(cafile=str(TRUSTED_CERT))
    with FaultRelay() as relay:
        session = Session(RelayConfig(RelayUrl("smtp+starttls", "127.0.0.1", relay.port),
                                      tls_context=context, timeout=5))
        await session.connect()
        outcome = await session.send(
            sender="campaign@example.org", recipient="a@x.example",
            message=b"Message-ID: <tls@example.org>\r\nSubject: x\r\n\r\nDear Member,\r\n")
        await session.quit()
    assert outcome.state is not None
    assert (outcome.state.value, outcome.code) == ("sent", 250), outcome
    assert [e.message_id for e in relay.stored()] == ["<tls@example.org>"]
