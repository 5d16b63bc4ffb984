"""`campaign send`: run a sender for a campaign, a proof, or resend the unknowns."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiosmtplib

from outreach import audit, ids
from outreach.campaigns.manage import get_campaign, set_state, settle_campaign
from outreach.campaigns.plan import Renderer, library_renderer, reply_to_for, sender_domain
from outreach.config import Settings, secret
from outreach.contacts.fields import email as checked_email
from outreach.db import get_setting
from outreach.errors import InputError, NotFoundError, StateError
from outreach.letters import with_date
from outreach.models import Campaign, CampaignState, Contact
from outreach.net import configured_tls_context
from outreach.sending import ledger
from outreach.sending.capture import capture_server
from outreach.sending.dkim import signer_for
from outreach.sending.engine import Progress, Sender, SendPlan, Tally, Waiting
from outreach.sending.outcome import Outcome
from outreach.sending.pacing import Clock, Pace, utcnow
from outreach.sending.refused import suppress_refused
from outreach.sending.relay import (
    RelayConfig,
    RelayUrl,
    Session,
    open_session,
    parse_relay_url,
)


@asynccontextmanager
async def open_relay(
    settings: Settings, *, password: str | None = None, insecure: bool | None = None
) -> AsyncIterator[RelayConfig]:
    """The relay to talk to; for ``capture://DIR`` an embedded server, for as long as needed."""
    url = parse_relay_url(settings.smtp.url)
    unsafe = settings.smtp.insecure if insecure is None else insecure
    if url.scheme == "capture":
        async with capture_server(settings.resolve(url.path)) as (host, port):
            yield RelayConfig(RelayUrl("smtp", host, port), timeout=settings.smtp.timeout)
        return
    context = configured_tls_context(settings, "smtp")
    config = RelayConfig(url, password=password if password is not None else secret("smtp"),
                         insecure=unsafe, timeout=settings.smtp.timeout, tls_context=context)
    config.check()
    yield config


async def _check_login(
    settings: Settings, *, password: str | None, insecure: bool | None
) -> None:
    """Connect and log in once before anything is written, so a refused login or TLS
    policy changes nothing. An unreachable relay is left to the sender, which pauses
    the campaign with the reason."""
    if parse_relay_url(settings.smtp.url).scheme == "capture":
        return
    async with open_relay(settings, password=password, insecure=insecure) as relay:
        session = Session(relay)
        try:
            await session.connect()  # TransportError: login, TLS policy
        except (OSError, aiosmtplib.SMTPException):
            return
        await session.quit()


@dataclass
class SendSummary:
    campaign: str
    tally: Tally
    counts: dict[str, int]
    state: str
    paused_reason: str = ""
    reaped: int = 0
    capture_dir: str = ""
    #: wall-clock seconds of the sending itself (connections open to last result)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "state": self.state, "counts": self.counts,
                "this_run": vars(self.tally), "paused_reason": self.paused_reason,
                "reaped": self.reaped, "seconds": round(self.seconds, 3)}


async def send_campaign(
    name: str, *, settings: Settings, limit: int | None = None, concurrency: int | None = None,
    once: bool = False, progress: Progress | None = None, clock: Clock = utcnow,
    password: str | None = None, insecure: bool | None = None, owner: str | None = None,
    shutdown: asyncio.Event | None = None, waiting: Waiting | None = None,
) -> SendSummary:
    """Send what is due (and, unless ``once``, wait for the rest); see :mod:`engine`.

    Setting ``shutdown`` (SIGTERM) stops the sender gracefully: nothing is left ``sending``.
    ``progress`` is told the tally after each batch, ``waiting`` each moment the sender
    waits for (pacing, letters not yet due).
    """
    campaign = await get_campaign(name)
    _check_sendable(campaign)
    await _check_login(settings, password=password, insecure=insecure)
    if campaign.state != CampaignState.SENDING.value:
        await set_state(campaign, CampaignState.SENDING)
        await audit.record(settings.actor, "campaign.send", campaign=campaign)
    smtp = settings.smtp
    pace = Pace.from_json(json.loads(campaign.pacing or "{}"))
    async with open_relay(settings, password=password, insecure=insecure) as relay:
        plan = SendPlan(
            campaign_id=campaign.id, campaign_name=campaign.name, pace=pace, relay=relay,
            envelope_from=campaign.from_address or settings.sender.address,
            plus_addressing=settings.sender.plus_addressing,
            concurrency=concurrency or smtp.concurrency, batch=smtp.batch_size,
            lease=timedelta(seconds=smtp.lease_seconds),
            max_age=timedelta(hours=smtp.max_retry_hours),
            retry_base=timedelta(seconds=smtp.retry_seconds),
            breaker_threshold=smtp.breaker_threshold, breaker_window=smtp.breaker_window,
            limit=limit, once=once, signer=signer_for(settings),
        )
        started = time.perf_counter()
        report = await Sender(plan, clock=clock, progress=progress, owner=owner,
                              shutdown=shutdown, waiting=waiting).run()
        seconds = time.perf_counter() - started
    await suppress_refused(campaign.id, actor=settings.actor)
    if report.paused_reason:
        reason = (f"{report.paused_reason}. Letters not yet attempted stay planned; check the "
                  f"relay, then run `outreach campaign resume {name}` and send again")
        await campaign.refresh_from_db()
        await set_state(campaign, CampaignState.PAUSED, reason=reason)
        await audit.record(settings.actor, "campaign.pause", campaign=campaign, reason=reason)
    else:
        await settle_campaign(campaign)
    await campaign.refresh_from_db()
    url = parse_relay_url(settings.smtp.url)
    return SendSummary(
        campaign=name, tally=report.tally, counts=await ledger.counts(campaign.id),
        state=campaign.state, paused_reason=campaign.pause_reason, reaped=report.reaped,
        capture_dir=str(settings.resolve(url.path)) if url.scheme == "capture" else "",
        seconds=seconds,
    )


