"""The do-not-contact list as the contacts code uses it: hashes, opt-outs, lookups.

Every suppression carries ``email_hash``, the SHA-256 of the lower-cased address
salted with the installation's ``suppression_salt`` setting; an erasure keeps
nothing else, so a later import can recognise the address without the database
holding it.
"""

from __future__ import annotations

import hashlib

from outreach.db import get_setting
from outreach.models import Suppression

SALT_KEY = "suppression_salt"
OPT_OUT = "opt-out"
ERASED = "erased"


def hash_with(salt: str, email: str) -> str:
    return hashlib.sha256(f"{salt}:{email.strip().lower()}".encode()).hexdigest()


async def email_hash(email: str) -> str:
    """The salted hash of an address (creates the salt on first use)."""
    return hash_with(await get_setting(SALT_KEY), email)


async def erased_hashes() -> tuple[str, frozenset[str]]:
    """(salt, hashes of erased addresses); no salt is created when nothing was erased."""
    hashes = await Suppression.filter(email__isnull=True).values_list("email_hash", flat=True)
    if not hashes:
        return "", frozenset()
    return await get_setting(SALT_KEY), frozenset(str(h) for h in hashes)


async def suppressed_emails() -> dict[str, str]:
    """Address → reason of every suppression that keeps its address."""
    rows = await Suppression.filter(email__isnull=False).values_list("email", "reason")
    return {str(email): str(reason) for email, reason in rows}
