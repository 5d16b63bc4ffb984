"""`outreach doctor`: every check a campaign depends on, each with its fix.

Checks never change anything: the database is opened without migrating, the
relay is greeted, secured and (with a user) authenticated, then told QUIT —
never MAIL FROM — and the mailbox folder is opened read-only (EXAMINE).
Each :class:`Check` says ``ok``, ``fail``, ``warn`` or ``skip``, where the
problem is (file:line, field, host:port) and what to do about it.

:func:`diagnose` runs them all; :func:`preflight` runs the ones ``campaign
send`` needs before it writes anything (the campaign's and the relay's).
The campaign checks live in :mod:`outreach.doctor_campaign`.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from outreach.config import PLACEHOLDER_DOMAIN, Settings, load_settings
from outreach.errors import ConfigError, DatabaseError, MailboxError, TransportError
from outreach.net import configured_tls_context
from outreach.sending.relay import RelayConfig, Session, parse_relay_url

#: a doctor waits at most this long for a server (the configured timeout if shorter)
CHECK_TIMEOUT = 15.0


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer."""

    name: str
    status: Status
    message: str
    place: str = ""
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def line(self) -> str:
        """``place: message`` (the form errors take everywhere else)."""
        return f"{self.place}: {self.message}" if self.place else self.message

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "message": self.message,
                "place": self.place, "fix": self.fix}


def ok(name: str, message: str, *, place: str = "") -> Check:
    return Check(name, Status.OK, message, place)


def fail(name: str, message: str, *, place: str = "", fix: str = "") -> Check:
    return Check(name, Status.FAIL, message, place, fix)


def warn(name: str, message: str, *, place: str = "", fix: str = "") -> Check:
    return Check(name, Status.WARN, message, place, fix)


def skip(name: str, message: str) -> Check:
    return Check(name, Status.SKIP, message)


# --- configuration and database ----------------------------------------------------------

_TOML_LINE = re.compile(r"at line (\d+)")


def check_config(config: str | None) -> tuple[Check, Settings | None]:
    """The configuration file readable and valid (a broken file names FILE:LINE)."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        place = exc.place or "configuration"
        line = _TOML_LINE.search(exc.message)
        if line and not place.startswith("OUTREACH_"):
            place = f"{place}:{line.group(1)}"
        where = "the environment variable" if place.startswith("OUTREACH_") else place
        return fail("configuration", exc.message, place=place,
                    fix=f"correct {where} (see the comments in outreach.toml)"), None
    if settings.path is None:
        return warn("configuration", "no outreach.toml here: the defaults are in use",
                    fix="run `outreach init` (or pass --config FILE)"), settings
    return ok("configuration", f"{settings.path} read"), settings


async def check_database(settings: Settings) -> Check:
    """The database opens and its schema is current (opened without migrating)."""
    from outreach.db import open_db, schema_status

    url = settings.database_url
    try:
        async with open_db(url, check_schema=False) as ctx:
            applied, pending = await schema_status(ctx)
    except DatabaseError as exc:
        text = exc.message
        if "outreach init" in text:
            fix = "run `outreach init` in this folder"
        elif "newer outreach" in text:
            fix = "install the newer outreach that upgraded it"
        else:
            fix = "check [database] url (or OUTREACH_DATABASE_URL) and that the server runs"
        return fail("database", text, place=exc.place or "[database] url", fix=fix)
    if pending:
        return fail("database", f"the schema is behind this version ({len(pending)} "
                    "migration(s) pending)", place=_safe(url), fix="run `outreach db upgrade`")
    return ok("database", f"{_safe(url)}: reachable, schema current ({len(applied)} "
              "migrations)")


def _safe(url: str) -> str:
    from outreach.db import _safe_url

    return _safe_url(url)


# --- the relay ------------------------------------------------------------------------------


def _tls_trouble(text: str) -> str | None:
    """What a TLS failure means, from the error's text (None: not a TLS failure)."""
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "the TLS certificate is not valid (not trusted, or for another host)"
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return "TLS handshake failed: the port does not speak TLS from the start"
    if "SSL" in text or "TLS" in text:
        return "TLS failed"
    return None


_CA_FIX = ("point [{0}] ca_file at the PEM file of the CA that signed the {1}'s "
           "certificate, or leave it empty to trust the system's CAs")


