"""A fault-injecting SMTP relay for tests (aiosmtpd on 127.0.0.1, in its own thread).

``with FaultRelay(seed=7, rates={...}) as relay`` listens on ``relay.port`` and
answers each SMTP transaction with a fault drawn at the configured rates, or
accepts it. The draw for a transaction depends only on the seed, the recipient
and how many transactions that recipient had before, so the same letter meets
the same faults whatever the order in which the sender's connections arrive.

Faults per transaction (``rates`` keys, see :data:`REPLIES`): refusals at RCPT
(``rcpt_421`` then closes, ``rcpt_451``, ``rcpt_452``, ``rcpt_550``,
``rcpt_552``) or after the end of data (``data_451``, ``data_552``,
``data_554``); ``slow`` (the 250 comes late); ``drop_at_data`` (the connection
closes on the DATA command: nothing was sent); ``drop_in_data`` (354, then the
connection closes before the end of data arrives: the message is lost, but the
client had written it all and cannot tell); ``drop_after_accept`` (the message
is kept, then the connection closes before the 250 goes out: the relay has it,
the client cannot know — this is how ``unknown`` arises).

Faults per connection (``tls_rates``): STARTTLS is always offered and required
(configure the client with ``smtp+starttls://``); ``tls_untrusted`` presents a
certificate the client does not trust, ``tls_abort`` closes the connection in
the middle of the handshake. The trusted certificate is
``tests/fixtures/sending/tls-cert.pem`` (``SSL_CERT_FILE`` for a client).

``relay.events`` is every transaction the relay saw, ``relay.tls_failures``
every TLS fault; :meth:`FaultRelay.heal` turns faults off, :meth:`go_down` /
:meth:`come_back` (or ``down_after=N`` accepted messages) stage an outage: the
listening socket closes and live sessions get ``421`` at their next command.
"""

from __future__ import annotations

import asyncio
import random
import re
import ssl
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP as SMTPServer

FIXTURES = Path(__file__).parent / "fixtures" / "sending"
TRUSTED_CERT = FIXTURES / "tls-cert.pem"

#: code and text of each refusal; where it happens is in the name
REPLIES: dict[str, tuple[int, str]] = {
    "rcpt_421": (421, "4.3.2 service shutting down, closing connection"),
    "rcpt_451": (451, "4.7.1 greylisted, please try again later"),
    "rcpt_452": (452, "4.3.1 insufficient system storage"),
    "rcpt_550": (550, "5.1.1 no such mailbox here"),
    "rcpt_552": (552, "5.2.2 mailbox full"),
    "data_451": (451, "4.3.0 local error in processing"),
    "data_552": (552, "5.2.2 mailbox over quota"),
    "data_554": (554, "5.7.1 message refused by content filter"),
}
MESSAGE_FAULTS = (*REPLIES, "slow", "drop_at_data", "drop_in_data", "drop_after_accept")
TLS_FAULTS = ("tls_untrusted", "tls_abort")
OUTAGE_REPLY = (421, "4.3.2 relay going down for maintenance")
_MESSAGE_ID = re.compile(rb"(?im)^Message-ID:[ \t]*(<[^>\r\n]+>)")


