"""``replies fetch``: the campaign mailbox over IMAP (aioimaplib), incrementally.

The mailbox is one URL (``[imap] url`` or ``OUTREACH_IMAP_URL``):
``imaps://user@host:993/INBOX`` (TLS from the start) or ``imap://user@host:143/INBOX``
(STARTTLS; a server without it is refused off loopback unless ``insecure``).
The password comes from ``OUTREACH_IMAP_PASSWORD`` (the CLI prompts on a terminal).

Each folder's position is kept in :class:`~outreach.models.MailboxState`
(UIDVALIDITY and the last UID stored): a fetch asks only for UIDs above it, so
nothing is fetched twice or missed; when the server's UIDVALIDITY changes the
folder is read again from the start, and storage by Message-ID keeps that
idempotent. The position moves after each message is stored, so an interrupted
fetch resumes where it stopped. Processed messages are marked per ``[imap]
processed``: ``flag`` (the keyword ``$OutreachProcessed``, read state untouched),
``seen`` (``\\Seen``), ``move:FOLDER`` or ``none``.

With ``[imap] sent_folder`` set, each fetch also appends the letters sent since
the previous fetch to that folder, so a mail client shows whole conversations.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit

import aioimaplib

from outreach import ids
from outreach.config import Settings
from outreach.db import get_setting
from outreach.errors import ConfigError, MailboxError
from outreach.letters import with_date
from outreach.models import Delivery, DeliveryState, MailboxState
from outreach.net import configured_tls_context, is_loopback
from outreach.replies.sources import RawMessage
from outreach.replies.store import IngestReport, ingest

PROCESSED_KEYWORD = "$OutreachProcessed"
_UIDVALIDITY_RE = re.compile(rb"UIDVALIDITY (\d+)")
_UID_RE = re.compile(rb"UID (\d+)")
_PORTS = {"imap": 143, "imaps": 993}
#: (messages fetched, messages new) in the folder being read
FetchProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImapUrl:
    scheme: str
    host: str
    port: int
    user: str
    folder: str

    @property
    def place(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def parse_imap_url(url: str, *, place: str = "[imap] url") -> ImapUrl:
    text = url.strip()
    if not text:
        raise ConfigError("no mailbox configured: set [imap] url or OUTREACH_IMAP_URL "
                          "(imaps://user@host:993/INBOX)", place=place)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _PORTS:
        raise ConfigError(f"unknown scheme {parts.scheme!r}: use imaps:// or imap://",
                          place=place)
    if not parts.hostname:
        raise ConfigError(f"no host in {url!r}", place=place)
    if parts.password:
        raise ConfigError("no password in the URL: set OUTREACH_IMAP_PASSWORD", place=place)
    if not parts.username:
        raise ConfigError(f"no user in {url!r} (imaps://user@host/INBOX)", place=place)
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise ConfigError(f"bad port in {url!r}", place=place) from None
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapUrl(scheme, parts.hostname, port, unquote(parts.username), folder)


def _processing(value: str) -> tuple[str, str]:
    text = value.strip()
    if text in ("flag", "seen", "none"):
        return text, ""
    if text.startswith("move:") and text[5:].strip():
        return "move", text[5:].strip()
    raise ConfigError(f"[imap] processed must be flag, seen, none or move:FOLDER, not {value!r}",
                      place="[imap] processed")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class FetchReport(IngestReport):
    fetched: int = 0
    folders: list[str] = field(default_factory=list)
    #: folders read again from the start because their UIDVALIDITY changed
    resets: list[str] = field(default_factory=list)
    appended_sent: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        out = super().to_json()
        out.update(fetched=self.fetched, folders=self.folders, resets=self.resets,
                   appended_sent=self.appended_sent)
        return out


class _Client:
    """A logged-in aioimaplib client with failures turned into MailboxError."""

    def __init__(self, url: ImapUrl, client: aioimaplib.IMAP4) -> None:
        self.url = url
        self.imap = client

    def check(self, response: aioimaplib.Response, what: str) -> aioimaplib.Response:
        if response.result != "OK":
            text = b" ".join(x for x in response.lines if isinstance(x, bytes)).decode(
                "utf-8", "replace")
            raise MailboxError(f"{what} refused: {text[:200]}", place=self.url.place)
        return response

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.imap.logout(), 5)
        except Exception:  # noqa: S110 - the session is over either way
            pass
        transport = getattr(self.imap.protocol, "transport", None)
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)


async def _starttls(client: aioimaplib.IMAP4, url: ImapUrl, context: ssl.SSLContext) -> None:
    protocol = client.protocol
    response = await asyncio.wait_for(protocol.execute(aioimaplib.Command(
        "STARTTLS", protocol.new_tag(), loop=protocol.loop)), client.timeout)
    if response.result != "OK":
        raise MailboxError("STARTTLS refused", place=url.place)
    transport = await protocol.loop.start_tls(protocol.transport, protocol, context,
                                              server_hostname=url.host)
    if transport is None:
        raise MailboxError("STARTTLS failed", place=url.place)
    protocol.transport = transport
    await asyncio.wait_for(protocol.capability(), client.timeout)


def _drop(client: aioimaplib.IMAP4 | None) -> None:
    """Close the connection of a client that never got logged in."""
    transport = getattr(getattr(client, "protocol", None), "transport", None)
    if transport is not None:
        transport.close()


async def connect(
    url: ImapUrl, *, password: str, insecure: bool = False,
    tls_context: ssl.SSLContext | None = None, seconds: float = 30.0,
    notes: list[str] | None = None,
) -> _Client:
    """Open, secure and log in; :class:`MailboxError` for anything that goes wrong."""
    context = tls_context or ssl.create_default_context()
    client: aioimaplib.IMAP4 | None = None
    try:
        if url.scheme == "imaps":
            client = aioimaplib.IMAP4_SSL(url.host, url.port, ssl_context=context, timeout=seconds)
        else:
            client = aioimaplib.IMAP4(url.host, url.port, timeout=seconds)
        await client.wait_hello_from_server()
        if url.scheme == "imap":
            if "STARTTLS" in client.protocol.capabilities:
                await _starttls(client, url, context)
            elif url.loopback or insecure:
                if not url.loopback and notes is not None:
                    notes.append(f"warning: plain IMAP to {url.place}: the password and the "
                                 "mail cross the network unencrypted")
            else:
                raise MailboxError("the server offers no STARTTLS: plain IMAP is refused off "
                                   "loopback (use imaps://, or --insecure)", place=url.place)
        wrapped = _Client(url, client)
        login = await client.login(url.user, password)
    except ssl.SSLError as exc:
        _drop(client)
        raise MailboxError(f"TLS failed: {exc.reason or exc}", place=url.place) from None
    except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        _drop(client)
        raise MailboxError(f"cannot connect: {exc or type(exc).__name__}",
                           place=url.place) from None
    except BaseException:
        _drop(client)
        raise
    if login.result != "OK":
        await wrapped.close()
        raise MailboxError(f"login refused for {url.user!r}", place=url.place)
    return wrapped


async def _fetch_one(client: _Client, uid: int) -> bytes | None:
    response = client.check(await client.imap.uid("fetch", str(uid), "(UID BODY.PEEK[])"),
                            f"FETCH {uid}")
    for line in response.lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None  # expunged meanwhile


async def _mark(client: _Client, uid: int, how: str, target: str) -> None:
    imap = client.imap
    if how == "flag":
        await imap.uid("store", str(uid), "+FLAGS.SILENT", f"({PROCESSED_KEYWORD})")
    elif how == "seen":
        await imap.uid("store", str(uid), "+FLAGS.SILENT", "(\\Seen)")
    elif how == "move":
        if "MOVE" in imap.protocol.capabilities:
            client.check(await imap.uid("move", str(uid), _quote(target)), f"MOVE to {target}")
        else:
            client.check(await imap.uid("copy", str(uid), _quote(target)), f"COPY to {target}")
            await imap.uid("store", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            await imap.expunge()


async def _folder(
    client: _Client, folder: str, *, settings: Settings, key: str, report: FetchReport,
    since: datetime | None, how: str, target: str, progress: FetchProgress | None = None,
) -> None:
    url = client.url
    selected = client.check(await client.imap.select(_quote(folder)), f"SELECT {folder}")
    found = next((_UIDVALIDITY_RE.search(bytes(x)) for x in selected.lines
                  if _UIDVALIDITY_RE.search(bytes(x))), None)
    validity = int(found.group(1)) if found else 0
    state_key = f"{url.user}@{url.host}:{url.port}/{folder}"[:500]
    state = await MailboxState.get_or_none(key=state_key)
    if state is None:
        state = await MailboxState.create(key=state_key, uidvalidity=validity, last_uid=0)
    elif state.uidvalidity != validity:
        report.resets.append(folder)
        state.uidvalidity, state.last_uid = validity, 0
        await state.save(update_fields=["uidvalidity", "last_uid"])
    criteria = [f"UID {state.last_uid + 1}:*"]
    if since is not None:
        criteria.append("SINCE " + since.strftime("%d-%b-%Y"))
    searched = client.check(await client.imap.uid_search(*criteria, charset=None), "SEARCH")
    uids = sorted({int(x) for line in searched.lines[:1] for x in bytes(line).split()
                   if x.isdigit()})
    todo = [u for u in uids if u > state.last_uid]
    for done, uid in enumerate(todo):
        if progress is not None:
            progress(done, len(todo))
        raw = await _fetch_one(client, uid)
        if raw is not None:
            report.fetched += 1
            await ingest(RawMessage(f"imap:{folder}:{validity}:{uid}", raw), key=key,
                         settings=settings, report=report)
            await _mark(client, uid, how, target)
        state.last_uid = uid
        await state.save(update_fields=["last_uid"])
    if progress is not None:
        progress(len(todo), len(todo))
    report.folders.append(folder)


async def _append_sent(client: _Client, folder: str, report: FetchReport) -> None:
    url = client.url
    state_key = f"sent:{url.user}@{url.host}:{url.port}/{folder}"[:500]
    state = await MailboxState.get_or_none(key=state_key)
    if state is None:
        state = await MailboxState.create(key=state_key, uidvalidity=0, last_uid=0)
    letters = await Delivery.filter(state=DeliveryState.SENT.value, id__gt=state.last_uid,
                                    message__isnull=False).order_by("id")
    for letter in letters:
        if letter.message is not None and letter.sent_at is not None:
            message = with_date(bytes(letter.message), letter.sent_at)
            client.check(await client.imap.append(message, mailbox=_quote(folder),
                                                  flags="(\\Seen)"), f"APPEND to {folder}")
            report.appended_sent += 1
        state.last_uid = letter.id
        await state.save(update_fields=["last_uid"])


async def fetch(
    *, settings: Settings, password: str | None, folders: list[str] | None = None,
    since: datetime | None = None, insecure: bool | None = None,
    tls_context: ssl.SSLContext | None = None, progress: FetchProgress | None = None,
) -> FetchReport:
    """Fetch what is new in each folder (the URL's by default); see the module docstring.

    ``progress(done, total)`` is told the messages fetched of those new in the folder.
    """
    url = parse_imap_url(settings.imap.url)
    how, target = _processing(settings.imap.processed)
    if password is None:
        raise ConfigError(f"user {url.user!r} needs a password: set OUTREACH_IMAP_PASSWORD",
                          place=url.place)
    report = FetchReport()
    if tls_context is None:
        tls_context = configured_tls_context(settings, "imap")
    client = await connect(
        url, password=password, insecure=settings.imap.insecure if insecure is None else insecure,
        tls_context=tls_context, seconds=settings.smtp.timeout, notes=report.notes)
    key = await get_setting(ids.MESSAGE_ID_KEY)
    try:
        for folder in folders or [url.folder]:
            await _folder(client, folder, settings=settings, key=key, report=report,
                          since=since, how=how, target=target, progress=progress)
        if settings.imap.sent_folder:
            await _append_sent(client, settings.imap.sent_folder, report)
    except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        raise MailboxError(f"connection lost: {exc or type(exc).__name__}",
                           place=url.place) from None
    finally:
        await client.close()
    return report
