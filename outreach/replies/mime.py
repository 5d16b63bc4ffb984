"""Safe, low-level reading of MIME: headers, charsets, the part tree.

Nothing here raises on bad input: a wrong or unknown charset falls back to
UTF-8, then Windows-1252, then replacement characters, and says so in
``warnings``; the part tree is walked iteratively with depth and count caps.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses

from outreach.replies.html import html_to_text

#: multipart / message nesting deeper than this is not looked into
MAX_DEPTH = 12
#: parts looked at in one message (a bomb of thousands of tiny parts stops here)
MAX_PARTS = 500

_MSGID_RE = re.compile(r"<([^<>\s]{1,900})>")
_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_SURROGATE_RE = re.compile("[\udc80-\udcff]")


def bytes_to_text(data: bytes, charset: str | None, warnings: list[str], what: str) -> str:
    """Decode with the declared charset; unknown or wrong → a fallback, with replacement."""
    if charset:
        name = charset.strip().strip('"').lower()
        try:
            codecs.lookup(name)
        except LookupError:
            warnings.append(f"{what}: unknown charset {name[:40]!r}")
        else:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, ValueError):
                warnings.append(f"{what}: not valid {name[:40]}")
                # a wrong declaration: try the usual suspects before replacing
    for fallback in _FALLBACK_CHARSETS:
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def decode_header_value(value: object, warnings: list[str], what: str) -> str:
    """Decode a header (RFC 2047 words, raw 8-bit bytes) into clean text, never raising."""
    if value is None:
        return ""
    if isinstance(value, Header):
        # compat32 hands back raw 8-bit header bytes as an "unknown-8bit" Header
        raw = b"".join(
            chunk if isinstance(chunk, bytes) else chunk.encode("utf-8", "surrogateescape")
            for chunk, _ in decode_header(value)
        )
        value = bytes_to_text(raw, "utf-8", warnings, what)
    text = value if isinstance(value, str) else str(value)
    if not text.isascii() and _SURROGATE_RE.search(text):
        # raw 8-bit bytes in a header, kept by the parser as surrogates
        raw = text.encode("ascii", errors="surrogateescape")
        text = bytes_to_text(raw, "utf-8", warnings, what)
    if "=?" not in text:
        return " ".join(text.split())
    try:
        chunks = decode_header(text)
    except Exception:
        warnings.append(f"{what}: malformed encoded words")
        return " ".join(text.split())
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(bytes_to_text(chunk, charset or "ascii", warnings, what))
        else:
            out.append(chunk)
    return " ".join("".join(out).split())


def message_ids(value: str) -> list[str]:
    """Every ``<id>`` in a header value, in order, without duplicates."""
    seen: list[str] = []
    for match in _MSGID_RE.finditer(value):
        mid = f"<{match.group(1)}>"
        if mid not in seen:
            seen.append(mid)
    return seen


def addresses(value: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of a header value; junk is dropped."""
    if "@" not in value:
        return []
    try:
        pairs = getaddresses([value])
    except Exception:
        return []
    out: list[tuple[str, str]] = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and " " not in addr and len(addr) <= 320:
            out.append((name.strip(), addr))
    return out


def iter_parts(message: Message, warnings: list[str]) -> Iterator[tuple[Message, int]]:
    """(part, depth) of the tree, depth first, iteratively, with the depth and count caps."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    warned_depth = False
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > MAX_PARTS:
            warnings.append(f"more than {MAX_PARTS} MIME parts: the rest are ignored")
            return
        yield part, depth
        payload = part.get_payload()
        if not isinstance(payload, list):
            continue
        if depth >= MAX_DEPTH:
            if not warned_depth:
                warnings.append(f"MIME parts nested deeper than {MAX_DEPTH}: not read")
                warned_depth = True
            continue
        children = [p for p in payload if isinstance(p, Message)]
        stack.extend((child, depth + 1) for child in reversed(children))


def _part_bytes(part: Message, warnings: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        warnings.append("a MIME part cannot be decoded")
        return b""
    if isinstance(data, bytes):
        return data
    return b""


def part_text(part: Message, warnings: list[str]) -> str:
    """The decoded text of one leaf part (transfer encoding and charset undone)."""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return bytes_to_text(_part_bytes(part, warnings), charset, warnings, "body")


def is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def content_type(part: Message) -> str:
    """The content type of a part ("text/plain" when it cannot be read)."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "text/plain"
    # a header folded without its ";" ("text/plain\n  charset=…") keeps junk after a space
    return ctype.split(None, 1)[0] if ctype else "text/plain"


def leaf_text(part: Message, warnings: list[str]) -> str:
    """The text of a part from _text_parts (HTML rendered as text)."""
    text = part_text(part, warnings)
    return html_to_text(text) if content_type(part) == "text/html" else text
