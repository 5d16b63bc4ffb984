"""Relay URLs, TLS (STARTTLS and implicit), AUTH, DKIM, and the capture transport."""

from __future__ import annotations

import base64
import email
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, LoginPassword

from outreach.errors import ConfigError, TransportError
from outreach.sending.capture import capture_server
from outreach.sending.dkim import Signer
from outreach.sending.relay import RelayConfig, RelayUrl, Session, parse_relay_url
from tests.helpers_smtp import Sink, serve_sink

FIXTURES = Path(__file__).parent / "fixtures" / "sending"
LETTER = (b"From: Coalition <campaign@example.org>\r\nTo: a@x.example\r\n"
          b"Subject: Interpol reform\r\nMessage-ID: <m1@example.org>\r\nDate: "
          b"Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nDear Member,\r\n.dot line\r\n")


def server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(FIXTURES / "tls-cert.pem", FIXTURES / "tls-key.pem")
    return ctx


def client_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(FIXTURES / "tls-cert.pem"))


@asynccontextmanager
async def tls_sink(*, implicit: bool = False, users: dict[str, str] | None = None,
                   starttls: bool = True) -> AsyncIterator[Sink]:
    sink = Sink()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (users or {}).get(
            data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False)

    def factory() -> SMTPServer:
        return SMTPServer(
            sink, hostname="sink.test",
            tls_context=server_context() if starttls and not implicit else None,
            require_starttls=starttls and not implicit,
            authenticator=authenticate if users else None, auth_required=bool(users),
        )

    async with serve_sink(sink, factory, tls=server_context() if implicit else None):
        yield sink


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example.org", RelayUrl("smtp", "relay.example.org", 25)),
        ("smtp+starttls://relay.example.org", RelayUrl("smtp+starttls", "relay.example.org", 587)),
        ("smtps://me%40org@mail.example.org:465",
         RelayUrl("smtps", "mail.example.org", 465, "me@org")),
        ("capture://outbox", RelayUrl("capture", path="outbox")),
    ],
)
def test_relay_urls(url: str, expected: RelayUrl) -> None:
    assert parse_relay_url(url) == expected


@pytest.mark.parametrize(
    ("url", "needle"),
    [("http://x", "unknown relay scheme"), ("smtps://u:secret@x", "no password in the URL"),
     ("smtp://", "no host"), ("capture://", "needs a folder")],
)
def test_bad_relay_urls(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as info:
        parse_relay_url(url)
    assert "secret" not in str(info.value)


def test_user_needs_password() -> None:
    with pytest.raises(ConfigError, match="OUTREACH_SMTP_PASSWORD"):
        RelayConfig(parse_relay_url("smtps://me@x.example")).check()


async def test_starttls_and_auth() -> None:
    async with tls_sink(users={"me": "pw"}) as sink:
        url = RelayUrl("smtp+starttls", "127.0.0.1", sink.port, "me")
        session = Session(RelayConfig(url, password="pw", tls_context=client_context()))
        await session.connect()
        outcome = await session.send(sender="campaign@example.org", recipient="a@x.example",
                                     message=LETTER)
        await session.quit()
        bad = Session(RelayConfig(url, password="wrong", tls_context=client_context()))
        with pytest.raises(TransportError, match="authentication failed"):
            await bad.connect()
    assert outcome.state is not None
    assert outcome.state.value == "sent"
    assert sink.messages[0].content.endswith(b"\r\n.dot line\r\n")


async def test_implicit_tls() -> None:
    async with tls_sink(implicit=True) as sink:
        session = Session(RelayConfig(RelayUrl("smtps", "127.0.0.1", sink.port),
                                      tls_context=client_context()))
        await session.connect()
        outcome = await session.send(sender="c@example.org", recipient="a@x.example",
                                     message=LETTER)
        await session.quit()
    assert outcome.code == 250
    assert len(sink.messages) == 1


async def test_starttls_required_but_not_offered() -> None:
    async with tls_sink(starttls=False) as sink:
        session = Session(RelayConfig(RelayUrl("smtp+starttls", "127.0.0.1", sink.port)))
        with pytest.raises(TransportError, match="does not offer STARTTLS"):
            await session.connect()


async def test_plain_smtp_off_loopback_is_refused_unless_insecure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RelayUrl, "loopback", property(lambda self: False))
    async with tls_sink(starttls=False) as sink:
        url = RelayUrl("smtp", "127.0.0.1", sink.port)
        with pytest.raises(TransportError, match="clear text"):
            await Session(RelayConfig(url)).connect()
        session = Session(RelayConfig(url, insecure=True))
        await session.connect()
        await session.quit()


def test_dkim_signature_verifies_with_local_dns() -> None:
    key = (FIXTURES / "dkim-test.pem").read_bytes()
    public = (FIXTURES / "dkim-test.pub.b64").read_text().strip()
    signed = Signer("s2026", "example.org", key).sign(LETTER)
    assert signed.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s2026._domainkey.example.org."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(signed, dnsfunc=dns)
    tampered = signed.replace(b"Dear Member", b"Dear Membre")
    assert not dkim.verify(tampered, dnsfunc=dns)
    assert base64.b64decode(public)  # the fixture is a real key


async def test_capture_writes_a_maildir(tmp_path: Path) -> None:
    async with capture_server(tmp_path / "outbox") as (host, port):
        session = Session(RelayConfig(RelayUrl("smtp", host, port)))
        await session.connect()
        outcome = await session.send(sender="bounces+t1@example.org", recipient="a@x.example",
                                     message=LETTER)
        await session.quit()
    assert outcome.code == 250
    (path,) = (tmp_path / "outbox" / "new").iterdir()
    message = email.message_from_bytes(path.read_bytes())
    assert message["Return-Path"] == "<bounces+t1@example.org>"
    assert message["Delivered-To"] == "a@x.example"
    assert message["Message-ID"] == "<m1@example.org>"
