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
import tomllib
import uuid
from email.message import EmailMessage
from pathlib import Path
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


async def fetch_raw(client: aioimaplib.IMAP4, *criteria: str) -> list[bytes]:
    """Every message matching the IMAP SEARCH criteria, as the server holds it."""
    response = await client.search(*criteria)
    assert response.result == "OK", response
    numbers = response.lines[0].decode().split() if response.lines else []
    found: list[bytes] = []
    for number in numbers:
        fetched = await client.fetch(number, "(BODY.PEEK[])")
        assert fetched.result == "OK", fetched
        found.append(next(bytes(line) for line in fetched.lines if isinstance(line, bytearray)))
    return found


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def fetch_matching(client: aioimaplib.IMAP4, *criteria: str) -> list[EmailMessage]:
    """Every message matching the IMAP SEARCH criteria, parsed."""
    return [parse(raw) for raw in await fetch_raw(client, *criteria)]


async def wait_for_raw_mail(
    stack: Mailstack, *criteria: str, count: int = 1, timeout: float = 30.0, secure: bool = False
) -> list[bytes]:
    """Poll the INBOX until ``count`` messages match (delivery is asynchronous)."""
    client = await imap_login(stack, secure=secure)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = await fetch_raw(client, *criteria)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)
            await client.noop()  # lets Dovecot report the new mail
    finally:
        await imap_close(client)


async def wait_for_mail(
    stack: Mailstack, *criteria: str, count: int = 1, timeout: float = 30.0, secure: bool = False
) -> list[EmailMessage]:
    """Like :func:`wait_for_raw_mail`, parsed."""
    found = await wait_for_raw_mail(stack, *criteria, count=count, timeout=timeout, secure=secure)
    return [parse(raw) for raw in found]


async def file_into_folder(stack: Mailstack, folder: str, *criteria: str) -> int:
    """Create ``folder`` and move the INBOX messages matching ``criteria`` into it.

    Stands in for the server-side filter of a real campaign mailbox: the end-to-end test
    reads its own replies there, away from every other test's mail in the shared INBOX.
    """
    client = await imap_login(stack)
    try:
        created = await client.create(folder)
        assert created.result == "OK", created
        found = await client.uid_search(*criteria)
        assert found.result == "OK", found
        uids = found.lines[0].decode().split() if found.lines else []
        if uids:
            moved = await client.uid("move", ",".join(uids), folder)
            assert moved.result == "OK", moved
        return len(uids)
    finally:
        await imap_close(client)


async def delete_folder(stack: Mailstack, folder: str) -> None:
    """Remove a folder made by :func:`file_into_folder`, with its messages."""
    client = await imap_login(stack)
    try:
        await client.delete(folder)
    finally:
        await imap_close(client)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def update_config(path: Path, changes: dict[str, dict[str, object]]) -> None:
    """Set keys in an ``outreach.toml`` as a campaigner would edit it (the rest is kept)."""
    with open(path, "rb") as fh:
        data: dict[str, dict[str, object]] = tomllib.load(fh)
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    path.write_text("".join(
        f"[{section}]\n" + "".join(f"{key} = {toml_value(v)}\n" for key, v in values.items())
        + "\n"
        for section, values in data.items()
    ), encoding="utf-8")
