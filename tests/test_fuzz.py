"""Fixed-seed fuzzing against a time budget: importers, replies, header construction.

Each target draws examples from a hypothesis strategy with ``@seed(0)``, ``@seed(1)``, …
(generation only, no example database), so a run is the same sequence of inputs every
time; the budget only decides how far along that sequence it gets. The budget is
``OUTREACH_FUZZ_SECONDS`` (default 60, split between the targets by ``SHARES``); run
longer with e.g. ``OUTREACH_FUZZ_SECONDS=1800 pytest -m fuzz``. A failure names the seed
and the input.

What must hold:

* importers (CSV, JSON, EP XML, EP JSON-LD), from arbitrary bytes and from well-formed
  files with hostile values: a ``ReadResult`` or an ``OutreachError``, nothing else; each
  row read is either refused with a reason (``ValueError`` from ``normalise_values``, a
  string) or normalised; the whole import on SQLite also only fails with an
  ``OutreachError``;
* the reply parser and classifier, from arbitrary bytes and from mutated delivery reports
  and auto-replies built here: ``InputError`` or a classified message;
* header construction (``mime.build`` and a letter rendered from hostile contact, sender
  and campaign values): the message parses back with the standard library into exactly
  the intended headers, each decoding to the intended value, no line over 998 octets.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from outreach import ids
from outreach.config import Sender, Settings
from outreach.contacts.csvjson import read_csv, read_json
from outreach.contacts.europarl import read_ep_json, read_ep_xml
from outreach.contacts.record import normalise_values
from outreach.contacts.rows import ReadResult
from outreach.contacts.store import import_files
from outreach.errors import InputError, OutreachError
from outreach.letters import Library, mime
from outreach.replies import KINDS, classify, parse_message
from outreach.resources import shipped_templates
from tests.helpers_letters import sample

pytestmark = pytest.mark.fuzz

T = TypeVar("T")

TOTAL_SECONDS = float(os.environ.get("OUTREACH_FUZZ_SECONDS", "60"))
#: each target's share of the budget
SHARES = {
    "csv": 0.14, "json": 0.12, "ep-xml": 0.12, "ep-json": 0.12, "import-db": 0.10,
    "replies": 0.20, "headers": 0.12, "letters": 0.08,
}
EXAMPLES_PER_SEED = 25
FIXTURES = Path(__file__).parent / "fixtures"


def draw(strategy: st.SearchStrategy[T], seed_value: int, count: int) -> list[T]:
    """``count`` examples of ``strategy``, the same ones for the same seed."""
    found: list[T] = []

    @settings(database=None, max_examples=count, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(seed_value)
    @given(strategy)
    def collect(value: T) -> None:
        found.append(value)

    collect()
    return found


def budget(target: str) -> float:
    return TOTAL_SECONDS * SHARES[target]


def fuzz(strategy: st.SearchStrategy[T], check: Callable[[T], None], target: str,
         per_seed: int = EXAMPLES_PER_SEED) -> int:
    """Run ``check`` on seeded examples until the target's budget is spent; how many ran."""
    deadline = time.monotonic() + budget(target)
    runs = 0
    seed_value = 0
    while True:
        for value in draw(strategy, seed_value, per_seed):
            try:
                check(value)
            except Exception as exc:
                raise AssertionError(f"{target} seed {seed_value}: {value!r:.2000}") from exc
            runs += 1
            if time.monotonic() >= deadline:
                return runs
        seed_value += 1


# --- hostile values ------------------------------------------------------------------------

NASTY = [
    "\r\n", "\r", "\n", "\x00", "\u2028", "\u2029", "\x85", "\x1b[2J", "\t", "\x7f", "\ufeff",
    '"', "'", ",", ";", "<", ">", "@", "\\", "=?utf-8?q?x?=", "=?", "?=", "{{ 7*7 }}",
    "{% raw %}", "=HYPERLINK(\"http://evil\")", "+1", "-1", "@SUM(A1)", "Bcc: x@evil.test",
    "\r\nBcc: x@evil.test", "\nX-Evil: 1", "Zoë", "Ελλάδα", "日本語", "🙂", "\U0001f3f3\ufe0f",
    "a\u0301", "\ud7ff", "&amp;", "<script>x()</script>", "]]>", "&lt;", "x" * 300,
]


