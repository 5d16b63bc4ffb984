"""The relay URL and one SMTP session with it (aiosmtplib).

``smtp://host:port`` (STARTTLS when offered), ``smtp+starttls://`` (required),
``smtps://`` (implicit TLS), an optional user (``smtps://user@host:465``) whose
password comes from ``OUTREACH_SMTP_PASSWORD``; ``capture://DIR`` selects the
capture transport (:mod:`outreach.sending.capture`). Off loopback, plain SMTP
is refused unless ``insecure``.

:class:`Session` sends one letter at a time and reports an
:class:`~outreach.sending.outcome.Outcome`; it knows whether the end of data
had been written when a connection broke, which decides ``deferred`` versus
``unknown``.
"""

from __future__ import annotations

import re
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from outreach.errors import ConfigError, TransportError
from outreach.net import is_loopback
from outreach.sending.outcome import Outcome, Phase, classify_lost, classify_reply

_LEADING_DOT = re.compile(rb"(?m)^\.")
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class RelayUrl:
    scheme: str  # smtp | smtp+starttls | smtps | capture
    host: str = ""
    port: int = 0
    user: str = ""
    path: str = ""

    @property
    def place(self) -> str:
        return f"{self.host}:{self.port}" if self.scheme != "capture" else f"capture://{self.path}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def parse_relay_url(url: str, *, place: str = "[smtp] url") -> RelayUrl:
    text = url.strip()
    if text.startswith("capture://"):
        path = text[len("capture://") :]
        if not path:
            raise ConfigError("capture:// needs a folder, e.g. capture://outbox", place=place)
        return RelayUrl("capture", path=path)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(
            f"unknown relay scheme {parts.scheme!r}: use smtp://, smtp+starttls://, smtps:// "
            "or capture://", place=place,
        )
    if not parts.hostname:
        raise ConfigError(f"no host in {url!r}", place=place)
    if parts.password:
        raise ConfigError(
            "no password in the URL: set OUTREACH_SMTP_PASSWORD instead", place=place
        )
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"bad port in {url!r}", place=place) from None
    return RelayUrl(scheme, parts.hostname, port, unquote(parts.username or ""))


@dataclass(frozen=True)
class RelayConfig:
    url: RelayUrl
    password: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None

    def check(self) -> None:
        """A user needs a password (plain SMTP off loopback is refused on connect)."""
        if self.url.user and self.password is None:
            raise ConfigError(
                f"user {self.url.user!r} needs a password: set OUTREACH_SMTP_PASSWORD",
                place=self.url.place,
            )


class Session:
    """One persistent SMTP connection; reconnects when told to."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.smtp: aiosmtplib.SMTP | None = None
        self.last_used = time.monotonic()

    @property
    def idle_seconds(self) -> float:
        return time.monotonic() - self.last_used

    async def connect(self) -> None:
        """Open, secure and authenticate; :class:`TransportError` for what retrying won't fix.

        An unreachable relay raises ``OSError``/``SMTPConnectError`` (retryable).
        """
        url, cfg = self.config.url, self.config
        smtp = aiosmtplib.SMTP(
            hostname=url.host, port=url.port, timeout=cfg.timeout,
            use_tls=url.scheme == "smtps", start_tls=False, tls_context=cfg.tls_context,
        )
        await smtp.connect()
        try:
            if smtp.last_ehlo_response is None:
                await smtp.ehlo()
            if url.scheme != "smtps":
                if smtp.supports_extension("starttls"):
                    await smtp.starttls(tls_context=cfg.tls_context)
                    # RFC 3207: the server forgets the session; greet it again, or MAIL
                    # gets "503 send EHLO first" (aiosmtplib only re-greets before AUTH)
                    await smtp.ehlo()
                elif url.scheme == "smtp+starttls":
                    raise TransportError("the relay does not offer STARTTLS", place=url.place)
                elif not url.loopback and not cfg.insecure:
                    raise TransportError(
                        "the relay offers no TLS; refusing to send in clear text "
                        "(set [smtp] insecure = true to allow it)", place=url.place,
                    )
            if url.user:
                try:
                    await smtp.login(url.user, cfg.password or "")
                except aiosmtplib.SMTPAuthenticationError as exc:
                    raise TransportError(
                        f"authentication failed: {exc.code} {exc.message}", place=url.place
                    ) from None
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        self.last_used = time.monotonic()

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    async def quit(self) -> None:
        if self.smtp is not None:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                pass
            self.close()

    async def send(self, *, sender: str, recipient: str, message: bytes) -> Outcome:
        """One SMTP transaction; the outcome says what the ledger should record."""
        smtp = self.smtp
        if smtp is None or not smtp.is_connected:
            return classify_lost(Phase.CONNECT, "not connected")
        phase = Phase.ENVELOPE
        self.last_used = time.monotonic()
        try:
            reply = await smtp.execute_command(b"MAIL", b"FROM:<" + sender.encode() + b">")
            if reply.code != 250:
                return await self._refused(reply.code, reply.message)
            reply = await smtp.execute_command(b"RCPT", b"TO:<" + recipient.encode() + b">")
            if reply.code not in (250, 251):
                return await self._refused(reply.code, reply.message)
            reply = await smtp.execute_command(b"DATA")
            if reply.code != 354:
                return await self._refused(reply.code, reply.message)
            protocol = smtp.protocol
            if protocol is None:
                return classify_lost(phase, "connection lost")
            body = _LEADING_DOT.sub(b"..", message)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            phase = Phase.AFTER_DATA
            protocol._response_pending = True
            protocol.write(body + b".\r\n")
            reply = await protocol.read_response(timeout=self.config.timeout)
            outcome = classify_reply(reply.code, reply.message)
            if outcome.reconnect:
                self.close()
            return outcome
        except (TimeoutError, OSError, aiosmtplib.SMTPServerDisconnected,
                aiosmtplib.SMTPTimeoutError) as exc:
            self.close()
            return classify_lost(phase, str(exc) or type(exc).__name__)
        except aiosmtplib.SMTPResponseException as exc:
            self.close()
            return classify_reply(exc.code, exc.message)

    async def _refused(self, code: int, text: str) -> Outcome:
        outcome = classify_reply(code, text)
        if outcome.reconnect:
            self.close()
            return outcome
        smtp = self.smtp
        if smtp is not None:
            try:
                await smtp.execute_command(b"RSET")
            except (aiosmtplib.SMTPException, OSError):
                self.close()
        return outcome


async def open_session(config: RelayConfig) -> Session:
    """A connected, authenticated session for one-off use (a proof, a check before sending).

    Unlike :meth:`Session.connect`, an unreachable relay is a :class:`TransportError` here.
    """
    session = Session(config)
    try:
        await session.connect()
    except (OSError, aiosmtplib.SMTPException) as exc:
        raise TransportError(f"cannot connect: {exc}", place=config.url.place) from None
    return session
