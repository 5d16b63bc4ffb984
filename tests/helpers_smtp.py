"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 port 0, recording, with faults.

``async with smtp_sink() as sink`` runs the server in the test's own event loop;
``sink.port`` is where it listens, ``sink.messages`` what it accepted.
``sink.fault("x@y.org", Fault("rcpt", 550))`` makes the server answer 550 to
that recipient (``times`` limits how often); stages are ``mail``, ``rcpt``,
``data`` (the reply after the end of data) and the special codes ``DROP``
(close the connection without a reply at that stage).

Also a tiny renderer for campaign tests that need no letter templates, and
helpers to create contacts and campaigns quickly.
"""

from __future__ import annotations

import asyncio
import email
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP as SMTPServer

from outreach.campaigns.plan import RenderedLetter
from outreach.models import Campaign, Contact

DROP = -1


@dataclass
class Fault:
    stage: str  # mail | rcpt | data
    code: int  # an SMTP code, or DROP
    text: str = "injected"
    times: int = 1_000_000


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message_id(self) -> str:
        return str(email.message_from_bytes(self.content)["Message-ID"])


@dataclass
class Sink:
    messages: list[Received] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    port: int = 0
    delay: float = 0.0
    connections: int = 0

    def fault(self, recipient: str, fault: Fault) -> None:
        self.faults[recipient.lower()] = fault

    def _take(self, recipient: str, stage: str) -> Fault | None:
        fault = self.faults.get(recipient.lower())
        if fault is None or fault.stage != stage or fault.times <= 0:
            return None
        fault.times -= 1
        return fault

    def _answer(self, server: Any, fault: Fault | None, ok: str) -> str:
        if fault is None:
            return ok
        if fault.code == DROP:
            server.transport.close()
            return "421 dropped"
        return f"{fault.code} {fault.text}"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        fault = self._take(address, "rcpt")
        if fault is None:
            envelope.rcpt_tos.append(address)
        return self._answer(server, fault, "250 OK")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        rcpt = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        fault = self._take(rcpt, "data")
        if fault is None or fault.code == DROP:
            # a drop after the end of data: the message did arrive
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or b"")))
        return self._answer(server, fault, "250 2.0.0 OK queued")


@asynccontextmanager
async def serve_sink(sink: Sink, factory: Callable[[], SMTPServer], *,
                     tls: ssl.SSLContext | None = None) -> AsyncIterator[Sink]:
    """Serve ``factory``'s SMTP sessions on a free loopback port (``sink.port``)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=0, ssl=tls)
    sink.port = int(server.sockets[0].getsockname()[1])
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def smtp_sink(**kwargs: Any) -> AsyncIterator[Sink]:
    sink = Sink(**kwargs)

    def factory() -> SMTPServer:
        sink.connections += 1
        return SMTPServer(sink, hostname="sink.test")

    async with serve_sink(sink, factory):
        yield sink


def tiny_renderer(contact: Contact, campaign: Campaign, message_id: str,
                  reply_to: str | None) -> RenderedLetter:
    """A small, valid letter without templates (tests of the ledger)."""
    subject = f"Interpol reform ({campaign.name})"
    lines = [
        "From: Coalition <campaign@example.org>",
        f"To: {contact.email}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        *([f"Reply-To: {reply_to}"] if reply_to else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"Dear {contact.name or contact.email},",
        ".a line starting with a dot",
        "",
    ]
    return RenderedLetter(subject, "en", "\r\n".join(lines).encode())


async def make_contacts(emails: list[str], **extra: Any) -> list[Contact]:
    out = []
    for n, addr in enumerate(emails):
        fields = {"name": f"Target {n}", "kind": "mep", "country": "BE", **extra}
        out.append(await Contact.create(email=addr, **fields))
    return out


async def make_campaign(name: str = "c1", *, where: dict[str, list[str]] | None = None
                        ) -> Campaign:
    audience = {"where": where or {}, "exclude_campaigns": []}
    return await Campaign.create(name=name, template="mep", asks=json.dumps(["caucus"]),
                                 audience=json.dumps(audience))


# --- killing a sender at random moments (issue #4 here; #8 runs it bigger) -----------------


@dataclass
class KillRun:
    kills: int = 0
    killed_while_sending: int = 0
    returncodes: list[int] = field(default_factory=list)


async def send_with_kills(
    campaign: str, *, sink: Sink, env: dict[str, str], kills: int, seed: int,
    lease_seconds: float, max_delay: float = 0.4, timeout: float = 60.0,
    after_letters: tuple[int, int] | None = None, wait_for_lease: bool = True,
    on_kill: Callable[[int], Awaitable[None]] | None = None,
) -> KillRun:
    """Run `outreach campaign send CAMPAIGN --yes` in subprocesses, SIGKILL ``kills`` of them
    at seeded random moments after they start delivering, then one run to the end.

    ``env`` must point the subprocess at the test's database and at ``sink``. A run is
    killed ``uniform(0, max_delay)`` seconds after it delivered its first letter, or with
    ``after_letters=(lo, hi)`` its ``randint(lo, hi)``-th. ``on_kill(pid)`` is awaited
    after each killed sender is gone. Unless ``wait_for_lease`` is False, the next run
    starts once the dead one's leases ran out (it then settles them at start; otherwise
    its heartbeat does, a moment later).
    """
    import os
    import random
    import signal
    import sys

    rng = random.Random(seed)
    run = KillRun()
    command = [sys.executable, "-m", "outreach", "campaign", "send", campaign, "--yes"]
    full_env = {**os.environ, **env}
    for attempt in range(kills + 1):
        before = len(sink.messages)
        proc = await asyncio.create_subprocess_exec(
            *command, env=full_env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        if attempt < kills:
            deadline = asyncio.get_running_loop().time() + timeout
            wanted = before + (rng.randint(*after_letters) if after_letters else 1)
            while len(sink.messages) < wanted and proc.returncode is None:
                if asyncio.get_running_loop().time() > deadline:
                    proc.kill()
                    raise AssertionError("the sender never delivered anything")
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0.0, max_delay))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                run.kills += 1
                run.killed_while_sending += 1
            await proc.wait()
            run.returncodes.append(proc.returncode or 0)
            if on_kill is not None:
                await on_kill(proc.pid)
            if wait_for_lease:
                # let the dead sender's leases run out, so the next one settles them at start
                await asyncio.sleep(lease_seconds + 0.3)
        else:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
            run.returncodes.append(proc.returncode or 0)
            if proc.returncode != 0:
                raise AssertionError(f"final sender failed: {err.decode(errors='replace')}")
    return run