def hostile_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Any Unicode, the characters that break headers and files, very long runs."""
    piece = st.one_of(
        st.text(max_size=40),
        st.sampled_from(NASTY),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
        st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", " ", "\n", "a b "]),
                  st.integers(0, 1200)),
    )
    return st.lists(piece, max_size=6).map("".join).map(lambda s: s[: max_size * 10])


COLUMNS = ["email", "name", "first_name", "last_name", "honorific", "role", "kind",
           "organisation", "country", "language", "political_group", "national_party",
           "committees", "tags", "ep_id", "notes", "suppressed", "E-Mail", "Name", "unknown",
           "", " email ", "EMAIL"]


def cell() -> st.SearchStrategy[str]:
    return st.one_of(
        hostile_text(60),
        st.sampled_from(["a@example.org", "A@EXAMPLE.ORG", "x@y", "@", "mep", "ministry",
                         "DE", "de", "zz", "DROI; LIBE", "123456", "yes", "opt-out", ""]),
        st.emails().map(str),
    )


def encode(text: str, how: str) -> bytes:
    if how == "utf-8-sig":
        return text.encode("utf-8-sig")
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "latin-1":
        return text.encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass")


#: files at the edges: blank, separators only, a header and nothing else, quotes unclosed
EDGE_CSV = [b"", b"\n", b",,,\n", b'""\n', b" ,\t\n", b";;\r\n;;", b"\xef\xbb\xbf", b"email\n",
            b"email,name\n,\n", b'email\n"a@example.org', b"email\n\x00", b"\x00\x00\x00",
            b"email,email\na@example.org,b@example.org\n", b"name\nx\n", b"\r\r\r"]


@st.composite
def csv_files(draw_: st.DrawFn) -> bytes:
    choice = draw_(st.integers(0, 6))
    if choice == 0:
        return draw_(st.binary(max_size=3000))
    if choice == 1:
        return draw_(st.sampled_from(EDGE_CSV))
    headers = draw_(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8))
    delimiter = draw_(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw_(st.lists(st.lists(cell(), max_size=len(headers) + 2), max_size=12))

    def quote(value: str) -> str:
        if draw_(st.booleans()):
            return '"' + value.replace('"', '""') + '"'
        return value  # sometimes unquoted: embedded delimiters and newlines break the row

    lines = [delimiter.join(headers)] + [delimiter.join(quote(v) for v in r) for r in rows]
    newline = draw_(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines)
    return encode(text, draw_(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])))


def json_values() -> st.SearchStrategy[Any]:
    scalar = st.one_of(st.none(), st.booleans(), st.integers(),
                       st.floats(allow_nan=False, allow_infinity=False), cell())
    return st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(COLUMNS), inner, max_size=4),
                        max_leaves=12)


@st.composite
def json_files(draw_: st.DrawFn) -> bytes:
    choice = draw_(st.integers(0, 6))
    if choice == 0:
        return draw_(st.binary(max_size=2000))
    if choice == 1:
        return json.dumps(draw_(json_values())).encode()
    if choice == 2:
        return draw_(st.sampled_from([b"", b"[]", b"{}", b"[[]]", b"[{}]", b"null", b"[null]",
                                      b'{"contacts": null}', b"[" * 5000, b'"x"', b"1e999",
                                      b'[{"email": ["a@example.org"]}]', b"\xef\xbb\xbf[]"]))
    records = draw_(st.lists(st.dictionaries(st.sampled_from(COLUMNS), json_values(),
                                             max_size=8), max_size=10))
    document: Any = records
    if draw_(st.booleans()):
        document = {draw_(st.sampled_from(["contacts", "data", "items", "x"])): records}
    text = json.dumps(document, ensure_ascii=draw_(st.booleans()), allow_nan=False)
    cut = draw_(st.integers(0, len(text)))
    if draw_(st.integers(0, 4)) == 0:
        text = text[:cut]  # truncated
    return text.encode("utf-8", "surrogatepass")


EP_TAGS = ["fullName", "country", "politicalGroup", "id", "nationalPoliticalGroup", "mep",
           "meps", "email", "x"]


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def ep_xml_files(draw_: st.DrawFn) -> bytes:
    choice = draw_(st.integers(0, 6))
    if choice == 0:
        return draw_(st.binary(max_size=2000))
    if choice == 1:  # entity tricks: defusedxml must refuse them as a file error
        return draw_(st.sampled_from([
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;'
            b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><meps><mep><fullName>&c;'
            b"</fullName><id>1</id></mep></meps>",
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<meps><mep><fullName>&x;</fullName><id>1</id></mep></meps>",
            b"<meps><mep><fullName>A</fullName><id>1</id></mep>",
            b"<meps>" + b"<mep>" * 500 + b"</meps>",
        ]))
    meps = []
    for _ in range(draw_(st.integers(0, 6))):
        fields = draw_(st.lists(st.tuples(st.sampled_from(EP_TAGS), cell()), max_size=7))
        raw = draw_(st.booleans())
        inner = "".join(
            f"<{t}>{v if raw else xml_escape(v)}</{t}>" for t, v in fields
        )
        meps.append(f"<mep>{inner}</mep>")
    text = "<meps>" + "".join(meps) + "</meps>"
    if draw_(st.booleans()):
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    if draw_(st.integers(0, 4)) == 0:
        text = text[: draw_(st.integers(0, len(text)))]
    return encode(text, draw_(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])))


EP_JSONLD = json.loads((FIXTURES / "contacts" / "ep-meps.jsonld").read_text("utf-8"))


@st.composite
def mutated_json(draw_: st.DrawFn, document: Any) -> Any:
    """``document`` with some leaves replaced by hostile values and some keys dropped."""
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            roll = draw_(st.integers(0, 12))
            if roll == 0:
                continue
            out[key] = draw_(cell()) if roll == 1 else draw_(mutated_json(value))
        return out
    if isinstance(document, list):
        items = [draw_(mutated_json(v)) for v in document]
        if items and draw_(st.integers(0, 6)) == 0:
            items = items * draw_(st.integers(2, 4))
        return items
    if draw_(st.integers(0, 3)) > 0:
        return document
    return draw_(st.one_of(cell(), st.none(), st.integers(), st.lists(cell(), max_size=2)))


@st.composite
def ep_json_files(draw_: st.DrawFn) -> bytes:
    choice = draw_(st.integers(0, 5))
    if choice == 0:
        return draw_(st.binary(max_size=2000))
    text = json.dumps(draw_(mutated_json(EP_JSONLD)), ensure_ascii=False)
    if draw_(st.integers(0, 5)) == 0:
        text = text[: draw_(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


# --- importers -------------------------------------------------------------------------------


def explained(exc: Exception) -> None:
    """An expected refusal says what is wrong, on one line."""
    text = str(exc)
    assert text
    assert "\n" not in text.rstrip("\n"), text


def check_rows(result: ReadResult) -> None:
    assert isinstance(result, ReadResult)
    for row in result.rows:
        assert row.line >= 0
        if row.error is not None:
            assert isinstance(row.error, str)
            assert row.error
            continue
        try:
            values = normalise_values(row.values)
        except ValueError as exc:  # a refused row: its reason is shown to the campaigner
            explained(exc)
            continue
        assert values.get("email") or values.get("ep_id")
        for key, value in values.items():
            if isinstance(value, str) and key not in {"notes", "role", "organisation"}:
                assert "\x00" not in value, (key, value)


def reader_check(read: Callable[[bytes], ReadResult]) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        try:
            result = read(data)
        except OutreachError as exc:
            explained(exc)
            return
        check_rows(result)

    return check


def test_fuzz_csv_reader() -> None:
    runs = fuzz(csv_files(), reader_check(lambda d: read_csv(d, file="f.csv")), "csv")
    assert runs > 0


def test_fuzz_json_reader() -> None:
    runs = fuzz(json_files(), reader_check(lambda d: read_json(d, file="f.json")), "json")
    assert runs > 0


def test_fuzz_ep_xml_reader() -> None:
    runs = fuzz(ep_xml_files(), reader_check(lambda d: read_ep_xml(d, file="f.xml")), "ep-xml")
    assert runs > 0


def test_fuzz_ep_json_reader() -> None:
    runs = fuzz(ep_json_files(),
                reader_check(lambda d: read_ep_json(d, file="f.jsonld")), "ep-json", per_seed=5)
    assert runs > 0


@pytest.mark.sqlite_only
async def test_fuzz_whole_import_on_sqlite(db: Settings, tmp_path: Path) -> None:
    """The full import (read, merge, plan, write) of hostile files: OutreachError or a report."""
    kinds = st.one_of(csv_files().map(lambda d: ("f.csv", d)),
                      json_files().map(lambda d: ("f.json", d)),
                      ep_xml_files().map(lambda d: ("f.xml", d)),
                      ep_json_files().map(lambda d: ("f.jsonld", d)))
    # one example at a time: a draw must not outlast the budget
    deadline = time.monotonic() + budget("import-db")
    runs, seed_value = 0, 0
    while time.monotonic() < deadline:
        for files in draw(st.lists(kinds, min_size=1, max_size=2), seed_value, 3):
            paths = []
            for number, (name, data) in enumerate(files):
                paths.append(tmp_path / f"{runs}-{number}-{name}")
                paths[-1].write_bytes(data)
            try:
                report = await import_files(paths, settings=db)
            except OutreachError as exc:
                explained(exc)
            except Exception as exc:
                raise AssertionError(f"import-db seed {seed_value}: {files!r:.2000}") from exc
            else:
                assert report.created + report.updated + report.unchanged >= 0
                assert all(r.reason for r in report.rejected)
            runs += 1
            if time.monotonic() >= deadline:
                break
        seed_value += 1
    assert runs > 0


# --- replies ---------------------------------------------------------------------------------

STATUSES = ["5.1.1", "5.7.1", "4.2.2", "4.4.7", "2.0.0", "9.9.9", "5.x.1", "", "5.1.1 (x)",
            "4.0.0;5.0.0", "5" * 40]
ACTIONS = ["failed", "delayed", "delivered", "relayed", "expanded", "", "FAILED", "x"]


def header_text() -> st.SearchStrategy[str]:
    return st.one_of(hostile_text(80), st.sampled_from(["", "<>", "<@>", "MAILER-DAEMON",
                                                        "postmaster@example.org"]))


@st.composite
def delivery_reports(draw_: st.DrawFn) -> bytes:
    """An RFC 3464 report of the kind Postfix writes, with every part open to damage."""
    mid = draw_(st.sampled_from(["<outreach.c1.t2.abcdef012345@example.org>", "<>", "",
                                 "<a@b>" * 30]))
    recipients = draw_(st.lists(st.tuples(st.sampled_from(
        ["rfc822; a@example.org", "rfc822;", "x-unknown; ???", "rfc822; <a@b>", "a@example.org",
         "rfc822; " + "x" * 400 + "@example.org"]), st.sampled_from(ACTIONS),
        st.sampled_from(STATUSES)), max_size=4))
    boundary = draw_(st.sampled_from(["B1", "", '"', "B1\r\nX: y", "x" * 200]))
    original = draw_(st.sampled_from(["message/rfc822", "text/rfc822-headers", "text/plain"]))
    charset = draw_(st.sampled_from(["utf-8", "us-ascii", "x-nope", "iso-8859-1", "utf-7"]))
    encoding = draw_(st.sampled_from(["7bit", "base64", "quoted-printable", "x-uue", "8bit"]))
    per_rcpt = "".join(
        f"\r\nFinal-Recipient: {r}\r\nAction: {a}\r\nStatus: {s}\r\n"
        f"Diagnostic-Code: smtp; 550 {draw_(header_text())}\r\n"
        for r, a, s in recipients
    )
    text = (
        f"From: {draw_(header_text())} <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: campaign@example.org\r\nSubject: {draw_(header_text())}\r\n"
        f"Message-ID: <dsn{draw_(st.integers(0, 10**6))}@mx.example.org>\r\n"
        f"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{draw_(hostile_text(200))}\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.org\r\n{per_rcpt}\r\n"
        f"--{boundary}\r\nContent-Type: {original}\r\n\r\n"
        f"Message-ID: {mid}\r\nSubject: {draw_(header_text())}\r\n\r\nbody\r\n--{boundary}--\r\n"
    )
    return text.encode("utf-8", "surrogatepass")


@st.composite
def auto_replies(draw_: st.DrawFn) -> bytes:
    headers = draw_(st.lists(st.sampled_from([
        "Auto-Submitted: auto-replied", "Auto-Submitted: no", "X-Autoreply: yes",
        "Precedence: bulk", "X-Auto-Response-Suppress: All", "Content-Type: text/plain; "
        "charset=utf-8", "Content-Type: text/html", "List-Id: <x.example.org>",
        "In-Reply-To: <outreach.c1.t2.abcdef012345@example.org>",
        "References: <outreach.c1.t2.abcdef012345@example.org> <x@y>",
        "Content-Transfer-Encoding: base64", "Date: Mon, 30 Nov 2026 10:00:00 +0100",
        "Date: yesterday", "Return-Path: <>", "Feedback-Type: abuse",
    ]), max_size=6))
    subject = draw_(st.sampled_from([
        "Out of office", "Abwesenheitsnotiz", "Réponse automatique", "Automatisch antwoord",
        "Re: Interpol reform", "Fuera de la oficina", "=?utf-8?q?Absence_=E2=80=93_x?=", "",
    ])) + draw_(header_text())
    body = draw_(st.sampled_from([
        "I am out of the office until 24 December 2026.", "Ich bin bis 31.12. abwesend.",
        "Je serai absent jusqu'au 2 janvier.", "Please remove me from your list.",
        "> quoted\n> text\nThanks, we support the caucus.", "",
    ])) + draw_(hostile_text(300))
    text = (f"From: {draw_(header_text())} <someone@example.org>\r\nSubject: {subject}\r\n"
            + "".join(h + "\r\n" for h in headers) + "\r\n" + body)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw_: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = draw_(base)
    for _ in range(draw_(st.integers(0, 3))):
        op = draw_(st.integers(0, 3))
        at = draw_(st.integers(0, len(data)))
        if op == 0:
            data = data[:at]
        elif op == 1:
            data = data[:at] + draw_(st.binary(max_size=50)) + data[at:]
        elif op == 2 and data:
            flip = draw_(st.integers(0, 255))
            data = data[:at] + bytes([flip]) + data[at + 1:]
        else:
            data = data[:at] + data[at:][::-1][:100]
    return data


def replies_input() -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=3000), mutated(delivery_reports()),
                     mutated(auto_replies()), delivery_reports(), auto_replies())


def check_reply(raw: bytes) -> None:
    try:
        parsed = parse_message(raw, source="fuzz")
    except InputError as exc:
        explained(exc)
        return
    inbound = classify(parsed)
    assert inbound.kind in KINDS
    assert inbound.message_id.startswith("<")
    assert inbound.message_id.endswith(">")
    assert all(isinstance(a, str) for a in inbound.failed_addresses)
    assert isinstance(inbound.body, str)


def test_fuzz_reply_parser_and_classifier() -> None:
    assert fuzz(replies_input(), check_reply, "replies") > 0


def test_built_reports_really_classify() -> None:
    """The generators above make real bounces and auto-replies, not only junk."""
    raw = (b"From: MAILER-DAEMON@mx.example.org\r\nTo: c@example.org\r\nSubject: Undelivered\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
           b' boundary="B1"\r\n\r\n--B1\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--B1\r\n'
           b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
           b"\r\nFinal-Recipient: rfc822; a@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           b"\r\n--B1--\r\n")
    inbound = classify(parse_message(raw))
    assert inbound.kind == "hard-bounce"
    assert inbound.failed_addresses == ["a@example.org"]
    assert kinds_of(delivery_reports()) & {"hard-bounce", "soft-bounce"}
    assert "auto-reply" in kinds_of(auto_replies())


def kinds_of(strategy: st.SearchStrategy[bytes]) -> set[str]:
    kinds = set()
    for raw in draw(strategy, 0, 30):
        try:
            kinds.add(classify(parse_message(raw)).kind)
        except InputError:
            continue
    return kinds


# --- header construction ---------------------------------------------------------------------

ADDRESSES = st.one_of(
    st.emails().map(str).filter(lambda a: '"' not in a and len(a) <= 254),
    st.sampled_from(["anna.novak@europarl.europa.eu", "o'brien@example.ie",
                     "a+tag@example.org", "x@xn--bcher-kva.example", "user@[127.0.0.1]"]),
)
SENT_HEADERS = ["From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Language",
                "Content-Type"]


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def decoded(value: str) -> str:
    return str(make_header(decode_header(unfold(value))))


def check_message(raw: bytes, *, expected: list[str], subject: str, to_name: str,
                  to_address: str, from_name: str, from_address: str,
                  reply_to: str | None = None) -> Message:
    """The message has exactly the intended headers, each decoding to the intended value."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert len(line) <= 998, len(line)
        assert b"\r" not in line
        assert b"\n" not in line
        assert b"\x00" not in line
    parsed = message_from_bytes(raw, policy=policy.compat32)
    assert parsed.keys() == expected
    assert not parsed.defects
    assert decoded(parsed["Subject"]) == mime.clean(subject)
    for header, name, addr in (("To", to_name, to_address), ("From", from_name, from_address)):
        pairs = getaddresses([unfold(parsed[header])])
        assert len(pairs) == 1, (header, parsed[header], pairs)
        shown, got = pairs[0]
        assert got == addr, (header, parsed[header])
        assert decoded(shown) == mime.clean(name), (header, parsed[header])
    if reply_to is not None:
        pairs = getaddresses([unfold(parsed["Reply-To"])])
        assert pairs == [("", reply_to)]
    strict = message_from_bytes(raw, policy=policy.default)
    assert strict.keys() == expected
    assert str(strict["Subject"]) == mime.clean(subject)
    return parsed


