"""`replies fetch` against the real Dovecot of tests/servers/mailstack.sh: each message
exactly once across runs, new mail picked up, a UIDVALIDITY change survived, processed mail
flagged or moved, sent letters filed; and the mailbox URL rules (no server needed)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from urllib.parse import urlsplit

import pytest
from conftest import Mailstack

from outreach.config import Imap, Settings
from outreach.errors import ConfigError, MailboxError
from outreach.models import Reply
from outreach.replies.imap import PROCESSED_KEYWORD, fetch, parse_imap_url
from tests.helpers_mailstack import imap_close, imap_login, tls_context, token
from tests.helpers_replies import person_reply, sent_campaign


def _message(tag: str, n: int) -> bytes:
    return person_reply(sender=f"sender{n}@example.com", subject=f"{tag} reply {n}",
                        body=f"Reply number {n}.", message_id=f"<{tag}.{n}@example.com>")


async def _append(stack: Mailstack, folder: str, messages: list[bytes],
                  create: bool = False) -> None:
    client = await imap_login(stack)
    try:
        if create:
            assert (await client.create(folder)).result == "OK"
        for raw in messages:
            assert (await client.append(raw, mailbox=folder)).result == "OK"
    finally:
        await imap_close(client)


async def _folder_flags(stack: Mailstack, folder: str) -> list[str]:
    client = await imap_login(stack)
    try:
        assert (await client.select(folder)).result == "OK"
        response = await client.fetch("1:*", "(FLAGS)")
        return [line.decode() for line in response.lines
                if isinstance(line, bytes) and re.match(rb"\d+ FETCH ", line)]
    finally:
        await imap_close(client)


async def _delete(stack: Mailstack, folder: str) -> None:
    client = await imap_login(stack)
    try:
        await client.delete(folder)
    finally:
        await imap_close(client)


def _with_mailbox(settings: Settings, stack: Mailstack, folder: str, *, secure: bool = False,
                  **imap: str) -> Settings:
    base = urlsplit(stack.imaps_url if secure else stack.imap_url)
    url = base._replace(path="/" + folder).geturl()
    return dataclasses.replace(settings, imap=Imap(url=url, **imap))


async def test_fetch_gets_each_message_exactly_once(db: Settings, mailstack: Mailstack) -> None:
    tag = token()
    folder = f"Replies-{tag}"
    settings = _with_mailbox(db, mailstack, folder)
    context = tls_context(mailstack)
    try:
        await _append(mailstack, folder, [_message(tag, n) for n in range(3)], create=True)
        first = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert (first.fetched, first.new, first.duplicates) == (3, 3, 0)
        again = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert (again.fetched, again.new) == (0, 0)
        await _append(mailstack, folder, [_message(tag, n) for n in range(3, 5)])
        more = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert (more.fetched, more.new) == (2, 2)
        flags = await _folder_flags(mailstack, folder)
        assert len(flags) == 5
        assert all(PROCESSED_KEYWORD in f for f in flags)
        assert not any("\\Seen" in f for f in flags)  # "flag" leaves the read state alone
        # over IMAPS the same folder is a new position: read again, stored once
        secure = _with_mailbox(db, mailstack, folder, secure=True)
        tls = await fetch(settings=secure, password=mailstack.password, tls_context=context)
        assert (tls.fetched, tls.new, tls.duplicates) == (5, 0, 5)
        # the folder is recreated: a new UIDVALIDITY, read from the start, still once each
        await _delete(mailstack, folder)
        await _append(mailstack, folder, [_message(tag, n) for n in range(6)], create=True)
        reset = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert reset.resets == [folder]
        assert (reset.fetched, reset.new, reset.duplicates) == (6, 1, 5)
        assert await Reply.filter(subject__startswith=tag).count() == 6
        sources = await Reply.filter(subject__startswith=tag).values_list("source", flat=True)
        assert all(re.fullmatch(rf"imap:{folder}:\d+:\d+", str(s)) for s in sources)
    finally:
        await _delete(mailstack, folder)


async def test_fetch_moves_processed_mail_and_files_sent_letters(db: Settings,
                                                                 mailstack: Mailstack) -> None:
    tag = token()
    folder, done, sent = f"In-{tag}", f"Done-{tag}", f"Sent-{tag}"
    settings = _with_mailbox(db, mailstack, folder, processed=f"move:{done}", sent_folder=sent)
    context = tls_context(mailstack)
    await sent_campaign(db, ["a@example.com", "b@example.com"])
    try:
        await _append(mailstack, done, [], create=True)
        await _append(mailstack, sent, [], create=True)
        await _append(mailstack, folder, [_message(tag, n) for n in range(2)], create=True)
        report = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert (report.new, report.appended_sent) == (2, 2)
        assert await _folder_flags(mailstack, folder) == []
        assert len(await _folder_flags(mailstack, done)) == 2
        assert len(await _folder_flags(mailstack, sent)) == 2
        again = await fetch(settings=settings, password=mailstack.password, tls_context=context)
        assert (again.fetched, again.appended_sent) == (0, 0)
    finally:
        for name in (folder, done, sent):
            await _delete(mailstack, name)


async def test_wrong_password_is_one_mailbox_error(db: Settings, mailstack: Mailstack) -> None:
    settings = _with_mailbox(db, mailstack, "INBOX")
    with pytest.raises(MailboxError, match="login refused"):
        await fetch(settings=settings, password="wrong", tls_context=tls_context(mailstack))


async def test_untrusted_certificate_is_refused(db: Settings, mailstack: Mailstack) -> None:
    settings = _with_mailbox(db, mailstack, "INBOX", secure=True)
    with pytest.raises(MailboxError, match=r"TLS|certificate|connect"):
        await fetch(settings=settings, password=mailstack.password)


def test_mailbox_url_rules() -> None:
    url = parse_imap_url("imaps://campaign%40example.org@mail.example.org/Replies")
    assert (url.scheme, url.host, url.port, url.user, url.folder) == (
        "imaps", "mail.example.org", 993, "campaign@example.org", "Replies")
    assert parse_imap_url("imap://u@127.0.0.1").folder == "INBOX"
    assert parse_imap_url("imap://u@127.0.0.1").loopback
    assert parse_imap_url("imap://u@127.0.0.1").port == 143
    for bad, why in (("", "no mailbox"), ("pop3://u@h/", "unknown scheme"),
                     ("imaps://u:secret@h/", "no password in the URL"),
                     ("imaps://h/", "no user")):
        with pytest.raises(ConfigError, match=why):
            parse_imap_url(bad)


async def test_fetch_needs_a_password_and_a_known_processing(db: Settings) -> None:
    settings = dataclasses.replace(db, imap=Imap(url="imaps://u@mail.example.org/INBOX"))
    with pytest.raises(ConfigError, match="OUTREACH_IMAP_PASSWORD"):
        await fetch(settings=settings, password=None)
    odd = dataclasses.replace(db, imap=Imap(url="imaps://u@mail.example.org/INBOX",
                                            processed="delete"))
    with pytest.raises(ConfigError, match="processed"):
        await fetch(settings=odd, password="x")


def test_fetch_command_reads_the_mailbox_once(cli, mailstack: Mailstack) -> None:
    tag = token()
    folder = f"Cli-{tag}"
    url = urlsplit(mailstack.imap_url)._replace(path="/" + folder).geturl()
    env = {"OUTREACH_IMAP_URL": url, "OUTREACH_IMAP_PASSWORD": mailstack.password,
           "SSL_CERT_FILE": str(mailstack.tls_cert)}
    asyncio.run(_append(mailstack, folder, [_message(tag, n) for n in range(2)], create=True))
    try:
        first = cli("replies", "fetch", env=env)
        assert first.exit_code == 0, first.stderr
        assert first.stdout.startswith("2 new (2 reply), 0 already stored")
        again = cli("replies", "fetch", "--json", env=env)
        assert json.loads(again.stdout)["fetched"] == 0
        wrong = cli("replies", "fetch", env={**env, "OUTREACH_IMAP_PASSWORD": "nope"})
        assert wrong.exit_code == 1
        assert wrong.stderr == "error: 127.0.0.1:1143: login refused for 'testuser'\n"
    finally:
        asyncio.run(_delete(mailstack, folder))


def test_fetch_command_without_a_mailbox_is_one_line(cli) -> None:
    result = cli("replies", "fetch")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: [imap] url: no mailbox configured")
    assert result.stderr.count("\n") == 1
