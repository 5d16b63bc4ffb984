"""A campaign end to end through real mail servers (tests/servers/mailstack.sh).

The workspace is set up as a campaigner would: ``outreach.toml`` names the submission
port (STARTTLS + AUTH, or implicit TLS), the mailbox (IMAP with STARTTLS, or IMAPS), the
harness's CA file for both, a sender at example.org with plus-addressed bounces; the
passwords come from ``OUTREACH_SMTP_PASSWORD`` / ``OUTREACH_IMAP_PASSWORD``. Six targets
are imported from a CSV file and written to through the CLI:

=====================  ==========================================================
two MEPs               europarl.test: delivered, no answer
a ministry             example.org: delivered, no answer
bounce.test            accepted by Postfix, refused downstream: a real RFC 3464 DSN
vacation.test          delivered: a Sieve vacation rule sends a real auto-reply
reject.test            refused at RCPT with 550 5.1.1: failed at once
=====================  ==========================================================

Then ``replies fetch`` over IMAP, and ``campaign status``, ``contacts show`` and
``report`` must tell exactly that story; the letters as Postfix delivered them must score
at most 0.5 with SpamAssassin.

The SQLite run goes through the STARTTLS ports, the PostgreSQL run through the TLS ones.
Every address carries a token unique to the run, because all tests share one INBOX.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import email_validator
import pytest
from conftest import Cli, Mailstack, require_server
from helpers_mailstack import (
    delete_folder,
    file_into_folder,
    parse,
    token,
    update_config,
    wait_for_mail,
    wait_for_raw_mail,
)

from outreach.contacts import fields

pytestmark = [pytest.mark.spamassassin, pytest.mark.slow]

CAMPAIGN = "interpol-reform"
SPAM_LIMIT = 0.5
_SPAM_STATUS = re.compile(r"^X-Spam-Status: \w+, score=(-?\d+(?:\.\d+)?)", re.MULTILINE)


@pytest.fixture
def test_domains(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let the importer accept the harness's ``.test`` domains.

    They are reserved (RFC 6761), so email-validator refuses them, as it should for a
    campaigner; its documented ``TEST_ENVIRONMENT`` switch allows them for this test only.
    The importer caches its verdict per domain, so the cache is emptied on both sides.
    """
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    fields._domain.cache_clear()
    yield
    fields._domain.cache_clear()


def _ok(result, what: str) -> str:
    assert result.exit_code == 0, f"{what}: {result.stderr}"
    return str(result.stdout)


def _json(cli: Cli, *args: str) -> dict:
    return json.loads(_ok(cli(*args), " ".join(args)))


def _table_rows(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of one ``== heading ==`` table of ``report``'s table output."""
    lines = text.split(f"== {heading} ==\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True))
            for line in lines[1:]]


def _spam_score(message: bytes, home: Path) -> tuple[float, str]:
    """SpamAssassin's score with its local rules. ``ALL_TRUSTED`` is zeroed: every
    message here crossed loopback only, which would earn each letter a point off."""
    proc = subprocess.run(
        ["spamassassin", "-L", "-t", "--cf=score ALL_TRUSTED 0"], input=message,
        capture_output=True, timeout=120, env={**os.environ, "HOME": str(home)}, check=False,
    )
    output = proc.stdout.decode("utf-8", "replace")
    found = _SPAM_STATUS.search(output)
    assert found, f"no X-Spam-Status in spamassassin output: {proc.stderr[-500:]!r}"
    return float(found.group(1)), output.split("Content analysis details:", 1)[-1][:2000]


def _configure(workspace: Path, stack: Mailstack, mark: str, folder: str, *,
               secure: bool) -> None:
    smtp = stack.smtps_url if secure else stack.submission_url
    imap = urlsplit(stack.imaps_url if secure else stack.imap_url)._replace(
        path="/" + folder).geturl()
    update_config(workspace / "outreach.toml", {
        "general": {"campaigner": "End-to-end test"},
        "sender": {"name": "Interpol Reform Coalition",
                   "address": f"campaign-{mark}@example.org", "plus_addressing": True},
        "smtp": {"url": smtp, "ca_file": str(stack.tls_cert)},
        "imap": {"url": imap, "ca_file": str(stack.tls_cert), "processed": "flag"},
        "pacing": {"rate_per_minute": 600, "per_domain_per_hour": 3600},
    })


def _targets(workspace: Path, mark: str) -> dict[str, str]:
    """Write the contacts CSV; role → address."""
    rows = [
        ("mep1", f"berg-{mark}@europarl.test", "Anna Berg", "mep", "SE", "de"),
        ("mep2", f"dupont-{mark}@europarl.test", "Paul Dupont", "mep", "FR", "fr"),
        ("ministry", f"justice-{mark}@example.org", "Office of the Minister of Justice",
         "ministry", "NL", "en"),
        ("bounce", f"novak-{mark}@bounce.test", "Jan Novak", "mep", "CZ", "en"),
        ("vacation", f"rossi-{mark}@vacation.test", "Maria Rossi", "mep", "IT", "it"),
        ("reject", f"nordmann-{mark}@reject.test", "Ola Nordmann", "mep", "DK", "en"),
    ]
    with open(workspace / "targets.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name", "first_name", "last_name", "role", "kind",
                      "organisation", "country", "language"])
        for _, address, name, kind, country, language in rows:
            first, _, last = name.partition(" ") if kind == "mep" else ("", "", "")
            organisation = "European Parliament" if kind == "mep" else "Ministry of Justice"
            role = "Member of the European Parliament" if kind == "mep" else ""
            out.writerow([address, name, first, last, role, kind, organisation, country,
                          language])
    return {role: address for role, address, *_ in rows}