def _check_sendable(campaign: Campaign) -> None:
    state = campaign.state
    if state == CampaignState.DRAFT.value:
        raise StateError(f"campaign {campaign.name!r} is not planned yet; run "
                         f"`outreach campaign plan {campaign.name}`", place="campaign")
    if state == CampaignState.PAUSED.value:
        raise StateError(f"campaign {campaign.name!r} is paused ({campaign.pause_reason}); run "
                         f"`outreach campaign resume {campaign.name}`", place="campaign")
    if state in (CampaignState.CANCELLED.value,):
        raise StateError(f"campaign {campaign.name!r} is cancelled", place="campaign")


async def resend_unknown(name: str, *, settings: Settings, clock: Clock = utcnow) -> int:
    """The campaigner decided: letters of unknown fate are planned again, due now."""
    campaign = await get_campaign(name)
    count = await ledger.resend_unknown(campaign_id=campaign.id, now=clock())
    if count and campaign.state == CampaignState.DONE.value:
        await set_state(campaign, CampaignState.SENDING)
    await audit.record(settings.actor, "campaign.resend_unknown", campaign=campaign, count=count)
    return count


async def find_contact(ref: str) -> Contact:
    """A contact by e-mail, ``ep:ID`` or numeric id."""
    if ref.startswith("ep:"):
        contact = await Contact.get_or_none(ep_id=ref[3:])
    elif ref.isdigit():
        contact = await Contact.get_or_none(id=int(ref))
    else:
        contact = await Contact.get_or_none(email=ref.strip().lower()) or \
            await Contact.get_or_none(email=ref.strip())
    if contact is None:
        raise NotFoundError(f"no contact {ref!r}", place="--as")
    return contact


@dataclass
class ProofResult:
    address: str
    target: str
    subject: str
    outcome: Outcome


async def send_proof(
    name: str, *, settings: Settings, address: str, as_contact: str | None = None,
    renderer: Renderer | None = None, password: str | None = None,
    insecure: bool | None = None, clock: Clock = utcnow,
) -> ProofResult:
    """One letter, rendered for a chosen target, to the campaigner's own address.

    It goes through the real relay, is marked ``[PROOF]`` in its subject and
    ``X-Outreach-Proof: yes``, and is never written to the ledger.
    """
    try:  # the address goes into the To header: one valid address, nothing else
        address = checked_email(address)
    except ValueError as exc:
        raise InputError(str(exc), place="--proof") from None
    campaign = await get_campaign(name)
    if as_contact:
        contact = await find_contact(as_contact)
    else:
        first = await Contact.filter(email__not_isnull=True).order_by("id").first()
        if first is None:
            raise NotFoundError("no contact to render a proof for", place="--as")
        contact = first
    key = await get_setting(ids.MESSAGE_ID_KEY)
    domain = sender_domain(campaign, settings)
    mid = ids.message_id(key, 0, contact.id, domain)
    render = renderer or library_renderer(settings)
    letter = render(contact, campaign, mid,
                    reply_to_for(campaign, settings, ids.token(key, 0, contact.id)))
    message = _as_proof(letter.message, address)
    message = with_date(message, clock())
    signer = signer_for(settings)
    if signer is not None:
        message = signer.sign(message)
    async with open_relay(settings, password=password, insecure=insecure) as relay:
        session = await open_session(relay)
        try:
            outcome = await session.send(
                sender=campaign.from_address or settings.sender.address, recipient=address,
                message=message)
        finally:
            await session.quit()
    await audit.record(settings.actor, "campaign.proof", campaign=campaign, contact=contact,
                       address=address, code=outcome.code, text=outcome.text)
    return ProofResult(address, contact.label(), "[PROOF] " + letter.subject, outcome)


def _as_proof(message: bytes, address: str) -> bytes:
    """Mark the subject, add ``X-Outreach-Proof`` and address it to the campaigner."""
    head, sep, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [b"X-Outreach-Proof: yes"]
    skip = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        lower = line.lower()
        skip = lower.startswith(b"to:")
        if skip:
            out.append(b"To: " + address.encode())
        elif lower.startswith(b"subject:"):
            out.append(b"Subject: [PROOF]" + line[len(b"subject:"):])
        else:
            out.append(line)
    return b"\r\n".join(out) + sep + body