def _context(name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(FIXTURES / f"{name}-cert.pem", FIXTURES / f"{name}-key.pem")
    return ctx


def message_id(content: bytes) -> str:
    match = _MESSAGE_ID.search(content)
    return match.group(1).decode() if match else ""


@dataclass(frozen=True)
class Event:
    """One SMTP transaction as the relay saw it (a recipient was given)."""

    rcpt: str
    #: "ok" or the injected fault
    kind: str
    #: this recipient's n-th transaction (1-based)
    attempt: int
    #: the reply the relay sent at the end (None: the connection closed without one)
    code: int | None
    text: str
    #: the letter's Message-ID, when its data arrived
    message_id: str = ""
    #: the relay kept the message (it would deliver it)
    stored: bool = False


@dataclass
class FaultRelay:
    seed: int = 0
    #: probability of each fault in MESSAGE_FAULTS per transaction (the rest: accepted)
    rates: dict[str, float] = field(default_factory=dict)
    #: probability of each fault in TLS_FAULTS per connection
    tls_rates: dict[str, float] = field(default_factory=dict)
    #: seconds a `slow` reply takes (drawn uniformly)
    slow: tuple[float, float] = (0.05, 0.3)
    #: go down after this many messages were accepted (see go_down)
    down_after: int | None = None

    port: int = 0
    events: list[Event] = field(default_factory=list)
    tls_failures: list[tuple[int, str]] = field(default_factory=list)
    #: 421 replies given to live sessions while going down
    outage_replies: int = 0
    connections: int = 0
    down: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(MESSAGE_FAULTS) | set(self.tls_rates) - set(TLS_FAULTS)
        if unknown or sum(self.rates.values()) > 1 or sum(self.tls_rates.values()) > 1:
            raise ValueError(f"bad rates: {unknown or 'they add up to more than 1'}")
        self._tried: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self._sessions: weakref.WeakSet[_Session] = weakref.WeakSet()
        self._going_down: asyncio.Task[None] | None = None

    # --- what the relay saw ---------------------------------------------------------

    def stored(self) -> list[Event]:
        return [e for e in self.events if e.stored]

    def stored_ids(self) -> Counter[str]:
        return Counter(e.message_id for e in self.events if e.stored)

    def by_rcpt(self) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        for event in self.events:
            out.setdefault(event.rcpt, []).append(event)
        return out

    def injected(self) -> Counter[str]:
        """How often each fault was injected (TLS ones included)."""
        counts = Counter(e.kind for e in self.events if e.kind != "ok")
        counts.update(kind for _, kind in self.tls_failures)
        return counts

    # --- control (from the test's thread) ---------------------------------------------

    def heal(self) -> None:
        """No more faults from now on."""
        self.rates = {}
        self.tls_rates = {}

    def go_down(self) -> None:
        self._call(self._close_listener)

    def come_back(self) -> None:
        self._call(self._listen)

    def __enter__(self) -> FaultRelay:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fault-relay",
                                        daemon=True)
        self._thread.start()
        self._call(self._listen)
        return self

    def __exit__(self, *exc: object) -> None:
        loop, thread = self._loop, self._thread
        assert loop is not None
        assert thread is not None
        self._call(self._close_listener)
        self._call(self._cancel_rest)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    def _call(self, factory: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(factory(), self._loop).result(10)

    # --- in the relay's thread ----------------------------------------------------------

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_session, host="127.0.0.1",
                                                port=self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.down = False

    async def _close_listener(self) -> None:
        self.down = True
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _cancel_rest(self) -> None:
        """Close every connection still open, then end what is left of their sessions."""
        for session in list(self._sessions):
            for transport in (session.transport, session._original_transport):
                if isinstance(transport, asyncio.Transport) and not transport.is_closing():
                    transport.abort()
        await asyncio.sleep(0.05)  # let the aborted connections be lost
        me = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not me]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def _new_session(self) -> _Session:
        with self._lock:
            self.connections += 1
            number = self.connections
        rng = random.Random(f"{self.seed}:connection:{number}")
        tls = _draw(rng, self.tls_rates)
        session = _Session(self, number, tls)
        self._sessions.add(session)
        return session

    def _draw_message_fault(self, rcpt: str) -> tuple[str, int, random.Random]:
        with self._lock:
            self._tried[rcpt] += 1
            attempt = self._tried[rcpt]
        rng = random.Random(f"{self.seed}:{rcpt}:{attempt}")
        return _draw(rng, self.rates), attempt, rng

    def _record(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            accepted = sum(1 for e in self.events if e.stored)
        if self.down_after is not None and accepted >= self.down_after and not self.down:
            self.down_after = None
            self.down = True
            self._going_down = asyncio.get_running_loop().create_task(self._close_listener())


def _draw(rng: random.Random, rates: dict[str, float]) -> str:
    roll = rng.random()
    for kind, rate in sorted(rates.items()):
        if roll < rate:
            return kind
        roll -= rate
    return "ok"


class _Session(SMTPServer):
    """One connection to the relay: aiosmtpd's SMTP with the faults injected."""

    def __init__(self, relay: FaultRelay, number: int, tls: str) -> None:
        self.relay = relay
        self.number = number
        self.tls_fault = tls
        self.fault = "ok"
        self.attempt = 0
        self.rng = random.Random(0)
        context = _context("untrusted" if tls == "tls_untrusted" else "tls")
        super().__init__(_Handler(), hostname="relay.test", tls_context=context,
                         require_starttls=True, timeout=30)

    def _close_soon(self) -> None:
        transport = self.transport
        if transport is not None:
            # after the reply being written has gone out
            self.loop.call_soon(transport.close)

    async def _going_down(self) -> bool:
        if not self.relay.down:
            return False
        self.relay.outage_replies += 1
        await self.push(f"{OUTAGE_REPLY[0]} {OUTAGE_REPLY[1]}")
        self._close_soon()
        return True

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.tls_fault != "ok":
            self.relay.tls_failures.append((self.number, self.tls_fault))
        if self.tls_fault == "tls_abort":
            await self.push("220 Ready to start TLS")
            # the client's hello is answered by a fatal "handshake failure" alert, then gone
            if isinstance(self.transport, asyncio.Transport):
                self.transport.write(b"\x15\x03\x03\x00\x02\x02\x28")
            self._close_soon()
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_MAIL(self, arg: str) -> None:
        if await self._going_down():
            return
        await super().smtp_MAIL(arg)

    async def smtp_RSET(self, arg: str) -> None:
        if await self._going_down():
            return
        await super().smtp_RSET(arg)

    async def smtp_RCPT(self, arg: str) -> None:
        if await self._going_down():
            return
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if envelope is None or not envelope.rcpt_tos or self.fault not in (
            "drop_at_data", "drop_in_data"
        ):
            await super().smtp_DATA(arg)
            return
        rcpt = envelope.rcpt_tos[0]
        self.relay._record(Event(rcpt, self.fault, self.attempt, None, ""))
        if self.fault == "drop_in_data":
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the first header line, then gone
        await self.hang_up()

    async def hang_up(self) -> None:
        """Close the connection at once, reading nothing more (the rest of a message
        must not be taken for commands); aiosmtpd then cancels this session's task."""
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()
        await asyncio.sleep(5)


class _Handler:
    """aiosmtpd's hooks: decide the fault at RCPT, carry it out at RCPT or end of data."""

    async def handle_RCPT(self, server: _Session, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        relay = server.relay
        kind, attempt, rng = relay._draw_message_fault(address.lower())
        server.fault, server.attempt, server.rng = kind, attempt, rng
        if kind.startswith("rcpt_"):
            code, text = REPLIES[kind]
            relay._record(Event(address.lower(), kind, attempt, code, text))
            if code == 421:
                server._close_soon()
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: _Session, session: Any, envelope: Any) -> str:
        relay, kind = server.relay, server.fault
        rcpt = envelope.rcpt_tos[0].lower()
        content = bytes(envelope.original_content or b"")
        mid = message_id(content)
        if kind in REPLIES:  # a refusal after the end of data: not kept
            code, text = REPLIES[kind]
            relay._record(Event(rcpt, kind, server.attempt, code, text, mid))
            return f"{code} {text}"
        if kind == "slow":
            await asyncio.sleep(server.rng.uniform(*relay.slow))
        if kind == "drop_after_accept":
            relay._record(Event(rcpt, kind, server.attempt, None, "", mid, stored=True))
            if server.transport is not None:
                server.transport.close()
            return "250 never sent"
        relay._record(Event(rcpt, kind, server.attempt, 250, "2.0.0 queued", mid, stored=True))
        return "250 2.0.0 queued"
