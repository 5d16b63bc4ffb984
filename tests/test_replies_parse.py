"""parse_message: decoding, robustness against hostile input, the warnings it reports."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.errors import InputError
from outreach.replies import parse, parse_message

FIXTURES = Path(__file__).parent / "fixtures" / "replies"


def msg(headers: str, body: str | bytes = "Hello.\n") -> bytes:
    raw_body = body.encode() if isinstance(body, str) else body
    return headers.strip("\n").encode("utf-8", "surrogateescape") + b"\n\n" + raw_body


PLAIN = """
From: Anna Example <Anna@Example.ORG>
To: Coalition <replies+c1t2abcdef0123@campaign.example.org>
Subject: Re: Interpol
Date: Tue, 03 Mar 2026 10:15:02 +0100
Message-ID: <abc@example.org>
In-Reply-To: <outreach.c1.t2.0123456789ab@campaign.example.org>
References: <first@x.example> <outreach.c1.t2.0123456789ab@campaign.example.org>
"""


def test_plain_message_fields() -> None:
    parsed = parse_message(msg(PLAIN, "I support it.\n"), source="inbox:1")
    assert parsed.source == "inbox:1"
    assert parsed.message_id == "<abc@example.org>"
    assert parsed.from_address == "anna@example.org"
    assert parsed.from_name == "Anna Example"
    assert parsed.subject == "Re: Interpol"
    assert parsed.received_at == datetime(2026, 3, 3, 9, 15, 2, tzinfo=UTC)
    assert parsed.in_reply_to == ["<outreach.c1.t2.0123456789ab@campaign.example.org>"]
    assert parsed.references == [
        "<first@x.example>",
        "<outreach.c1.t2.0123456789ab@campaign.example.org>",
    ]
    assert parsed.tokens == ["c1t2abcdef0123"]
    assert parsed.body == "I support it.\n"
    assert parsed.warnings == []


def test_encoded_words_and_legacy_charset_fixture() -> None:
    parsed = parse_message((FIXTURES / "person" / "pl-01.eml").read_bytes())
    assert parsed.subject.startswith("Re: Reforma Interpolu: czy przyłączy się")
    assert "Popieram utworzenie grupy" in parsed.body
    assert parsed.warnings == []


def test_html_only_reply_is_rendered_as_text_with_quotes_marked() -> None:
    parsed = parse_message((FIXTURES / "person" / "pl-02.eml").read_bytes())
    assert parsed.body_is_html
    assert "<p>" not in parsed.body
    assert "byłem poza biurem" in parsed.body
    assert any(line.startswith("> ") for line in parsed.body.splitlines())


def test_tokens_from_delivery_headers_only_once() -> None:
    headers = """
