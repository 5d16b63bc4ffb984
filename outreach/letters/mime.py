"""The message bytes: headers that cannot be forged, two quoted-printable parts.

``email.message.EmailMessage`` with the default policy costs milliseconds per
letter, so the message is assembled here from the standard library's encoders
(``email.header`` for RFC 2047 words, ``email.utils`` for addresses,
``binascii.b2a_qp`` for the bodies). Every header value has CR, LF and other
control characters replaced by spaces first, so no field of a contact can add
a header; an address also loses what could start a second address or a display
name (``<>,;:"()``, spaces), and a long word or a value that looks like an
RFC 2047 word is sent encoded, so no header line exceeds 998 octets and every
header decodes to exactly what was given. Bodies are quoted-printable: no line
exceeds 76 octets. Lines end in CRLF. The Date is added when the letter is
actually sent (:func:`with_date`).
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from outreach.errors import InputError

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
#: what cannot be part of one bare addr-spec: whitespace, and what would start a
#: display name, a comment, a group or a second address (``a@x>, b@y`` is one address)
_NOT_ADDR = re.compile(r'[\s<>(),;:"\\]+')
#: the longest word an unencoded header may hold before it needs RFC 2047 chunks
_LONGEST_WORD = 70
CRLF = b"\r\n"


def clean(value: str) -> str:
    """A header-safe one-line value: control characters become one space."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _encode(value: str, name: str) -> str:
    """An unstructured header value, RFC 2047-encoded when not plain ASCII, folded."""
    value = clean(value)
    if value.isascii() and len(value) + len(name) + 2 <= 78 and "=?" not in value:
        return value
    # a long word cannot be folded, and "=?…?=" would be decoded by the reader: both
    # go out as encoded words (split into short chunks), the rest folds at spaces
    plain = value.isascii() and "=?" not in value and all(
        len(word) <= _LONGEST_WORD for word in value.split()
    )
    charset = "us-ascii" if plain else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def address(display: str, addr: str, header: str = "address") -> str:
    """``Name <addr>`` with the name quoted or RFC 2047-encoded as needed.

    Raises :class:`InputError` when ``addr`` holds more than one ``@``.
    """
    display = clean(display)
    addr = _NOT_ADDR.sub("", clean(addr))
    if addr.count("@") > 1:  # two addresses run together: refuse, never guess which
        raise InputError(f"{addr!r} is not one e-mail address", place=header)
    if not display:
        return addr
    if display.isascii() and len(display) <= _LONGEST_WORD and "=?" not in display:
        return formataddr((display, addr))
    return f"{Header(display, 'utf-8').encode(linesep=chr(13) + chr(10))} <{addr}>"


def boundary(*parts: str) -> str:
    """A boundary derived from the content (deterministic, never inside a QP body)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=12).hexdigest()
    return f"=_outreach_{digest}"


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def build(
    *,
    from_name: str,
    from_address: str,
    to_name: str,
    to_address: str,
    subject: str,
    message_id: str,
    text: str,
    html: str,
    language: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    list_unsubscribe: str = "",
) -> bytes:
    """A complete multipart/alternative message without Date, CRLF line endings."""
    headers = [
        f"From: {address(from_name, from_address, 'From')}",
        f"To: {address(to_name, to_address, 'To')}",
        f"Subject: {_encode(subject, 'Subject')}",
        f"Message-ID: {clean(message_id).replace(' ', '')}",
    ]
    if reply_to:
        headers.append(f"Reply-To: {address('', reply_to, 'Reply-To')}")
    if in_reply_to:
        headers.append(f"In-Reply-To: {clean(in_reply_to).replace(' ', '')}")
    refs = [clean(r).replace(" ", "") for r in references if r.strip()]
    if refs:
        headers.append("References: " + "\r\n ".join(refs))
    if list_unsubscribe:
        value = clean(list_unsubscribe).replace(" ", "")
        headers.append(f"List-Unsubscribe: <{value.strip('<>')}>")
    mark = boundary(message_id, subject, to_address, text)
    headers += [
        "MIME-Version: 1.0",
        f"Content-Language: {clean(language).replace(' ', '')}",
        f'Content-Type: multipart/alternative;\r\n boundary="{mark}"',
    ]
    sep = b"--" + mark.encode()
    part_head = (
        b'Content-Type: text/%s; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    out = [
        "\r\n".join(headers).encode("utf-8"),
        b"",
        b"This is a multipart message in MIME format.",
        b"",
        sep,
        part_head.replace(b"%s", b"plain") + _qp(text),
        sep,
        part_head.replace(b"%s", b"html") + _qp(html),
        sep + b"--",
        b"",
    ]
    return CRLF.join(out)


def with_date(message: bytes, when: datetime) -> bytes:
    """The message with a Date header (RFC 5322 format) in front."""
    if when.tzinfo is None:
        raise ValueError("with_date needs a timezone-aware datetime")
    return f"Date: {format_datetime(when)}\r\n".encode("ascii") + message
