"""The structure of machine reports: RFC 3464 delivery status, RFC 5965 feedback (ARF).

Reads the ``message/delivery-status`` (or ``message/global-delivery-status``)
fields per recipient, the ``message/feedback-report`` fields, and the headers
of the enclosed original (``message/rfc822``, ``text/rfc822-headers``) so that
a bounce or complaint can be matched to the letter it concerns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import HeaderParser

from outreach.replies.mime import (
    addresses,
    bytes_to_text,
    content_type,
    decode_header_value,
    iter_parts,
    message_ids,
    part_text,
)

_HEADER_PARSER = HeaderParser(policy=policy.compat32)
_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})\s*:\s*(.*)$")
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE_RE = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)")

_BLOCK_STARTS = frozenset({"final-recipient", "original-recipient"})
DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
ARF_TYPES = frozenset({"message/feedback-report"})
ORIGINAL_TYPES = frozenset(
    {
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
    }
)


@dataclass(slots=True)
class RecipientStatus:
    """One per-recipient block of a delivery status report."""

    #: Final-Recipient (else Original-Recipient)
    address: str
    #: Original-Recipient, the address the letter was sent to, when it differs
    original: str
    action: str
    status: str
    diagnostic: str


@dataclass(slots=True)
class Report:
    """What the report parts of a message say (each list may be empty)."""

    report_type: str = ""
    recipients: list[RecipientStatus] = field(default_factory=list)
    has_dsn_part: bool = False
    #: feedback-report fields, lower-cased names (first value wins)
    feedback: dict[str, str] = field(default_factory=dict)
    has_feedback_part: bool = False
    original_message_ids: list[str] = field(default_factory=list)
    original_to: list[str] = field(default_factory=list)
    original_subject: str = ""
    has_original: bool = False


def field_blocks(text: str) -> list[dict[str, str]]:
    """``Name: value`` blocks separated by blank lines (continuation lines folded)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[:1] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD_RE.match(line)
        if match:
            last = match.group(1).lower()
            if last in current and last in _BLOCK_STARTS:
                # a mailer that forgot the blank line between two recipients
                blocks.append(current)
                current = {}
            current.setdefault(last, match.group(2).strip())
    if current:
        blocks.append(current)
    return blocks


def strip_address_type(value: str) -> str:
    """``rfc822; a@b`` → ``a@b`` (lower-cased, angle brackets dropped)."""
    _, _, addr = value.rpartition(";")
    addr = addr.strip().strip("<>").strip().lower()
    found = addresses(addr)
    return found[0][1] if found else ""


def status_code(text: str, *, failures_only: bool = False) -> str:
    """The first enhanced status code (``5.1.1``) in text, else from an SMTP code, else "".

    ``failures_only`` skips 2.x.x codes (a transcript's "250 OK" says nothing
    about the failure it accompanies).
    """
    for match in _STATUS_RE.finditer(text):
        if not failures_only or match.group(1) != "2":
            return f"{match.group(1)}.{match.group(2)}.{match.group(3)}"
    for smtp in _SMTP_CODE_RE.finditer(text):
        if smtp.group(1)[0] in "45":
            return f"{smtp.group(1)[0]}.0.0"
    return ""


def _part_fields_text(part: Message, warnings: list[str]) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        # compat32 parses a delivery-status body into one Message per block
        chunks = []
        for block in payload:
            if isinstance(block, Message):
                chunks.append(
                    "\n".join(
                        f"{k}: {decode_header_value(v, warnings, 'delivery-status')}"
                        for k, v in block.items()
                    )
                )
        return "\n\n".join(chunks)
    return part_text(part, warnings)


def _read_original(part: Message, report: Report, warnings: list[str]) -> None:
    payload = part.get_payload()
    headers: Message | None = None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        headers = payload[0]
    elif isinstance(payload, str):
        raw = part.get_payload(decode=True)
        text = bytes_to_text(raw if isinstance(raw, bytes) else b"", "utf-8", warnings, "original")
        try:
            headers = _HEADER_PARSER.parsestr(text)
        except Exception:
            warnings.append("enclosed original headers cannot be read")
            return
    if headers is None:
        return
    report.has_original = True
    for mid in message_ids(decode_header_value(headers.get("message-id"), warnings, "original")):
        if mid not in report.original_message_ids:
            report.original_message_ids.append(mid)
    for value in headers.get_all("to", []) or []:
        for _, addr in addresses(decode_header_value(value, warnings, "original To")):
            if addr not in report.original_to:
                report.original_to.append(addr)
    if not report.original_subject:
        report.original_subject = decode_header_value(
            headers.get("subject"), warnings, "original Subject"
        )


def read_report(message: Message, warnings: list[str]) -> Report:
    """Collect the report parts of ``message`` (an empty Report when it has none)."""
    report = Report()
    try:
        if message.get_content_type() == "multipart/report":
            report.report_type = str(message.get_param("report-type", "") or "").lower()
    except Exception:
        report.report_type = ""
    for part, _depth in iter_parts(message, warnings):
        ctype = content_type(part)
        if ctype in DSN_TYPES:
            report.has_dsn_part = True
            blocks = field_blocks(_part_fields_text(part, warnings))
            for block in blocks:
                final = strip_address_type(block.get("final-recipient", ""))
                original = strip_address_type(block.get("original-recipient", ""))
                if not final and not original:
                    continue
                report.recipients.append(
                    RecipientStatus(
                        address=final or original,
                        original=original if original != final else "",
                        action=block.get("action", "").split()[0].lower()
                        if block.get("action", "").split()
                        else "",
                        status=status_code(block.get("status", "")),
                        diagnostic=block.get("diagnostic-code", ""),
                    )
                )
        elif ctype in ARF_TYPES:
            report.has_feedback_part = True
            for block in field_blocks(_part_fields_text(part, warnings)):
                for name, value in block.items():
                    report.feedback.setdefault(name, value)
        elif ctype in ORIGINAL_TYPES and not report.has_original:
            _read_original(part, report, warnings)
    return report