From: MAILER-DAEMON@mx.example.net
To: bounces+c3t4aaaaaaaaaa@campaign.example.org
Delivered-To: bounces+c3t4aaaaaaaaaa@campaign.example.org
X-Original-To: replies+c3t5bbbbbbbbbb@campaign.example.org
Cc: someone+not-ours@example.net
Subject: x
"""
    parsed = parse_message(msg(headers))
    # in the order of parse.TOKEN_HEADERS (To, Cc, Delivered-To, X-Original-To, …)
    assert parsed.tokens == ["c3t4aaaaaaaaaa", "not-ours", "c3t5bbbbbbbbbb"]


def test_missing_message_id_is_synthesised_stably() -> None:
    raw = msg("From: a@example.org\nSubject: hi")
    first, second = parse_message(raw), parse_message(raw)
    other = parse_message(raw + b"more")
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@outreach.invalid>")
    assert other.message_id != first.message_id
    assert any("Message-ID" in w for w in first.warnings)


def test_unknown_charset_is_reported_and_decoded() -> None:
    headers = "From: a@example.org\nMessage-ID: <u@x>\nContent-Type: text/plain; charset=x-klingon"
    parsed = parse_message(msg(headers, "caf\xe9 ok\n".encode("latin-1")))
    assert parsed.body == "café ok\n"
    assert any("unknown charset" in w for w in parsed.warnings)


def test_wrong_charset_is_reported_and_decoded() -> None:
    headers = "From: a@example.org\nMessage-ID: <w@x>\nContent-Type: text/plain; charset=utf-8"
    parsed = parse_message(msg(headers, "Gr\xfc\xdfe\n".encode("latin-1")))
    assert parsed.body == "Grüße\n"
    assert any("not valid utf-8" in w for w in parsed.warnings)


def test_raw_8bit_and_broken_encoded_words_in_headers() -> None:
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.org>\n"
        b"Subject: Caf\xc3\xa9 =?x-unknown?q?abc?= =?utf-8?b?!!!?=\n"
        b"Message-ID: <h@x>\n\nbody\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_name == "René"
    assert parsed.subject.startswith("Café")


def test_bad_date_is_none_with_a_warning() -> None:
    parsed = parse_message(msg("From: a@example.org\nMessage-ID: <d@x>\nDate: yesterday-ish"))
    assert parsed.received_at is None
    assert any(w.startswith("Date:") for w in parsed.warnings)


def test_multipart_without_boundary_is_read_as_text() -> None:
    headers = "From: a@example.org\nMessage-ID: <m@x>\nContent-Type: multipart/mixed"
    parsed = parse_message(msg(headers, "--zzz\nContent-Type: text/plain\n\nhello\n--zzz--\n"))
    assert "hello" in parsed.body
    assert parsed.warnings


def test_bad_base64_does_not_raise() -> None:
    headers = (
        "From: a@example.org\nMessage-ID: <b@x>\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64"
    )
    parsed = parse_message(msg(headers, "%%%% not base64 ####\n"))
    assert isinstance(parsed.body, str)


def test_deeply_nested_multipart_is_capped() -> None:
    depth = 3000
    opening = "".join(
        f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth)
    )
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    body = opening + f"--b{depth}\nContent-Type: text/plain\n\ndeep\n--b{depth}--\n" + closing
    headers = "From: a@example.org\nMessage-ID: <n@x>\nContent-Type: multipart/mixed; boundary=b0"
    parsed = parse_message(msg(headers, body))
    assert any("deep" in w for w in parsed.warnings)
    assert parsed.message_id == "<n@x>"


def test_many_parts_are_capped() -> None:
    parts = "".join(f"--p\nContent-Type: text/plain\n\npart {i}\n" for i in range(2000))
    headers = "From: a@example.org\nMessage-ID: <p@x>\nContent-Type: multipart/mixed; boundary=p"
    parsed = parse_message(msg(headers, parts + "--p--\n"))
    assert parsed.body == "part 0"
    assert any("MIME parts" in w for w in parsed.warnings)


def test_oversized_message_keeps_headers_and_truncates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 64 * 1024)
    raw = msg(PLAIN, "x" * 200_000 + "\nEND-MARKER\n")
    parsed = parse_message(raw)
    assert parsed.message_id == "<abc@example.org>"
    assert parsed.size == len(raw)
    assert "END-MARKER" not in parsed.body
    assert any("body truncated" in w for w in parsed.warnings)


def test_twenty_megabyte_message_is_parsed_without_its_tail() -> None:
    attachment = base64.encodebytes(b"\0" * (16 * 1024 * 1024)).decode()
    body = (
        "--b\nContent-Type: text/plain\n\nSee attached.\n"
        f"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        f"{attachment}--b--\n"
    )
    headers = PLAIN + "Content-Type: multipart/mixed; boundary=b\n"
    raw = msg(headers, body)
    assert len(raw) > parse.MAX_MESSAGE_BYTES
    parsed = parse_message(raw)
    assert parsed.body.startswith("See attached.")
    assert any("body truncated" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"just some words, no header\n"],
)
def test_not_a_message_raises_input_error(raw: bytes) -> None:
    with pytest.raises(InputError) as caught:
        parse_message(raw, source="maildir/cur/1")
    assert caught.value.place == "maildir/cur/1"


def test_mbox_separator_line_is_tolerated() -> None:
    parsed = parse_message(b"From someone@example.org Sat Oct  4 08:00:09 2025\n" + msg(PLAIN))
    assert parsed.subject == "Re: Interpol"
