"""Classify a parsed message: bounce, auto-reply, complaint or a person's reply.

The structure of a report decides first (ARF feedback report → complaint;
RFC 3464 delivery status → hard or soft bounce by its status code), then a
mailer notice without that structure (flufl.bounce and our own text
heuristics, only for messages a mail system evidently wrote), then the RFC
3834 and vendor headers of automatic answers, then subject and body
patterns. Everything else is a person's ``reply``, flagged when it asks to be
left alone. Deterministic and free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

from outreach.replies import notice_patterns, patterns
from outreach.replies.bounces import (
    TextBounce,
    inline_message_ids,
    looks_like_mailer_notice,
    text_bounce,
)
from outreach.replies.mime import addresses
from outreach.replies.parse import ParsedMessage
from outreach.replies.reports import Report, read_report, status_code

Kind = Literal["hard-bounce", "soft-bounce", "auto-reply", "complaint", "reply"]
HARD_BOUNCE: Final = "hard-bounce"
SOFT_BOUNCE: Final = "soft-bounce"
AUTO_REPLY: Final = "auto-reply"
COMPLAINT: Final = "complaint"
REPLY: Final = "reply"
KINDS: Final = (HARD_BOUNCE, SOFT_BOUNCE, AUTO_REPLY, COMPLAINT, REPLY)

_AUTO_PRECEDENCE = frozenset({"auto_reply", "auto-reply", "bulk", "junk"})
_SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded", "deliverable"})
#: how much of a person's own text is searched for patterns (characters)
_OWN_TEXT_LIMIT = 20_000


@dataclass(slots=True)
class Inbound:
    """One classified incoming message (see docs/replies.md)."""

    kind: Kind
    message_id: str
    from_address: str
    from_name: str
    subject: str
    received_at: datetime | None
    body: str
    failed_addresses: list[str] = field(default_factory=list)
    dsn_status: str = ""
    return_date: str = ""
    opt_out_request: bool = False
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    original_message_ids: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    #: what decided the kind, for a campaigner reviewing it ("rfc3464", "subject", …)
    reason: str = ""

    @property
    def is_bounce(self) -> bool:
        return self.kind in (HARD_BOUNCE, SOFT_BOUNCE)


def own_text(body: str) -> str:
    """The part of a reply its sender wrote: above the quoted letter, without ``>`` lines."""
    text = body[:_OWN_TEXT_LIMIT]
    match = patterns.QUOTE_HEADER.search(text)
    if match:
        text = text[: match.start()]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def _quotes(body: str) -> bool:
    """Whether a body quotes another message ("On … wrote:", "> " lines)."""
    text = body[:_OWN_TEXT_LIMIT]
    if patterns.QUOTE_HEADER.search(text):
        return True
    return any(line.lstrip().startswith(">") for line in text.splitlines())


def _bounce_kind(status: str) -> Kind:
    return SOFT_BOUNCE if status.startswith("4") else HARD_BOUNCE


def _worst(statuses: list[str]) -> str:
    """A permanent status wins over a temporary one; the first of each kind is kept."""
    for prefix in ("5", "4"):
        for status in statuses:
            if status.startswith(prefix):
                return status
    return ""


def _usable(addr: str) -> bool:
    local, _, domain = addr.rpartition("@")
    return bool(local) and bool(domain)


def _from_dsn(report: Report) -> tuple[list[str], str, bool] | None:
    """(failed addresses, status, all delivered) from the per-recipient blocks, or None."""
    rows = [r for r in report.recipients if _usable(r.address) or _usable(r.original)]
    if not rows:
        return None
    failed: list[str] = []
    statuses: list[str] = []
    for row in rows:
        status = row.status or status_code(row.diagnostic)
        if row.action in _SUCCESS_ACTIONS or (
            row.action not in ("failed", "delayed") and status.startswith("2")
        ):
            continue
        if not status or status.startswith("2"):
            status = "4.0.0" if row.action == "delayed" else "5.0.0"
        # the address the letter was sent to first, then where it was forwarded
        for addr in (row.original, row.address):
            if _usable(addr) and addr not in failed:
                failed.append(addr)
        statuses.append(status)
    if not failed:
        return [], "", True
    return failed, _worst(statuses), False


def _complaint_addresses(report: Report) -> list[str]:
    found: list[str] = []
    for name in ("original-rcpt-to", "removal-recipient"):
        for _, addr in addresses(report.feedback.get(name, "").replace(";", ",")):
            if addr not in found:
                found.append(addr)
    return found or list(report.original_to)


def _auto_header(parsed: ParsedMessage) -> str:
    """The name of the header that marks an automatic answer, or ""."""
    headers = parsed.auto_headers
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and not submitted.startswith("no"):
        return "auto-submitted"
    for name in ("x-autoreply", "x-autorespond", "x-autogenerated"):
        if name in headers and headers[name].strip().lower() not in {"no", "false", "0"}:
            return name
    # Exchange marks its own automatic messages "All"; CRMs and bulk mailers also put
    # partial values ("OOF, AutoReply") on what people write through them
    suppress = headers.get("x-auto-response-suppress", "").lower().replace(",", " ").split()
    if "all" in suppress:
        return "x-auto-response-suppress"
    for name in ("precedence", "x-precedence"):
        if headers.get(name, "").strip().lower() in _AUTO_PRECEDENCE:
            return name
    return ""


def _resolve_date(day: int, month: int, year: int | None, received: datetime | None) -> str:
    if year is not None and year < 100:
        year += 2000
    if year is None:
        base = received.date() if received else None
        if base is None:
            return ""
        year = base.year
        try:
            if date(year, month, day) < base:
                year += 1
        except ValueError:
            return ""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def return_date(text: str, received: datetime | None) -> str:
    """The first "until <date>"-style date in text, as ``YYYY-MM-DD`` (or "")."""
    for marker in patterns.RETURN_MARKER.finditer(text[:4000]):
        tail = text[marker.end() : marker.end() + 60]
        words = patterns.DATE_WORDS.match(tail)
        if words:
            name = (words.group("mname") or words.group("mname2") or "").lower().rstrip(".")
            day = words.group("d1") or words.group("d2")
            year = words.group("y1") or words.group("y2")
            month = patterns.MONTHS.get(name)
            if month and day:
                found = _resolve_date(int(day), month, int(year) if year else None, received)
                if found:
                    return found
            continue
        numeric = patterns.DATE_NUMERIC.match(tail)
        if numeric:
            if numeric.group("iso"):
                found = _resolve_date(
                    int(numeric.group("id")), int(numeric.group("im")), int(numeric.group("iy")),
                    received,
                )
            else:
                first, second = int(numeric.group("d")), int(numeric.group("m"))
                day, month = (second, first) if first <= 12 < second else (first, second)
                year_text = numeric.group("y")
                found = _resolve_date(
                    day, month, int(year_text) if year_text else None, received
                )
            if found:
                return found
    return ""


def _inbound(parsed: ParsedMessage, kind: Kind, reason: str, warnings: list[str]) -> Inbound:
    return Inbound(
        kind=kind,
        message_id=parsed.message_id,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        subject=parsed.subject,
        received_at=parsed.received_at,
        body=parsed.body,
        in_reply_to=list(parsed.in_reply_to),
        references=list(parsed.references),
        tokens=list(parsed.tokens),
        warnings=warnings,
        source=parsed.source,
        reason=reason,
    )


def _machine_kind(parsed: ParsedMessage, warnings: list[str]) -> Inbound | None:
    """Complaint or bounce by structure or mailer text, else None."""
    report = read_report(parsed.message, warnings)
    if report.has_feedback_part or report.report_type == "feedback-report":
        inbound = _inbound(parsed, COMPLAINT, "arf", warnings)
        inbound.failed_addresses = _complaint_addresses(report)
        inbound.original_message_ids = list(report.original_message_ids)
        return inbound
    if report.has_original and notice_patterns.COMPLAINT_SUBJECT.search(parsed.subject):
        inbound = _inbound(parsed, COMPLAINT, "complaint-subject", warnings)
        inbound.failed_addresses = list(report.original_to)
        inbound.original_message_ids = list(report.original_message_ids)
        return inbound
    dsn = _from_dsn(report)
    if dsn is not None:
        failed, status, delivered = dsn
        if delivered:
            inbound = _inbound(parsed, AUTO_REPLY, "rfc3464-delivered", warnings)
            warnings.append("a delivery status report that says the letter was delivered")
        else:
            inbound = _inbound(parsed, _bounce_kind(status), "rfc3464", warnings)
            inbound.failed_addresses, inbound.dsn_status = failed, status
        inbound.original_message_ids = list(report.original_message_ids)
        return inbound
    found: TextBounce | None = text_bounce(parsed, report.original_to)
    if found is not None:
        if found.delivered:
            inbound = _inbound(parsed, AUTO_REPLY, f"{found.method}-delivered", warnings)
        elif found.complaint:
            inbound = _inbound(parsed, COMPLAINT, found.method, warnings)
            inbound.failed_addresses = found.addresses
        else:
            inbound = _inbound(parsed, _bounce_kind(found.status), found.method, warnings)
            inbound.failed_addresses, inbound.dsn_status = found.addresses, found.status
        inbound.original_message_ids = report.original_message_ids or inline_message_ids(parsed)
        return inbound
    if report.has_dsn_part or report.report_type in {"delivery-status", "global-delivery-status"}:
        warnings.append("a delivery status report that names no failed address")
        inbound = _inbound(parsed, HARD_BOUNCE, "rfc3464-unreadable", warnings)
        inbound.dsn_status = "5.0.0"
        inbound.original_message_ids = list(report.original_message_ids)
        return inbound
    if looks_like_mailer_notice(parsed) and not _auto_header(parsed).startswith("x-auto"):
        warnings.append("a mail system's failure notice that names no failed address")
        inbound = _inbound(parsed, HARD_BOUNCE, "mailer-notice", warnings)
        inbound.dsn_status = "5.0.0"
        inbound.original_message_ids = report.original_message_ids or inline_message_ids(parsed)
        return inbound
    return None


def classify(parsed: ParsedMessage) -> Inbound:
    """Decide what ``parsed`` is. Never raises on a ParsedMessage from parse_message."""
    warnings = list(parsed.warnings)
    try:
        machine = _machine_kind(parsed, warnings)
    except RecursionError:
        warnings.append("report structure too deep to read")
        machine = None
    if machine is not None:
        return machine
    mine = own_text(parsed.body)
    header = _auto_header(parsed)
    reason = f"header {header}" if header else ""
    if not reason and patterns.AUTO_REPLY_SUBJECT.search(parsed.subject):
        reason = "subject"
    # a body sentence alone decides only for a message that does not quote a letter:
    # "I'm away until Monday, but yes, I support it" above our quoted letter is a person
    window = " ".join(mine[: patterns.AUTO_REPLY_BODY_WINDOW * 2].split())
    if (
        not reason
        and not _quotes(parsed.body)
        and patterns.AUTO_REPLY_BODY.search(window[: patterns.AUTO_REPLY_BODY_WINDOW])
    ):
        reason = "body"
    if reason:
        inbound = _inbound(parsed, AUTO_REPLY, reason, warnings)
        inbound.return_date = return_date(
            " ".join(f"{parsed.subject}\n{mine}".split()), parsed.received_at
        )
        return inbound
    inbound = _inbound(parsed, REPLY, "person", warnings)
    inbound.opt_out_request = (
        patterns.OPT_OUT.search(" ".join(f"{parsed.subject}\n{mine}".split())) is not None
    )
    return inbound
