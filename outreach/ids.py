"""Deterministic identifiers of a letter: its Message-ID and its reply token.

Both derive from (campaign id, contact id) and an installation secret kept in
the database, so a re-render keeps them, a retry sends the same Message-ID,
and a reply's ``In-Reply-To`` or plus-address finds its delivery. The HMAC
makes them unguessable: nobody can forge a token that matches another letter.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MESSAGE_ID_KEY = "message_id_key"
_TOKEN_RE = re.compile(r"^c(\d+)t(\d+)([0-9a-z]{10})$")


def _mac(key: str, campaign_id: int, contact_id: int, purpose: str, size: int) -> str:
    digest = hmac.new(
        key.encode(), f"{purpose}:{campaign_id}:{contact_id}".encode(), hashlib.sha256
    ).hexdigest()
    return digest[:size]


def message_id(key: str, campaign_id: int, contact_id: int, domain: str) -> str:
    """``<outreach.c12.t345.1a2b3c4d5e6f@example.org>`` for campaign 12, contact 345."""
    mac = _mac(key, campaign_id, contact_id, "mid", 12)
    return f"<outreach.c{campaign_id}.t{contact_id}.{mac}@{domain}>"


def token(key: str, campaign_id: int, contact_id: int) -> str:
    """A short token for plus-addressing (``replies+c12t345ab12cd34ef@…``)."""
    return f"c{campaign_id}t{contact_id}{_mac(key, campaign_id, contact_id, 'tok', 10)}"


def parse_token(key: str, value: str) -> tuple[int, int] | None:
    """(campaign id, contact id) of a genuine token, else None."""
    match = _TOKEN_RE.match(value.strip().lower())
    if not match:
        return None
    campaign_id, contact_id = int(match.group(1)), int(match.group(2))
    expected = _mac(key, campaign_id, contact_id, "tok", 10)
    if not hmac.compare_digest(expected, match.group(3)):
        return None
    return campaign_id, contact_id


def plus_address(address: str, tok: str) -> str:
    """``replies@x.org`` + token → ``replies+TOKEN@x.org``."""
    local, _, domain = address.rpartition("@")
    return f"{local}+{tok}@{domain}"
