"""classify: bounces, auto-replies, complaints and person replies, on messages written for the
project (tests/fixtures/replies), plus a bounded fuzz test over parse_message + classify."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.errors import InputError
from outreach.replies import KINDS, bounces, classify, parse_message
from outreach.replies.classify import own_text, return_date

FIXTURES = Path(__file__).parent / "fixtures" / "replies"


def load(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


MACHINE = rows("machine.tsv")
PERSON = rows("person.tsv")


def test_fixture_tables_cover_the_brief() -> None:
    assert len(PERSON) >= 50
    assert {r["file"][len("person/") : len("person/") + 2] for r in PERSON} >= {
        "en", "fr", "de", "it", "es", "nl", "pl", "pt"
    }
    kinds = {r["kind"] for r in MACHINE}
    assert kinds == {"hard-bounce", "soft-bounce", "auto-reply", "complaint"}


@pytest.mark.parametrize("row", MACHINE, ids=[r["file"] for r in MACHINE])
def test_machine_messages(row: dict[str, str]) -> None:
    inbound = classify(parse_message(load(row["file"]), source=row["file"]))
    assert inbound.kind == row["kind"]
    assert inbound.failed_addresses == [a for a in row["failed"].split(",") if a]
    assert inbound.dsn_status == row["status"]
    assert inbound.return_date == row["return_date"]
    assert inbound.original_message_ids == [m for m in row["original_message_id"].split(",") if m]
    assert inbound.tokens == [t for t in row["token"].split(",") if t]
    assert inbound.source == row["file"]
    assert not inbound.opt_out_request


@pytest.mark.parametrize("row", PERSON, ids=[r["file"] for r in PERSON])
def test_person_replies_stay_replies(row: dict[str, str]) -> None:
    inbound = classify(parse_message(load(row["file"]), source=row["file"]))
    assert inbound.kind == "reply", inbound.reason
    assert inbound.opt_out_request is (row["opt_out"] == "yes")
    assert inbound.in_reply_to == [row["in_reply_to"]]
    assert inbound.tokens == [row["token"]]
    assert inbound.failed_addresses == []
    assert inbound.dsn_status == ""


def test_opt_out_words_in_the_quoted_letter_do_not_count() -> None:
    inbound = classify(parse_message(load("person/en-01.eml")))
    assert "unsubscribe" in inbound.body  # our footer, quoted back
    assert not inbound.opt_out_request


def test_past_tense_out_of_office_is_a_person() -> None:
    for name in ("person/en-03.eml", "person/fr-02.eml", "person/de-02.eml", "person/nl-02.eml"):
        assert classify(parse_message(load(name))).kind == "reply", name


REPLY_HEADERS = """From: Tom Example <tom@parliament.example.org>
To: replies+c1t5abcdefabcd@campaign.example.org
Subject: {subject}
Message-ID: <t@parliament.example.org>
Date: Tue, 10 Mar 2026 10:00:00 +0000
{extra}
"""


def person(body: str, *, subject: str = "Re: Interpol reform", extra: str = "") -> bytes:
    head = REPLY_HEADERS.format(subject=subject, extra=extra).strip("\n")
    return (head + "\n\n" + body).encode()


def test_a_person_forwarding_a_bounce_is_not_a_bounce() -> None:
    body = (
        "FYI, your letter to my colleague bounced, her address changed to a@b.example.\n\n"
        "> From: Mail Delivery Subsystem <MAILER-DAEMON@x.example>\n"
        "> Subject: Undelivered Mail Returned to Sender\n"
        "> <old@parliament.example.org>: 550 5.1.1 User unknown\n"
    )
    inbound = classify(parse_message(person(body, subject="Fwd: Undelivered Mail")))
    assert inbound.kind == "reply"


def test_present_tense_away_above_a_quoted_letter_is_a_person() -> None:
    body = (
        "I'm away until Monday, but yes, I support the caucus.\n\n"
        "On Mon, 2 Mar 2026, Coalition <campaign@campaign.example.org> wrote:\n"
        "> Dear Member,\n"
    )
    assert classify(parse_message(person(body))).kind == "reply"
    alone = classify(parse_message(person("I am out of the office until 20 March.\n")))
    assert alone.kind == "auto-reply"
    assert alone.reason == "body"
    assert alone.return_date == "2026-03-20"


def test_auto_submitted_no_is_not_an_auto_reply() -> None:
    inbound = classify(parse_message(person("Yes, count me in.", extra="Auto-Submitted: no")))
    assert inbound.kind == "reply"


def test_partial_auto_response_suppress_is_not_an_auto_reply() -> None:
    crm = classify(parse_message(person("Yes.", extra="X-Auto-Response-Suppress: OOF, AutoReply")))
    assert crm.kind == "reply"
    exchange = classify(parse_message(person("Away.", extra="X-Auto-Response-Suppress: All")))
    assert exchange.kind == "auto-reply"


def test_bulk_precedence_is_an_auto_reply() -> None:
    inbound = classify(parse_message(person("Newsletter text", extra="Precedence: bulk")))
    assert inbound.kind == "auto-reply"
    assert inbound.reason == "header precedence"


def test_mailer_notice_without_an_address_is_still_a_bounce_with_a_warning() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\nTo: bounces@campaign.example.org\n"
        b"Subject: Undeliverable: Interpol reform\nMessage-ID: <q@mx>\n\n"
        b"Your message could not be delivered.\n"
    )
    inbound = classify(parse_message(raw))
    assert inbound.kind == "hard-bounce"
    assert inbound.failed_addresses == []
    assert any("names no failed address" in w for w in inbound.warnings)


def test_a_crashing_flufl_detector_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(message: object) -> None:
        raise ValueError("detector bug")

    monkeypatch.setattr(bounces, "all_failures", boom)
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\nTo: bounces@campaign.example.org\n"
        b"Subject: failure notice\nMessage-ID: <f@mx>\n\n"
        b"<gone@parliament.example.org>: 550 5.1.1 no such user\n"
    )
    inbound = classify(parse_message(raw))
    assert inbound.kind == "hard-bounce"
    assert inbound.failed_addresses == ["gone@parliament.example.org"]
    assert inbound.dsn_status == "5.1.1"


def test_bounce_subject_alone_needs_a_failed_address() -> None:
    notice = (
        b"From: Mail Gateway <gateway@mail.example.net>\nTo: campaign@campaign.example.org\n"
        b"Subject: Returned mail: User unknown\nMessage-ID: <g@mx>\n\n"
        b"The following addresses had permanent fatal errors:\n"
        b"<gone@parliament.example.org> 550 User unknown\n"
    )
    found = classify(parse_message(notice))
    assert found.kind == "hard-bounce"
    assert found.failed_addresses == ["gone@parliament.example.org"]
    vague = (
        b"From: Mail Gateway <gateway@mail.example.net>\nTo: campaign@campaign.example.org\n"
        b"Subject: Returned mail\nMessage-ID: <h@mx>\n\nSomething went wrong.\n"
    )
    assert classify(parse_message(vague)).kind == "reply"


def test_own_text_cuts_quotes() -> None:
    body = "Yes.\n\nOn Mon, 2 Mar 2026, Coalition <c@x.example> wrote:\n> unsubscribe\n"
    assert own_text(body).strip() == "Yes."
    assert own_text("Top\n> quoted\nbottom").splitlines() == ["Top", "bottom"]


RECEIVED = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am away until 3 December", "2026-12-03"),
        ("I am away until 3 March", "2027-03-03"),
        ("back on Monday, January 5th, 2027", "2027-01-05"),
        ("absent jusqu'au 02/12/2026", "2026-12-02"),
        ("bis zum 1. Dezember nicht im Büro", "2026-12-01"),
        ("fino al 30 novembre", "2026-11-30"),
        ("hasta el 15 de diciembre de 2026", "2026-12-15"),
        ("tot en met 7 december", "2026-12-07"),
        ("do 12.12.2026", "2026-12-12"),
        ("até 2026-12-24", "2026-12-24"),
        ("until further notice", ""),
        ("until 31.02.2026", ""),
    ],
)
def test_return_date(text: str, expected: str) -> None:
    assert return_date(text, RECEIVED) == expected


def test_classification_is_deterministic() -> None:
    raw = load("machine/bounce-postfix-dsn.eml")
    assert classify(parse_message(raw)) == classify(parse_message(raw))


SEEDS = [load(r["file"]) for r in MACHINE[:8]] + [load(r["file"]) for r in PERSON[:6]]


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """Real fixtures cut, spliced and sprinkled with junk; or raw random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    seed = draw(st.sampled_from(SEEDS))
    cut = draw(st.integers(0, len(seed)))
    junk = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [
                    b"\nContent-Type: multipart/mixed; boundary=\n",
                    b"=?utf-8?b?####?=",
                    b"\nContent-Type: text/plain; charset=x-nope\n",
                    b"\nContent-Transfer-Encoding: base64\n",
                    b"\r\n--\r\n",
                    b"\xff\xfe\x00",
                    b"\nStatus: 9.9.9\nFinal-Recipient: rfc822; @\n",
                ]
            ),
        )
    )
    return seed[:cut] + junk + seed[cut:]


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(hostile())
def test_fuzz_parse_and_classify_never_raise(raw: bytes) -> None:
    try:
        parsed = parse_message(raw, source="fuzz")
    except InputError:
        return
    inbound = classify(parsed)
    assert inbound.kind in KINDS
    assert inbound.message_id.startswith("<")
    assert inbound.message_id.endswith(">")
    assert all(isinstance(w, str) for w in inbound.warnings)