@st.composite
def header_cases(draw_: st.DrawFn) -> dict[str, Any]:
    return {
        "from_name": draw_(hostile_text()), "from_address": draw_(ADDRESSES),
        "to_name": draw_(hostile_text()), "to_address": draw_(ADDRESSES),
        "subject": draw_(hostile_text(400)), "text": draw_(hostile_text(400)),
        "reply_to": draw_(st.one_of(st.none(), ADDRESSES)),
        "campaign": draw_(st.integers(1, 10**6)), "contact": draw_(st.integers(1, 10**9)),
        "unsubscribe": draw_(st.sampled_from(["", "mailto:unsub@example.org",
                                              "https://example.org/u?x=1&y=" + "z" * 300])),
        "follow_up": draw_(st.booleans()),
    }


def check_build(case: dict[str, Any]) -> None:
    domain = case["from_address"].rpartition("@")[2]
    mid = ids.message_id("k", case["campaign"], case["contact"], domain)
    first = ids.message_id("k", case["campaign"] + 1, case["contact"], domain)
    raw = mime.build(
        from_name=case["from_name"], from_address=case["from_address"],
        to_name=case["to_name"], to_address=case["to_address"], subject=case["subject"],
        message_id=mid, text=case["text"], html="<p>x</p>", language="en",
        reply_to=case["reply_to"], in_reply_to=first if case["follow_up"] else None,
        references=[first] if case["follow_up"] else (),
        list_unsubscribe=case["unsubscribe"],
    )
    expected = ["From", "To", "Subject", "Message-ID"]
    expected += ["Reply-To"] if case["reply_to"] else []
    expected += ["In-Reply-To", "References"] if case["follow_up"] else []
    expected += ["List-Unsubscribe"] if case["unsubscribe"] else []
    expected += ["MIME-Version", "Content-Language", "Content-Type"]
    parsed = check_message(
        raw, expected=expected, subject=case["subject"], to_name=case["to_name"],
        to_address=case["to_address"], from_name=case["from_name"],
        from_address=case["from_address"], reply_to=case["reply_to"])
    assert parsed["Message-ID"] == mid
    if case["follow_up"]:
        assert parsed["In-Reply-To"] == first
        assert unfold(parsed["References"]) == first
    if case["unsubscribe"]:
        assert parsed["List-Unsubscribe"] == f"<{case['unsubscribe']}>"
    body = parsed.get_payload()
    assert isinstance(body, list)
    assert len(body) == 2


