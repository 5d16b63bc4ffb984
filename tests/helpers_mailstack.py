"""Talking to the Postfix + Dovecot harness from tests: send, then find mail over IMAP.

Every test shares one INBOX, so each one marks its mail with a unique token (in an address
or a subject) and looks only for that token.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import time
import uuid
from email.message import EmailMessage
from urllib.parse import urlsplit

import aioimaplib
import aiosmtplib
from conftest import Mailstack


class ImapRefused(Exception):
    """The IMAP server refused the login or the mailbox."""


def token() -> str:
    """A marker unique to one test, safe in addresses, subjects and IMAP searches."""
    return "t" + uuid.uuid4().hex[:16]


def tls_context(stack: Mailstack) -> ssl.SSLContext:
    """A client context that trusts the harness's self-signed certificate."""
    return ssl.create_default_context(cafile=str(stack.tls_cert))


def letter(*, sender: str, to: str, subject: str, body: str = "Hello.\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(body)
    return message


async def send_plain(
    stack: Mailstack, message: EmailMessage, *, envelope_from: str, recipients: list[str]
) -> None:
    """Through the unauthenticated port (the local test domains only), without TLS."""
    host, port = stack.host_port(stack.smtp_url)
    await aiosmtplib.send(
        message,
        hostname=host,
        port=port,
        sender=envelope_from,
        recipients=recipients,
        start_tls=False,
        timeout=30,
    )


async def imap_login(stack: Mailstack, *, secure: bool = False) -> aioimaplib.IMAP4:
    """A logged-in IMAP client with INBOX selected (IMAPS when ``secure``)."""
    url = stack.imaps_url if secure else stack.imap_url
    host, port = stack.host_port(url)
    client: aioimaplib.IMAP4
    if secure:
        client = aioimaplib.IMAP4_SSL(host, port, ssl_context=tls_context(stack), timeout=30)
    else:
        client = aioimaplib.IMAP4(host, port, timeout=30)
    await client.wait_hello_from_server()
    mailbox = urlsplit(url).path.lstrip("/") or "INBOX"
    login = await client.login(stack.user, stack.password)
    selected = await client.select(mailbox) if login.result == "OK" else None
    if selected is None or selected.result != "OK":
        await imap_close(client)
        raise ImapRefused(f"{login.lines if selected is None else selected.lines}")
    return client


async def imap_close(client: aioimaplib.IMAP4) -> None:
    """LOGOUT, then close the socket now: the loop of the test ends with it."""
    try:
        await client.logout()
    finally:
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)  # lets the transport finish closing


async def fetch_matching(client: aioimaplib.IMAP4, *criteria: str) -> list[EmailMessage]:
    """Every message matching the IMAP SEARCH criteria, parsed."""
    response = await client.search(*criteria)
    assert response.result == "OK", response
    numbers = response.lines[0].decode().split() if response.lines else []
    found: list[EmailMessage] = []
    for number in numbers:
        fetched = await client.fetch(number, "(BODY.PEEK[])")
        assert fetched.result == "OK", fetched
        raw = next(bytes(line) for line in fetched.lines if isinstance(line, bytearray))
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


async def wait_for_mail(
    stack: Mailstack, *criteria: str, count: int = 1, timeout: float = 30.0, secure: bool = False
) -> list[EmailMessage]:
    """Poll the INBOX until ``count`` messages match (delivery is asynchronous)."""
    client = await imap_login(stack, secure=secure)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = await fetch_matching(client, *criteria)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)
            await client.noop()  # lets Dovecot report the new mail
    finally:
        await imap_close(client)
