"""Small network helpers shared by the SMTP and IMAP clients."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from outreach.config import Settings
from outreach.errors import ConfigError


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): plain text is allowed there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: Path | None, *, place: str) -> ssl.SSLContext | None:
    """A client context trusting only the CAs in ``ca_file`` (PEM); ``None``: the system's.

    Certificates and host names are still checked: this is for a private CA or a
    self-signed server, not a way to turn verification off.
    """
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except FileNotFoundError:
        raise ConfigError(f"CA file not found: {ca_file}", place=place) from None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise ConfigError(f"not a PEM file of CA certificates: {ca_file} ({reason})",
                          place=place) from None


def configured_tls_context(settings: Settings, section: str) -> ssl.SSLContext | None:
    """The context for ``[smtp]`` or ``[imap]``: trusting its ``ca_file`` when one is set."""
    ca_file: str = getattr(settings, section).ca_file
    return tls_context(settings.resolve(ca_file) if ca_file else None,
                       place=f"[{section}] ca_file")
