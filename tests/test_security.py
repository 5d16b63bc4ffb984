"""Security: header injection, secrets, escaping of reply text, erasure, template sandbox.

Only what other tests do not cover already. Covered elsewhere:

* CR/LF in a contact's name, a subject, the sender's name and a Reply-To passed to the
  renderer add no header: tests/test_letters_render.py::test_crlf_in_a_name_adds_no_header,
  ::test_crlf_in_subject_and_settings_adds_no_header; template syntax and Markdown/HTML in
  contact data stay text: ::test_template_syntax_in_contact_data_is_printed_literally,
  ::test_markdown_and_html_in_contact_data_stay_text; one unsafe attribute
  (``contact.__class__.__mro__``) is refused: ::test_sandbox_refuses_unsafe_attributes.
  Arbitrary Unicode in every header field: tests/test_fuzz.py::test_fuzz_header_construction
  and ::test_fuzz_letter_headers.
* Passwords never stored, printed or in ``--json`` output, with a fake SMTP relay (AUTH
  accepted and refused) and a fake IMAP server refusing the login:
  tests/test_errors_catalogue.py::test_passwords_never_stored_printed_or_in_json; TLS
  required off loopback unless ``--insecure``, which warns:
  ::test_plain_text_off_loopback_needs_insecure_and_warns.
* The HTML report escapes everything and fetches nothing:
  tests/test_report_html.py::test_html_escapes_everything_and_fetches_nothing.
* ``contacts erase`` on rows written straight into SQLite, the file scanned:
  tests/test_contacts_cli.py::test_erase_leaves_no_trace_in_the_database_file.

Here: every user-controlled field of a real campaign (contacts, campaign name, --from,
--reply-to, the sender section, signature, follow-up subject, proof --as/--proof) through
plan and send into the capture Maildir; the secrets with the real Postfix + Dovecot and the
capture transport, and every file beside the database; reply text with Rich markup, ANSI
escapes, HTML and spreadsheet formulas in every output; erasure after a real send and a
real reply on both databases (SQLite file + WAL, every PostgreSQL row); sandbox escapes
from a copied template.
"""

from __future__ import annotations

import asyncio
import csv
import email
import importlib.util
import io
import json
import mailbox
import re
from email import policy
from email.header import decode_header, make_header
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from outreach.config import load_settings
from tests.conftest import Mailstack
from tests.helpers_errors import stored_bytes
from tests.helpers_letters import seed_workspace