async def check_relay(
    settings: Settings, *, password: str | None, insecure: bool | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> Check:
    """Connect, EHLO, TLS, AUTH (with a user), QUIT: never MAIL FROM."""
    name = "relay"
    try:
        url = parse_relay_url(settings.smtp.url)
    except ConfigError as exc:
        return fail(name, exc.message, place=exc.place or "[smtp] url",
                    fix="write smtp+starttls://user@host:587, smtps://user@host:465 or "
                    "capture://outbox in [smtp] url")
    if url.scheme == "capture":
        return ok(name, f"capture: nothing leaves this machine (letters are kept in "
                  f"{settings.resolve(url.path)})")
    if url.user and password is None:
        return fail(name, f"user {url.user!r} needs a password", place=url.place,
                    fix="set OUTREACH_SMTP_PASSWORD in the environment")
    unsafe = settings.smtp.insecure if insecure is None else insecure
    try:
        context = tls_context or configured_tls_context(settings, "smtp")
    except ConfigError as exc:
        return fail(name, exc.message, place=exc.place or "[smtp] ca_file",
                    fix=_CA_FIX.format("smtp", "relay"))
    session = Session(RelayConfig(url, password=password, insecure=unsafe,
                                  timeout=min(settings.smtp.timeout, CHECK_TIMEOUT),
                                  tls_context=context))
    try:
        await session.connect()
    except TransportError as exc:
        return _relay_refused(exc.message, url.place, url.scheme)
    except (OSError, aiosmtplib.SMTPException) as exc:
        text = str(exc) or type(exc).__name__
        trouble = _tls_trouble(text)
        if trouble is not None:
            fix = ("use smtp+starttls://HOST:587 for a STARTTLS port (smtps:// is for "
                   "port 465)" if "from the start" in trouble and url.scheme == "smtps"
                   else "check the host name in [smtp] url matches the relay's certificate")
            return fail(name, f"{trouble}: {text}", place=url.place, fix=fix)
        return fail(name, f"cannot connect: {text}", place=url.place,
                    fix="check the host and port in [smtp] url: is the relay running? "
                    "587 is for STARTTLS, 465 for smtps://")
    try:
        smtp = session.smtp
        secured = smtp is not None and smtp.get_transport_info("sslcontext") is not None
    finally:
        await session.quit()
    tls = "TLS valid" if secured else "no TLS (allowed: loopback or insecure)"
    auth = f"AUTH accepted for {url.user!r}" if url.user else "no AUTH (no user in the URL)"
    return ok(name, f"{url.place}: reachable, {tls}, {auth}")


def _relay_refused(message: str, place: str, scheme: str) -> Check:
    if message.startswith("authentication failed"):
        fix = "check the user in [smtp] url and OUTREACH_SMTP_PASSWORD"
    elif "STARTTLS" in message:
        fix = "use smtps://HOST:465 if the relay speaks TLS from the start"
    elif "no TLS" in message:
        fix = "use the relay's TLS port (587 or 465), or set [smtp] insecure = true"
    else:
        trouble = _tls_trouble(message)
        if trouble is not None:
            message = f"{trouble}: {message}"
        fix = "check [smtp] url"
    return fail("relay", message, place=place, fix=fix)


# --- the mailbox ----------------------------------------------------------------------------


async def check_mailbox(
    settings: Settings, *, password: str | None, tls_context: ssl.SSLContext | None = None,
) -> Check:
    """Log in, then EXAMINE (read-only) the folder and any ``move:`` target."""
    from outreach.replies.imap import _quote, connect, parse_imap_url

    name = "mailbox"
    if not settings.imap.url.strip():
        return skip(name, "no [imap] url: replies are not fetched (set it to fetch them)")
    try:
        url = parse_imap_url(settings.imap.url)
    except ConfigError as exc:
        return fail(name, exc.message, place=exc.place or "[imap] url",
                    fix="write imaps://user@host:993/INBOX in [imap] url")
    if password is None:
        return fail(name, f"user {url.user!r} needs a password", place=url.place,
                    fix="set OUTREACH_IMAP_PASSWORD in the environment")
    try:
        context = tls_context or configured_tls_context(settings, "imap")
    except ConfigError as exc:
        return fail(name, exc.message, place=exc.place or "[imap] ca_file",
                    fix=_CA_FIX.format("imap", "server"))
    try:
        client = await connect(url, password=password, insecure=settings.imap.insecure,
                               tls_context=context,
                               seconds=min(settings.smtp.timeout, CHECK_TIMEOUT))
    except MailboxError as exc:
        text = exc.message
        if text.startswith("login refused"):
            fix = "check the user in [imap] url and OUTREACH_IMAP_PASSWORD"
        elif text.startswith("TLS"):
            fix = ("imaps:// is for the TLS port (993); use imap:// for 143" if
                   "WRONG_VERSION" in text else "check the host name matches the certificate")
        elif "STARTTLS" in text:
            fix = "use imaps://HOST:993, or set [imap] insecure = true"
        else:
            fix = "check the host and port in [imap] url: 993 is for imaps://, 143 for imap://"
        return fail(name, text, place=exc.place or url.place, fix=fix)
    folders = [url.folder]
    processed = settings.imap.processed.strip()
    if processed.startswith("move:") and processed[5:].strip():
        folders.append(processed[5:].strip())
    if settings.imap.sent_folder:
        folders.append(settings.imap.sent_folder)
    missing: list[str] = []
    try:
        for folder in folders:
            response = await client.imap.examine(_quote(folder))
            if response.result != "OK":
                missing.append(folder)
    except Exception as exc:  # aioimaplib raises its own and asyncio errors alike
        await client.close()
        return fail(name, f"connection lost: {exc or type(exc).__name__}", place=url.place,
                    fix="try again; check the server")
    await client.close()
    if missing:
        return fail(name, f"folder {missing[0]!r} not found (user {url.user!r})",
                    place=url.place, fix="create the folder in your mail client, or correct "
                    "the folder in [imap] url / [imap] processed / [imap] sent_folder")
    return ok(name, f"{url.place}: login accepted for {url.user!r}, folder "
              f"{', '.join(repr(f) for f in folders)} present")


# --- sender and DKIM ------------------------------------------------------------------------


def check_sender(settings: Settings) -> Check:
    address = settings.sender.address
    where = f"[sender] address in {settings.path}" if settings.path else "[sender] address"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return fail("sender", f"{address!r} is not a valid address: {exc}",
                    place="[sender] address", fix=f"set {where} to your campaign address")
    if settings.uses_placeholder_sender:
        return fail("sender", f"{address} is the {PLACEHOLDER_DOMAIN} placeholder",
                    place="[sender] address",
                    fix=f"set {where} to your campaign address before sending")
    return ok("sender", f"{address} is a valid address")


def check_dkim(settings: Settings) -> Check:
    from outreach.sending.dkim import signer_for

    if not settings.dkim.key_file:
        return skip("dkim", "no [dkim] key_file: letters are not signed here (your relay "
                    "may sign them)")
    try:
        signer = signer_for(settings)
    except ConfigError as exc:
        return fail("dkim", exc.message, place=exc.place or "[dkim] key_file",
                    fix="check [dkim] key_file and selector (a PEM private key)")
    assert signer is not None
    key_place = str(settings.resolve(settings.dkim.key_file))
    try:
        signer.sign(b"From: doctor@" + signer.domain.encode() + b"\r\nSubject: check\r\n\r\nx\r\n")
    except Exception as exc:  # dkimpy raises its own for unusable keys
        return fail("dkim", f"the key cannot sign: {exc}", place=key_place,
                    fix="point [dkim] key_file at the RSA or Ed25519 private key")
    sender = settings.sender.address.rpartition("@")[2].lower()
    domain = signer.domain.lower()
    if sender != domain and not sender.endswith("." + domain):
        return fail("dkim", f"the key signs for {domain!r} but letters come from {sender!r}: "
                    "DMARC alignment fails", place="[dkim] domain",
                    fix=f"set [dkim] domain = {sender!r} with a key published for it, or "
                    "correct [sender] address")
    return ok("dkim", f"{key_place}: signs as {signer.selector}._domainkey.{domain}")


# --- all together ------------------------------------------------------------------------


async def diagnose(
    *, config: str | None = None, campaign: str | None = None,
    smtp_password: str | None = None, imap_password: str | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> list[Check]:
    """Every check, in the order a campaigner fixes things."""
    from outreach.db import open_db
    from outreach.doctor_campaign import campaign_checks

    conf, settings = check_config(config)
    if settings is None:
        return [conf, skip("rest", "the other checks need a readable configuration")]
    checks = [conf, await check_database(settings)]
    if campaign is not None:
        if checks[-1].failed:
            checks.append(skip("campaign", "needs the database"))
        else:
            async with open_db(settings.database_url):
                checks.extend(await campaign_checks(campaign, settings=settings))
    checks.append(await check_relay(settings, password=smtp_password, tls_context=tls_context))
    checks.append(await check_mailbox(settings, password=imap_password,
                                      tls_context=tls_context))
    checks.append(check_sender(settings))
    checks.append(check_dkim(settings))
    return checks


async def preflight(
    name: str, *, settings: Settings, password: str | None, insecure: bool | None = None,
    proof: bool = False, tls_context: ssl.SSLContext | None = None,
) -> list[Check]:
    """What ``campaign send`` checks before writing anything (the database is open)."""
    from outreach.doctor_campaign import campaign_checks

    checks = await campaign_checks(name, settings=settings, proof=proof)
    checks.append(await check_relay(settings, password=password, insecure=insecure,
                                    tls_context=tls_context))
    return checks
