"""The test servers themselves: PostgreSQL per-test databases, Postfix + Dovecot on loopback.

These prove the harnesses (tests/servers/) that the end-to-end tests build on.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import aiosmtplib
import pytest
from conftest import Mailstack
from helpers_mailstack import (
    ImapRefused,
    imap_close,
    imap_login,
    letter,
    send_plain,
    tls_context,
    token,
    wait_for_mail,
)

from outreach.config import Settings
from outreach.db import open_db, schema_status
from outreach.setup import initialise

# --- databases ---------------------------------------------------------------------------


@pytest.mark.usefixtures("db")
async def test_each_test_gets_its_own_migrated_database(backend: str, settings: Settings) -> None:
    from tortoise import connections

    connection = connections.get("default")
    if backend == "postgres":
        assert settings.database_url.startswith("postgres://")
        rows = await connection.execute_query_dict("SELECT current_database() AS name")
        assert rows[0]["name"].startswith("outreach_test_")
    else:
        assert settings.database_url.startswith("sqlite://")
        rows = await connection.execute_query_dict("PRAGMA journal_mode")
        assert rows[0]["journal_mode"] == "wal"


async def test_schema_is_current_on_both_backends(db: Settings) -> None:
    from tortoise.context import get_current_context

    context = get_current_context()
    assert context is not None
    applied, pending = await schema_status(context)
    assert pending == []
    assert applied[0] == "0001_initial"


async def test_postgres_databases_are_isolated(postgres_url: str, postgres_database: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(postgres_database)
    try:
        await connection.execute("CREATE TABLE scratch (x int)")
    finally:
        await connection.close()
    server = await asyncpg.connect(postgres_url)
    try:
        names = await server.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'outreach_%'"
        )
    finally:
        await server.close()
    mine = postgres_database.rsplit("/", 1)[1]
    assert mine in {row["datname"] for row in names}


async def test_one_process_writes_to_sqlite_then_postgres_then_sqlite(
    tmp_path: Path, postgres_database: str
) -> None:
    """Tortoise caches INSERT SQL per connection name: a switch of engine must not reuse it."""
    from outreach.models import Setting

    sqlite_url = (await initialise(tmp_path)).database_url
    for number, url in enumerate([sqlite_url, postgres_database, sqlite_url]):
        async with open_db(url):
            await Setting.create(key=f"k{number}", value="v")
            assert await Setting.filter(key=f"k{number}").count() == 1


# --- mail servers ------------------------------------------------------------------------


async def test_postfix_delivers_to_the_imap_inbox(mailstack: Mailstack) -> None:
    mark = token()
    message = letter(sender="campaign@example.org", to=f"{mark}@europarl.test", subject=mark)
    await send_plain(
        mailstack,
        message,
        envelope_from="campaign@example.org",
        recipients=[f"{mark}@europarl.test"],
    )
    found = await wait_for_mail(mailstack, "SUBJECT", mark)
    assert len(found) == 1
    assert found[0]["Message-ID"] == message["Message-ID"]
    assert found[0]["Delivered-To"] == f"{mark}@europarl.test"
    assert found[0].get_content().strip() == "Hello."


@pytest.mark.parametrize("port_kind", ["submission", "smtps"])
async def test_submission_needs_auth_and_tls_and_imaps_reads_back(
    mailstack: Mailstack, port_kind: str
) -> None:
    url = mailstack.submission_url if port_kind == "submission" else mailstack.smtps_url
    host, port = mailstack.host_port(url)
    tls = {"start_tls": True} if port_kind == "submission" else {"use_tls": True}
    mark = token()
    message = letter(sender="campaign@example.org", to=f"{mark}@example.com", subject=mark)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):  # no AUTH: no relaying
        await aiosmtplib.send(
            message, hostname=host, port=port, tls_context=tls_context(mailstack), **tls
        )
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await aiosmtplib.send(
            message,
            hostname=host,
            port=port,
            tls_context=tls_context(mailstack),
            username=mailstack.user,
            password="wrong",
            **tls,
        )
    await aiosmtplib.send(
        message,
        hostname=host,
        port=port,
        tls_context=tls_context(mailstack),
        username=mailstack.user,
        password=mailstack.password,
        **tls,
    )
    found = await wait_for_mail(mailstack, "SUBJECT", mark, secure=True)
    assert [m["Message-ID"] for m in found] == [message["Message-ID"]]


async def test_tls_certificate_is_checked(mailstack: Mailstack) -> None:
    host, port = mailstack.host_port(mailstack.smtps_url)
    with pytest.raises(aiosmtplib.SMTPConnectError) as info:
        await aiosmtplib.send(
            letter(sender="a@example.org", to="b@example.org", subject="x"),
            hostname=host,
            port=port,
            use_tls=True,
            tls_context=ssl.create_default_context(),  # the system CAs: self-signed fails
        )
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


@pytest.mark.parametrize(("domain", "code"), [("reject.test", 550), ("defer.test", 450)])
async def test_refusals_at_rcpt(mailstack: Mailstack, domain: str, code: int) -> None:
    mark = token()
    message = letter(sender="campaign@example.org", to=f"{mark}@{domain}", subject=mark)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        await send_plain(
            mailstack,
            message,
            envelope_from="campaign@example.org",
            recipients=[f"{mark}@{domain}"],
        )
    (refusal,) = info.value.recipients
    assert refusal.code == code


async def test_bounce_test_sends_a_delivery_status_notification(mailstack: Mailstack) -> None:
    mark = token()
    sender = f"bounces+{mark}@example.org"
    message = letter(sender="campaign@example.org", to=f"{mark}@bounce.test", subject=mark)
    await send_plain(mailstack, message, envelope_from=sender, recipients=[f"{mark}@bounce.test"])
    (report,) = await wait_for_mail(mailstack, "TO", sender)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert report["Auto-Submitted"] == "auto-replied"
    parts = {part.get_content_type(): part for part in report.iter_parts()}
    status = parts["message/delivery-status"]
    fields = "\n".join(str(block) for block in status.get_payload())
    assert f"Final-Recipient: rfc822; {mark}@bounce.test" in fields
    assert "Action: failed" in fields
    assert "Status: 5.1.1" in fields
    assert "Diagnostic-Code: smtp; 550 5.1.1" in fields
    returned = parts.get("text/rfc822-headers") or parts["message/rfc822"]
    assert message["Message-ID"] in returned.as_string()


async def test_vacation_test_answers_with_an_auto_reply(mailstack: Mailstack) -> None:
    mark = token()
    sender = f"replies+{mark}@example.org"
    recipient = f"{mark}@vacation.test"
    message = letter(sender="campaign@example.org", to=recipient, subject=f"Letter {mark}")
    await send_plain(mailstack, message, envelope_from=sender, recipients=[recipient])
    (reply,) = await wait_for_mail(mailstack, "TO", sender)
    assert reply["Auto-Submitted"].startswith("auto-replied")
    assert reply["In-Reply-To"] == message["Message-ID"]
    assert reply["Subject"] == "Out of office"
    assert recipient in reply["From"]


async def test_imap_refuses_a_wrong_password(mailstack: Mailstack) -> None:
    client = await imap_login(mailstack)
    await imap_close(client)
    bad = Mailstack(**{**mailstack.__dict__, "password": "wrong"})
    with pytest.raises(ImapRefused, match="AUTHENTICATIONFAILED"):
        await imap_login(bad)