def test_fuzz_header_construction() -> None:
    assert fuzz(header_cases(), check_build, "headers") > 0


def local_library(root: Path) -> Library:
    files = {
        "demo/en/subject.txt": "{{ campaign.name }}: {{ contact.name }} / "
                               "{{ contact.organisation }}\n",
        "demo/en/body.md": "{{ salutation }}\n\n{{ contact.role }}\n\n{{ sender.signature }}\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "demo" / "letter.toml").write_text('description = "fuzz"\n')
    return Library([root, shipped_templates()])


@st.composite
def letter_cases(draw_: st.DrawFn) -> dict[str, Any]:
    return {
        "contact": {k: draw_(hostile_text()) for k in
                    ("name", "first_name", "last_name", "honorific", "organisation", "role")},
        "email": draw_(ADDRESSES),
        "sender": Sender(name=draw_(hostile_text()), address=draw_(ADDRESSES),
                         reply_to=draw_(st.one_of(st.just(""), ADDRESSES)),
                         signature=draw_(hostile_text()),
                         organisation=draw_(hostile_text())),
        "campaign": draw_(hostile_text()),
        "letter": draw_(st.sampled_from(["demo", "mep", "government"])),
    }


def test_fuzz_letter_headers(tmp_path: Path) -> None:
    """Rendered letters: hostile contact, sender and campaign values add no header."""
    library = local_library(tmp_path)
    base = Settings()

    def check(case: dict[str, Any]) -> None:
        contact = sample(email=case["email"], **case["contact"])
        sender: Sender = case["sender"]
        rendered = library.get(case["letter"]).render(
            contact, settings=replace(base, sender=sender),
            message_id="<outreach.c1.t2.abcdef012345@example.org>",
            campaign_name=case["campaign"])
        expected = ["From", "To", "Subject", "Message-ID"]
        expected += ["Reply-To"] if sender.reply_to else []
        expected += ["MIME-Version", "Content-Language", "Content-Type"]
        check_message(rendered.message, expected=expected, subject=rendered.subject,
                      to_name=contact.name, to_address=case["email"], from_name=sender.name,
                      from_address=sender.address, reply_to=sender.reply_to or None)
        if case["letter"] == "demo":
            assert mime.clean(case["campaign"]) in rendered.subject

    def guarded(case: dict[str, Any]) -> None:
        try:
            check(case)
        except OutreachError as exc:  # e.g. a salutation needs a name: one clear line
            explained(exc)

    assert fuzz(letter_cases(), guarded, "letters") > 0
