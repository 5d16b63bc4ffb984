"""DKIM signing with dkimpy, at the moment of sending (after Date is added)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim

from outreach.config import Settings
from outreach.errors import ConfigError

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
                  b"in-reply-to", b"references", b"mime-version", b"content-type")


@dataclass(frozen=True)
class Signer:
    selector: str
    domain: str
    key: bytes

    def sign(self, message: bytes) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front."""
        header = dkim.sign(
            message, self.selector.encode(), self.domain.encode(), self.key,
            include_headers=list(SIGNED_HEADERS), linesep=b"\r\n",
        )
        return bytes(header) + message


def signer_for(settings: Settings) -> Signer | None:
    """The configured signer, or None when ``[dkim] key_file`` is empty."""
    cfg = settings.dkim
    if not cfg.key_file:
        return None
    if not cfg.selector:
        raise ConfigError("[dkim] selector is required with key_file", place="[dkim] selector")
    domain = cfg.domain or settings.sender.address.rpartition("@")[2]
    path = settings.resolve(cfg.key_file)
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the DKIM key: {exc.strerror}", place=str(path)) from None
    if b"PRIVATE KEY" not in key:
        raise ConfigError("not a PEM private key", place=str(path))
    return Signer(cfg.selector, domain, key)