def _story(profile: dict) -> list[tuple[str, str]]:
    """A contact's letters and replies, in timeline order: (kind, letter state or '')."""
    return [(e["kind"], e["details"].get("state", "")) for e in profile["timeline"]
            if e["kind"] == "letter" or e["kind"].startswith("reply.")]


def test_campaign_through_postfix_and_dovecot(
    cli: Cli, workspace: Path, backend: str, mailstack: Mailstack, test_domains: None,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    mark = token()
    folder = f"outreach-{mark}"
    _configure(workspace, mailstack, mark, folder, secure=backend == "postgres")
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", mailstack.password)
    monkeypatch.setenv("OUTREACH_IMAP_PASSWORD", mailstack.password)
    to = _targets(workspace, mark)

    imported = _json(cli, "contacts", "import", "targets.csv", "--json")
    assert (imported["created"], imported["rejected"]) == (6, []), imported
    _ok(cli("campaign", "create", CAMPAIGN, "--template", "mep", "--ask", "caucus",
            "--ask", "risk-assessment", "--ask", "funding"), "campaign create")
    assert _json(cli, "campaign", "plan", CAMPAIGN, "--json")["added"] == 6

    # the relay's certificate is checked against [smtp] ca_file: a wrong one stops the
    # send before anything changes
    missing = workspace / "no-such-ca.pem"
    refused = cli("campaign", "send", CAMPAIGN, "--yes", "--once",
                  env={"OUTREACH_SMTP_CA_FILE": str(missing)})
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: [smtp] ca_file: CA file not found: {missing}")
    assert refused.stderr.count("\n") == 1
    before = _json(cli, "campaign", "status", CAMPAIGN, "--json")
    assert (before["state"], before["counts"]["planned"]) == ("planned", 6)

    sent = _json(cli, "campaign", "send", CAMPAIGN, "--yes", "--once", "--json")
    assert sent["this_run"]["sent"] == 5, sent
    assert sent["this_run"]["failed"] == 1, sent
    status = _json(cli, "campaign", "status", CAMPAIGN, "--json")
    assert status["state"] == "done"
    assert status["counts"] == {"planned": 0, "sending": 0, "sent": 5, "deferred": 0,
                                "failed": 1, "unknown": 0, "skipped": 0}
    assert status["total"] == 6

    # what comes back: the DSN for bounce.test and the auto-reply from vacation.test, both
    # to the plus-addressed envelope sender campaign-MARK+TOKEN@example.org
    back = asyncio.run(wait_for_mail(mailstack, "TO", f"campaign-{mark}", count=2,
                                     timeout=60))
    assert sorted(m.get_content_type() for m in back) == ["multipart/report", "text/plain"]
    assert all(m["Auto-Submitted"].startswith("auto-replied") for m in back)
    assert asyncio.run(file_into_folder(mailstack, folder, "TO", f"campaign-{mark}")) == 2
    try:
        first = _json(cli, "replies", "fetch", "--json")
        second = _json(cli, "replies", "fetch", "--json")
    finally:
        asyncio.run(delete_folder(mailstack, folder))
    assert first["folders"] == [folder]
    assert (first["fetched"], first["new"], first["duplicates"]) == (2, 2, 0), first
    assert first["kinds"] == {"auto-reply": 1, "hard-bounce": 1}
    assert (first["unmatched"], first["suppressed"], first["errors"]) == (0, 1, [])
    assert (second["fetched"], second["new"], second["duplicates"]) == (0, 0, 0), second

    # each target's story
    profiles = {role: _json(cli, "contacts", "show", address, "--json")
                for role, address in to.items()}
    for role in ("mep1", "mep2", "ministry"):
        assert _story(profiles[role]) == [("letter", "sent")], role
        assert (profiles[role]["status"], profiles[role]["suppressed"]) == ("active", False)
    bounce = profiles["bounce"]
    assert _story(bounce) == [("letter", "sent"), ("reply.hard-bounce", "")]
    assert (bounce["status"], bounce["suppressed"]) == ("hard-bounce", True)
    dsn = next(e for e in bounce["timeline"] if e["kind"] == "reply.hard-bounce")
    assert f"for {to['bounce']} (5.1.1)" in dsn["summary"]
    vacation = profiles["vacation"]
    assert _story(vacation) == [("letter", "sent"), ("reply.auto-reply", "")]
    assert (vacation["status"], vacation["suppressed"]) == ("active", False)
    reject = profiles["reject"]
    assert _story(reject) == [("letter", "failed")]
    (refusal,) = [e["summary"] for e in reject["timeline"] if e["kind"] == "letter"]
    assert "refused by the relay: 550 5.1.1" in refusal
    assert f"<{to['reject']}>: Recipient address rejected: user unknown" in refusal
    assert reject["suppressed"] is True, reject  # 5.1.1 at RCPT: the address does not exist

    # the report: a refusal at the door counts as sent and bounced; an auto-reply is not
    # a response
    report = _json(cli, "report", CAMPAIGN, "--format", "json")
    expected = {"targeted": 6, "sent": 6, "bounced": 2, "auto_replied": 1, "replied": 0}
    assert report["letters"] == {**expected, "response_rate": 0.0,
                                 "median_hours_to_first_reply": None}
    assert report["funnel"] == [{"ask": ask, **expected, "supports": 0}
                                for ask in ("caucus", "risk-assessment", "funding")]
    by_target = {row["email"]: row for row in report["responsiveness"]}
    assert {a: (r["sent"], r["bounced"], r["auto_replied"], r["replied"])
            for a, r in by_target.items()} == {
        to["mep1"]: (1, 0, 0, 0), to["mep2"]: (1, 0, 0, 0), to["ministry"]: (1, 0, 0, 0),
        to["bounce"]: (1, 1, 0, 0), to["vacation"]: (1, 0, 1, 0), to["reject"]: (1, 1, 0, 0)}
    table = _ok(cli("report", CAMPAIGN), "report")
    assert _table_rows(table, "All letters") == [{
        "targeted": "6", "sent": "6", "bounced": "2", "auto replied": "1", "replied": "0",
        "response rate": "0.0%", "median hours to first reply": "-"}]
    funnel = _table_rows(table, "Funnel per ask")
    assert [(r["ask"], r["sent"], r["bounced"], r["auto replied"], r["replied"])
            for r in funnel] == [(ask, "6", "2", "1", "0")
                                 for ask in ("caucus", "risk-assessment", "funding")]

    # the letters as Postfix delivered them: each exactly once, and not spam
    letters = {e["details"]["message_id"]: role for role, p in profiles.items()
               for e in p["timeline"] if e["kind"] == "letter" and role != "reject"}
    raw = asyncio.run(wait_for_raw_mail(mailstack, "FROM", f"campaign-{mark}", count=4))
    delivered = [parse(message) for message in raw]
    assert all(m["Delivered-To"] for m in delivered)
    assert sorted(m["Message-ID"] for m in delivered) == sorted(
        mid for mid, role in letters.items() if role != "bounce")
    require_server(shutil.which("spamassassin") is not None, "spamassassin",
                   "apt-get install spamassassin")
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = list(pool.map(lambda message: _spam_score(message, tmp_path), raw))
    too_high = [f"{letters[m['Message-ID']]}: {score}\n{details}"
                for m, (score, details) in zip(delivered, scores, strict=True)
                if score > SPAM_LIMIT]
    assert not too_high, "\n".join(too_high)
