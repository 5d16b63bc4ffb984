"""Bounces that are not RFC 3464 reports: mailer text, flufl.bounce, Amazon SES JSON.

Used only for a message that *looks* like it comes from a mail system (a
mailer-daemon/postmaster sender, an empty Return-Path with a bounce subject,
``X-Failed-Recipients``, a ``multipart/report`` without its status part), so
a person's reply is never read as a bounce because it happens to quote an
address next to the word "failed".
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from email.message import Message

from flufl.bounce import all_failures

from outreach.replies import notice_patterns
from outreach.replies.mime import addresses, leaf_text
from outreach.replies.parse import ParsedMessage
from outreach.replies.reports import status_code, strip_address_type

_ADDRESS_RE = re.compile(
    r"(?<![\w.+=/-])([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+)"
)
_FINAL_RCPT_RE = re.compile(r"^\s*final-recipient\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_DSN_STATUS_RE = re.compile(r"^\s*status\s*:\s*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
_INLINE_MSGID_RE = re.compile(r"^\s*message-id\s*:\s*(<[^<>\s]{1,900}>)", re.I | re.M)
_URL_RE = re.compile(r"\b(?:https?|ftp)://\S+", re.IGNORECASE)
_IGNORED_LOCALPARTS = notice_patterns.MAILER_LOCALPARTS | {
    "abuse",
    "noreply",
    "no-reply",
    "do-not-reply",
    "donotreply",
    "help",
    "support",
}
_MAX_SCAN = 64 * 1024

# flufl.bounce logs a traceback before re-raising a detector's error, which we catch:
# without a handler of its own that would reach stderr through logging's last resort
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())


@dataclass(slots=True)
class TextBounce:
    """What the heuristics found: failed addresses, a status ("" if none), how."""

    addresses: list[str] = field(default_factory=list)
    status: str = ""
    method: str = ""
    delivered: bool = False
    complaint: bool = False


def is_mailer_sender(parsed: ParsedMessage) -> bool:
    """From a mailer-daemon / postmaster / mail delivery subsystem."""
    local = parsed.from_address.rsplit("@", 1)[0]
    if local in notice_patterns.MAILER_LOCALPARTS:
        return True
    name = parsed.from_name.lower()
    return any(
        word in name
        for word in ("mailer-daemon", "mailer daemon", "mail delivery", "postmaster")
    )


def has_bounce_subject(parsed: ParsedMessage) -> bool:
    return notice_patterns.BOUNCE_SUBJECT.search(parsed.subject) is not None


def mailer_signal(parsed: ParsedMessage) -> str:
    """How sure it is that a mail system wrote this notice: "strong", "subject" or "".

    Strong: ``X-Failed-Recipients``; a mailer-daemon/postmaster sender; a bounce
    subject with an empty or mailer-daemon Return-Path, no From, or an
    ``Auto-Submitted`` header. "subject": only the subject starts like a bounce
    notice (a person's reply starts with "Re:"), which is trusted only when a
    failed address is found too.
    """
    headers = parsed.auto_headers
    if "x-failed-recipients" in headers or is_mailer_sender(parsed):
        return "strong"
    if not has_bounce_subject(parsed):
        return ""
    return_path = headers.get("return-path", "").strip().strip("<>").lower()
    null_sender = "return-path" in headers and (
        not return_path or return_path.rsplit("@", 1)[0] in notice_patterns.MAILER_LOCALPARTS
    )
    automatic = headers.get("auto-submitted", "").lower().startswith("auto-")
    if null_sender or automatic or not parsed.from_address:
        return "strong"
    return "subject"


def looks_like_mailer_notice(parsed: ParsedMessage) -> bool:
    """A message a mail system evidently wrote about a delivery."""
    return mailer_signal(parsed) == "strong"


def _own_addresses(parsed: ParsedMessage) -> set[str]:
    own = set(parsed.to_addresses)
    if parsed.from_address:
        own.add(parsed.from_address)
    return own


def _valid(addr: str) -> bool:
    local, _, domain = addr.rpartition("@")
    return bool(local) and "." in domain and local not in _IGNORED_LOCALPARTS


def notice_text(parsed: ParsedMessage) -> str:
    """The mailer's own text: its inline text parts, each cut above a copy of the original."""
    chunks: list[str] = []
    size = 0
    for part in parsed.text_parts[:8]:
        text = leaf_text(part, parsed.warnings)[:_MAX_SCAN]
        match = notice_patterns.ORIGINAL_FOLLOWS.search(text)
        chunks.append(text[: match.start()] if match else text)
        size += len(chunks[-1])
        if size > _MAX_SCAN:
            break
    return "\n\n".join(chunks)[:_MAX_SCAN]


def inline_message_ids(parsed: ParsedMessage) -> list[str]:
    """Message-IDs of an original copied into a mailer's text (not as a MIME part)."""
    found: list[str] = []
    for part in parsed.text_parts[:8]:
        for match in _INLINE_MSGID_RE.finditer(leaf_text(part, parsed.warnings)[:_MAX_SCAN]):
            mid = match.group(1)
            if mid != parsed.message_id and mid not in found:
                found.append(mid)
    return found


def _dsn_in_text(text: str) -> tuple[list[str], str]:
    """Final-Recipient / Status fields written as plain text (a report with a broken structure)."""
    found: list[str] = []
    for match in _FINAL_RCPT_RE.finditer(text):
        addr = strip_address_type(match.group(1))
        if addr and _valid(addr) and addr not in found:
            found.append(addr)
    status = _DSN_STATUS_RE.search(text)
    return found, (status.group(1) if status else "")


def _text_addresses(text: str, exclude: set[str]) -> list[str]:
    text = _URL_RE.sub(" ", text)
    found: list[str] = []
    for match in _ADDRESS_RE.finditer(text):
        addr = match.group(1).strip(".").lower()
        if addr in exclude or not _valid(addr) or addr in found:
            continue
        found.append(addr)
    return found


def _flufl(message: Message) -> list[str]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        return []
    found: list[str] = []
    for raw in sorted(temporary | permanent):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        for _, addr in addresses(text):
            if _valid(addr) and addr not in found:
                found.append(addr)
    return found


def _ses_json(body: str) -> TextBounce | None:
    """An Amazon SES notification (possibly wrapped in an SNS envelope)."""
    start = body.find("{")
    if start < 0 or start > 200 or "notificationType" not in body[:_MAX_SCAN]:
        return None
    try:
        # SNS wraps long lines of its JSON: control characters inside strings are allowed
        data = json.loads(body[start:_MAX_SCAN].strip(), strict=False)
        if isinstance(data, dict) and isinstance(data.get("Message"), str):
            data = json.loads(data["Message"], strict=False)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType", ""))
    result = TextBounce(method="ses-json")
    if kind == "Bounce" and isinstance(data.get("bounce"), dict):
        bounce = data["bounce"]
        for rcpt in bounce.get("bouncedRecipients") or []:
            if isinstance(rcpt, dict):
                for _, addr in addresses(str(rcpt.get("emailAddress", ""))):
                    result.addresses.append(addr)
                code = status_code(str(rcpt.get("status", "")))
                result.status = result.status or code
        if not result.status:
            result.status = "5.0.0" if bounce.get("bounceType") == "Permanent" else "4.0.0"
        return result
    if kind == "Complaint" and isinstance(data.get("complaint"), dict):
        for rcpt in data["complaint"].get("complainedRecipients") or []:
            if isinstance(rcpt, dict):
                for _, addr in addresses(str(rcpt.get("emailAddress", ""))):
                    result.addresses.append(addr)
        result.complaint = True
        return result
    if kind == "Delivery":
        result.delivered = True
        return result
    return None


def text_bounce(parsed: ParsedMessage, original_to: list[str]) -> TextBounce | None:
    """Failed addresses of a mailer notice, or None when it names none.

    Order: ``X-Failed-Recipients``, flufl.bounce's detectors, addresses in the
    mailer's own text (above the copy of the original), and last the ``To`` of
    the enclosed original message.
    """
    ses = _ses_json(parsed.body)
    if ses is not None:
        return ses
    if not mailer_signal(parsed):
        return None
    notice = notice_text(parsed)
    result = TextBounce()
    exclude = _own_addresses(parsed)
    header = parsed.auto_headers.get("x-failed-recipients", "")
    result.addresses = [a for _, a in addresses(header) if _valid(a)]
    result.method = "x-failed-recipients" if result.addresses else ""
    dsn_status = ""
    if not result.addresses:
        result.addresses, dsn_status = _dsn_in_text(notice or parsed.body[:_MAX_SCAN])
        result.method = "rfc3464-text" if result.addresses else ""
    if not result.addresses:
        result.addresses = _flufl(parsed.message)
        result.method = "flufl.bounce" if result.addresses else ""
    if not result.addresses:
        result.addresses = _text_addresses(notice, exclude)
        result.method = "mailer-text" if result.addresses else ""
    if not result.addresses:
        result.addresses = [a for a in original_to if _valid(a) and a not in exclude]
        result.method = "original-to" if result.addresses else ""
    if not result.addresses:
        return None
    result.status = dsn_status or notice_status(notice, parsed.subject)
    return result


def notice_status(notice: str, subject: str) -> str:
    """The status of a mailer notice: its first failure code, else what its words say.

    Without a code, a full mailbox is 4.2.2 and "will keep trying" 4.0.0; the
    rest is 5.0.0.

    A code wins over words: a 4xx that a mailer finally gave up on stays
    temporary in cause (mailbox full, host down), which is what decides
    between suppressing an address and trying it again another day.
    """
    code = status_code(notice, failures_only=True)
    if code:
        return code
    text = f"{subject}\n{notice}"
    if notice_patterns.MAILBOX_FULL_WORDS.search(text):
        return "4.2.2"
    temporary = notice_patterns.TEMPORARY_WORDS.search(text)
    if temporary and not notice_patterns.GAVE_UP_WORDS.search(text):
        return "4.0.0"
    return "5.0.0"
