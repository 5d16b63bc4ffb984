"""What comes back: parse a raw message and classify it.

::

    from outreach.replies import parse_message, classify, Inbound
    inbound = classify(parse_message(raw_bytes, source="INBOX:1234"))
    inbound.kind   # "hard-bounce" | "soft-bounce" | "auto-reply" | "complaint" | "reply"

Both functions are pure (no database, no network) and never raise on a bad
message: problems are listed in ``inbound.warnings``. ``parse_message`` raises
:class:`outreach.errors.InputError` only for input that is not a message.
"""

from __future__ import annotations

from outreach.replies.classify import (
    AUTO_REPLY,
    COMPLAINT,
    HARD_BOUNCE,
    KINDS,
    REPLY,
    SOFT_BOUNCE,
    Inbound,
    Kind,
    classify,
)
from outreach.replies.parse import ParsedMessage, parse_message

__all__ = [
    "AUTO_REPLY",
    "COMPLAINT",
    "HARD_BOUNCE",
    "KINDS",
    "REPLY",
    "SOFT_BOUNCE",
    "Inbound",
    "Kind",
    "ParsedMessage",
    "classify",
    "parse_message",
]