EVIL = "evil.test"
SENDER_ENV = {
    "OUTREACH_SENDER_ADDRESS": "campaign@coalition.example",
    "OUTREACH_SENDER_NAME": f"Coalition\r\nBcc: s1@{EVIL}",
    "OUTREACH_SENDER_REPLY_TO": "replies@coalition.example",
    "OUTREACH_SENDER_SIGNATURE": f"The coalition\r\nBcc: s2@{EVIL}\r\n\r\nX-Evil: 1",
    "OUTREACH_SENDER_ORGANISATION": f"Coalition\r\nCc: s3@{EVIL}",
}
HOSTILE_CONTACT = {
    "email": "anna.novak@europarl.europa.eu",
    "name": f"Anna Novak\r\nBcc: n1@{EVIL}",
    "first_name": f"Anna\nBcc: n2@{EVIL}",
    "last_name": f"Novak\rCc: n3@{EVIL}",
    "honorific": "Ms\r\nX-Evil: 2",
    "role": f"Chair\u2028Bcc: n4@{EVIL}",
    "kind": "mep",
    "organisation": f"European Parliament\x00\r\nBcc: n5@{EVIL}",
    "country": "SI",
    "language": "en",
    "committees": ["DROI"],
}
#: pacing that lets `send --once` send every letter at once
FAST = ("--rate", "6000/min", "--per-domain", "36000/h")
CAPTURED = ["Return-Path", "Delivered-To", "Date", "From", "To", "Subject", "Message-ID"]
MIME = ["MIME-Version", "Content-Language", "Content-Type"]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def one_line_error(result: Any, start: str = "error: ") -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith(start), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def captured(workspace: Path) -> list[bytes]:
    box = mailbox.Maildir(workspace / "outbox", create=False)
    return [box.get_bytes(key) for key in sorted(box.keys())]


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def assert_headers(raw: bytes, expected: list[str]) -> email.message.Message:
    """Exactly ``expected`` headers, lines within 998 octets, no address at the evil domain."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert all(len(line) <= 998 for line in head.splitlines())
    parsed = email.message_from_bytes(raw, policy=policy.compat32)
    assert parsed.keys() == expected, parsed.keys()
    for name in ("From", "To", "Reply-To"):
        for value in parsed.get_all(name) or []:
            pairs = getaddresses([unfold(value)])
            assert len(pairs) == 1, (name, value)
            assert EVIL not in pairs[0][1], (name, value)
    strict = email.message_from_bytes(raw, policy=policy.default)
    assert strict.keys() == expected
    return parsed


# --- header injection through every field -----------------------------------------------


def _local_letter(cli: Any, workspace: Path) -> None:
    ok(cli("templates", "copy", "mep"))
    subject = workspace / "templates" / "mep" / "en" / "subject.txt"
    subject.write_text("{{ campaign.name }}: {{ contact.name }}, {{ contact.organisation }}, "
                       "{{ contact.honorific }} {{ sender.name }} {{ sender.organisation }}\n",
                       encoding="utf-8")


@pytest.mark.sqlite_only
def test_no_header_injection_through_any_field(cli: Any, workspace: Path) -> None:
    seed_workspace(workspace, [HOSTILE_CONTACT])

    def run(*args: str) -> Any:
        return cli(*args, env=SENDER_ENV)

    _local_letter(cli, workspace)
    # an address given on the command line must be one address
    for option in ("--from", "--reply-to"):
        refused = run("campaign", "create", "x", "--template", "mep", "--ask", "caucus",
                      option, f"campaign@coalition.example\r\nBcc: c@{EVIL}")
        one_line_error(refused, f"error: {option}: ")
    refused = run("campaign", "create", "x", "--template", "mep", "--ask", "caucus",
                  "--from", f"campaign@coalition.example>, c@{EVIL}")
    one_line_error(refused, "error: --from: ")
    name = f"Reform\r\nBcc: c1@{EVIL}"
    ok(run("campaign", "create", name, "--template", "mep", "--ask", "caucus",
           "--reply-to", "team@coalition.example"))
    ok(run("campaign", "plan", name, *FAST))
    ok(run("campaign", "send", name, "--yes", "--once"))
    (letter,) = captured(workspace)
    parsed = assert_headers(letter, [*CAPTURED, "Reply-To", *MIME])
    subject = str(make_header(decode_header(unfold(parsed["Subject"]))))
    assert subject.startswith(f"Reform Bcc: c1@{EVIL}: Anna Novak Bcc: n1@{EVIL}")
    assert getaddresses([parsed["To"]])[0][1] == "anna.novak@europarl.europa.eu"
    assert getaddresses([parsed["Reply-To"]])[0][1] == "team@coalition.example"
    body = email.message_from_bytes(letter, policy=policy.default)
    text = body.get_body(("plain",))
    assert text is not None
    assert "X-Evil: 1" in str(text.get_content())  # the signature stays in the body

    # the follow-up's subject quotes the first letter's
    follow = run("campaign", "follow-up", name, "--after", "0d", "--template", "follow-up",
                 "--name", "again")
    ok(follow)
    ok(run("campaign", "plan", "again", *FAST))
    ok(run("campaign", "send", "again", "--yes", "--once"))
    letters = captured(workspace)
    assert len(letters) == 2
    second = next(m for m in letters if m != letter)
    parsed = assert_headers(second, [*CAPTURED, "Reply-To", "In-Reply-To", "References", *MIME])
    assert str(make_header(decode_header(unfold(parsed["Subject"])))).startswith("Re: Reform")

    # a proof: the address must be one address, --as finds a contact or says it cannot
    refused = run("campaign", "send", name, "--proof", f"me@coalition.example\r\nBcc: p@{EVIL}")
    one_line_error(refused, "error: --proof: ")
    refused = run("campaign", "send", name, "--proof", "me@coalition.example",
                  "--as", f"anna.novak@europarl.europa.eu\r\nBcc: q@{EVIL}")
    one_line_error(refused)
    ok(run("campaign", "send", name, "--proof", "me@coalition.example",
           "--as", "anna.novak@europarl.europa.eu"))
    proof = [m for m in captured(workspace) if b"X-Outreach-Proof" in m]
    assert len(proof) == 1
    parsed = assert_headers(proof[0], ["Return-Path", "Delivered-To", "Date",
                                       "X-Outreach-Proof", "From", "To", "Subject",
                                       "Message-ID", "Reply-To", *MIME])
    assert parsed["To"] == "me@coalition.example"


# --- secrets -----------------------------------------------------------------------------

SMTP_SECRET = "smtp-secret-marker-7Qz1"
IMAP_SECRET = "imap-secret-marker-9Kx4"


def _scan_for_secrets(workspace: Path, outputs: list[str]) -> None:
    url = load_settings(workspace / "outreach.toml").database_url
    data = stored_bytes(url, workspace)
    files = [p.name for p in workspace.rglob("*") if p.is_file()]
    for marker in (SMTP_SECRET, IMAP_SECRET):
        assert marker.encode() not in data, (marker, files)
        assert not [out for out in outputs if marker in out], marker


def test_secrets_with_the_capture_transport(cli: Any, workspace: Path) -> None:
    env = {**SENDER_ENV, "OUTREACH_SENDER_NAME": "Coalition",
           "OUTREACH_SMTP_PASSWORD": SMTP_SECRET, "OUTREACH_IMAP_PASSWORD": IMAP_SECRET}
    outputs: list[str] = []

    def run(*args: str, code: int = 0) -> None:
        result = cli(*args, env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)

    run("init", "--dir", str(workspace / "second"), "--non-interactive",
        "--relay", "smtp://campaign@127.0.0.1:2525", "--mailbox",
        "imap://campaign@127.0.0.1:1143/INBOX")
    seed_workspace(workspace)
    run("campaign", "create", "c1", "--template", "mep", "--ask", "caucus", "--where",
        "kind=mep", "--json")
    run("campaign", "plan", "c1", "--json", *FAST)
    run("campaign", "send", "c1", "--yes", "--once", "--json")
    run("campaign", "status", "c1", "--json")
    run("contacts", "list", "--json")
    run("report", "--format", "json")
    if importlib.util.find_spec("outreach.cli.doctor") is not None:
        result = cli("doctor", env=env)
        outputs.append(result.stdout + result.stderr)
    assert any('"sent": 1' in out or '"sent":1' in out for out in outputs), outputs
    _scan_for_secrets(workspace, outputs)


def test_secrets_with_real_servers_refusing_them(cli: Any, workspace: Path,
                                                 mailstack: Mailstack) -> None:
    """Postfix refuses the SMTP password, Dovecot the IMAP one: neither appears anywhere."""
    host, port = mailstack.host_port(mailstack.submission_url)
    ihost, iport = mailstack.host_port(mailstack.imap_url)
    env = {**SENDER_ENV, "OUTREACH_SENDER_NAME": "Coalition",
           "OUTREACH_SMTP_URL": f"smtp+starttls://{mailstack.user}@{host}:{port}",
           "OUTREACH_SMTP_CA_FILE": str(mailstack.tls_cert),
           "OUTREACH_IMAP_URL": f"imap://{mailstack.user}@{ihost}:{iport}/INBOX",
           "OUTREACH_SMTP_PASSWORD": SMTP_SECRET, "OUTREACH_IMAP_PASSWORD": IMAP_SECRET}
    outputs: list[str] = []

    def run(*args: str, code: int) -> str:
        result = cli(*args, env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)
        return str(result.stderr)

    seed_workspace(workspace)
    run("campaign", "create", "c1", "--template", "mep", "--ask", "caucus", "--where",
        "kind=mep", code=0)
    run("campaign", "plan", "c1", "--json", *FAST, code=0)
    err = run("campaign", "send", "c1", "--proof", "me@example.org", "--insecure", code=1)
    assert f"{host}:{port}" in err
    run("campaign", "send", "c1", "--yes", "--once", "--json", "--insecure", code=1)
    err = run("replies", "fetch", "--json", "--insecure", code=1)
    assert f"{ihost}:{iport}" in err
    run("campaign", "status", "c1", "--json", code=0)
    _scan_for_secrets(workspace, outputs)


# --- reply text in every output ----------------------------------------------------------

MARKUP = "[bold red]loud[/] [link=https://evil.test]click[/link]"
ANSI = "\x1b[2J\x1b[31m"
HTML = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("https://evil.test","x")'


def _reply_eml(to_message_id: str) -> bytes:
    return (
        f'From: "{MARKUP}" <anna.novak@europarl.europa.eu>\r\n'
        f"To: replies@coalition.example\r\n"
        f"Subject: {FORMULA} {MARKUP} {HTML}\r\n"
        f"Message-ID: <reply-1@europarl.europa.eu>\r\n"
        f"In-Reply-To: {to_message_id}\r\n"
        f"Date: Mon, 30 Nov 2026 10:00:00 +0100\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{ANSI}We support the caucus. {MARKUP}\r\n{HTML}\r\n{FORMULA}\r\n+1 -1 @SUM(A1)\r\n"
    ).encode()


def _no_escape(text: str, where: str) -> None:
    assert "\x1b" not in text, where
    assert "\x9b" not in text, where  # the 8-bit CSI


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.sqlite_only
def test_reply_text_is_shown_literally_everywhere(cli: Any, workspace: Path) -> None:
    hostile = {**HOSTILE_CONTACT, "name": f"{FORMULA} {MARKUP}", "first_name": "Anna",
               "last_name": "Novak", "honorific": "Ms", "organisation": f"@SUM(A1) {HTML}",
               "role": "-2+3"}
    seed_workspace(workspace, [hostile])
    env = {**SENDER_ENV, "OUTREACH_SENDER_NAME": "Coalition"}
    ok(cli("campaign", "create", "c1", "--template", "mep", "--ask", "caucus", env=env))
    ok(cli("campaign", "plan", "c1", *FAST, env=env))
    ok(cli("campaign", "send", "c1", "--yes", "--once", env=env))
    (letter,) = captured(workspace)
    mid = email.message_from_bytes(letter)["Message-ID"]
    (workspace / "reply.eml").write_bytes(_reply_eml(mid))
    ok(cli("replies", "import", str(workspace / "reply.eml")))

    outputs: dict[str, str] = {}
    for label, args in {
        "replies list": ("replies", "list"),
        "replies show": ("replies", "show", "1"),
        "replies review": ("replies", "review", "--no-interactive"),
        "contacts show": ("contacts", "show", "anna.novak@europarl.europa.eu"),
        "contacts list": ("contacts", "list"),
        "report table": ("report", "--limit", "0"),
    }.items():
        result = ok(cli(*args, env={"COLUMNS": "400"}))
        outputs[label] = result.stdout + result.stderr
        _no_escape(outputs[label], label)
    # Rich markup is printed as written, never interpreted (the brackets survive)
    assert "[bold red]loud[/]" in outputs["replies show"]
    assert "[link=https://evil.test]" in outputs["replies show"]
    assert "We support the caucus." in outputs["replies show"]
    assert "[bold red]loud[/]" in outputs["replies list"]
    assert "[bold red]loud[/]" in outputs["contacts show"]
    assert "[bold red]loud[/]" in outputs["contacts list"]
    # --json: the text is data (JSON-escaped control characters, nothing interpreted)
    for args in (("replies", "list", "--json"), ("replies", "show", "1", "--json"),
                 ("replies", "review", "--json"), ("contacts", "show",
                                                    "anna.novak@europarl.europa.eu", "--json"),
                 ("report", "--json")):
        result = ok(cli(*args))
        _no_escape(result.stdout, " ".join(args))
        json.loads(result.stdout)
    # CSV: no cell a spreadsheet would run as a formula
    report_csv = ok(cli("report", "--format", "csv", "--limit", "0")).stdout
    export = workspace / "export.csv"
    ok(cli("contacts", "export", str(export)))
    for label, text in (("report csv", report_csv),
                        ("contacts export", export.read_text(encoding="utf-8"))):
        _no_escape(text, label)
        cells = _csv_cells(text)
        assert cells, label
        dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert not dangerous, (label, dangerous)
    assert f"'{FORMULA} {MARKUP}" in _csv_cells(export.read_text(encoding="utf-8"))
    # the exported file imports back to the same name (the guard quote is taken off)
    ok(cli("contacts", "import", str(export)))
    shown = json.loads(ok(cli("contacts", "show", "anna.novak@europarl.europa.eu",
                              "--json")).stdout)
    assert shown["name"] == f"{FORMULA} {MARKUP}"
    assert shown["organisation"] == f"@SUM(A1) {HTML}"
    # HTML report: the markup is escaped text
    page = workspace / "report.html"
    ok(cli("report", "--format", "html", "--out", str(page)))
    html = page.read_text(encoding="utf-8")
    _no_escape(html, "report html")
    assert "<script>alert" not in html


# --- erase: no trace in any table or free page -------------------------------------------

PHRASE = "Kindly remember our meeting in Strasbourg"


def _database_text(url: str, workspace: Path) -> bytes:
    """The SQLite file and its -wal/-shm as raw bytes, or every PostgreSQL row as text."""
    if url.startswith("sqlite://"):
        return b"\n".join(p.read_bytes() for p in sorted(workspace.glob("outreach.db*"))
                          if p.is_file())

    async def rows() -> str:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
        try:
            names = [r[0] for r in await connection.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public'")]
            found = [repr(tuple(r)) for n in names
                     for r in await connection.fetch(f'SELECT * FROM "{n}"')]
            return "\n".join(found)
        finally:
            await connection.close()

    return asyncio.run(rows()).encode()


def test_erase_after_a_real_letter_and_reply(cli: Any, workspace: Path) -> None:
    person = {**HOSTILE_CONTACT, "name": "Zofia Wiśniewska", "first_name": "Zofia",
              "last_name": "Wiśniewska", "honorific": "Ms", "organisation": "Parliament",
              "role": "Member", "email": "zofia.wisniewska@europarl.europa.eu"}
    other = {**person, "name": "Jan Kowalski", "first_name": "Jan", "last_name": "Kowalski",
             "email": "jan.kowalski@europarl.europa.eu"}
    seed_workspace(workspace, [person, other])
    env = {**SENDER_ENV, "OUTREACH_SENDER_NAME": "Coalition"}
    ok(cli("campaign", "create", "c1", "--template", "mep", "--ask", "caucus", env=env))
    ok(cli("campaign", "plan", "c1", *FAST, env=env))
    ok(cli("campaign", "send", "c1", "--yes", "--once", env=env))
    letters = captured(workspace)
    assert len(letters) == 2
    mid = next(email.message_from_bytes(m)["Message-ID"] for m in letters
               if b"zofia.wisniewska@" in m)
    reply = (f"From: Zofia Wisniewska <zofia.wisniewska@europarl.europa.eu>\r\n"
             f"To: replies@coalition.example\r\nSubject: Re: Interpol\r\n"
             f"Message-ID: <r-zofia@europarl.europa.eu>\r\nIn-Reply-To: {mid}\r\n"
             f"Date: Mon, 30 Nov 2026 10:00:00 +0100\r\n\r\n{PHRASE}, Zofia\r\n").encode()
    (workspace / "reply.eml").write_bytes(reply)
    ok(cli("replies", "import", str(workspace / "reply.eml")))
    (workspace / "reply.eml").unlink()
    ok(cli("contacts", "tag", "friendly", "zofia.wisniewska@europarl.europa.eu"))
    url = load_settings(workspace / "outreach.toml").database_url
    before = _database_text(url, workspace).lower()
    assert b"zofia.wisniewska@europarl.europa.eu" in before  # the scan sees the data
    ok(cli("contacts", "erase", "zofia.wisniewska@europarl.europa.eu", "--yes"))
    after = _database_text(url, workspace).lower()
    for needle in ("zofia.wisniewska@europarl.europa.eu", "zofia", "wiśniewska", "wisniewska",
                   PHRASE):
        assert needle.lower().encode() not in after, needle
    assert b"jan.kowalski@europarl.europa.eu" in after  # the other person is untouched
    assert not [p.name for p in workspace.glob("outreach.db-wal") if p.stat().st_size > 0]


# --- the template sandbox ----------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request }}",
    "{{ request.application.__globals__ }}",
    "{% for x in range(10**9) %}{{ x }}{% endfor %}",
    "{{ range(10**9) | list | length }}",
    "{{ 'x' * 10**9 }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ '%s' % contact.__class__ }}",
    "{{ contact | attr('__class__') }}",
    "{{ (contact | attr('__class__')).__mro__ }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ sender.__class__.__init__.__globals__ }}",
    "{{ contact.email.format_map }}",
    "{% set x = ''.format %}{{ x('{0.__globals__}', lipsum) }}",
    "{{ [].pop.__self__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{% set f = '{:>999999999}'.format %}{{ f(1) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '%*d'|format(999999999, 1) }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ [1] * 10**9 }}",
    "{{ 'ab' * 99999 * 99999 }}",
    "{{ lipsum(10**6) }}",
    "{{ range(99999)|join(range(99999)|join) }}",
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ contact.email.format_map }}",
    "{{ ''.join }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../outreach.toml' %}",
    "{% import 'os' as os %}",
]
#: what would show that a template reached Python objects or files (an error message may
#: repeat the attribute the template asked for: that reveals nothing)
INTERNALS = ("<class", "<function", "<built-in", "<module", "<bound method", "object at 0x",
             "mappingproxy", "<frozen", "Traceback", "root:x:", "[database]", "sqlite://",
             "subprocess")


@pytest.mark.sqlite_only
@pytest.mark.timeout(60)
def test_sandbox_escapes_from_a_copied_template(cli: Any, workspace: Path) -> None:
    seed_workspace(workspace)
    ok(cli("templates", "copy", "mep"))
    body = workspace / "templates" / "mep" / "en" / "body.md"
    original = body.read_text(encoding="utf-8")
    for payload in ESCAPES:
        body.write_text("{{ salutation }}\n\n" + payload + "\n\n" + original, encoding="utf-8")
        result = cli("templates", "preview", "mep", "--to", "anna.novak@europarl.europa.eu")
        output = result.stdout + result.stderr
        for word in INTERNALS:
            assert word not in output, (payload, word, output[:500])
        if result.exit_code != 0:
            assert result.exit_code == 1, (payload, output)
            assert result.stderr.count("\n") == 1, (payload, result.stderr)
            assert result.stderr.startswith("error: mep/en/body.md:3: "), (payload, output)
