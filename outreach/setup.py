"""`outreach init`: the configuration file and the database schema, idempotently.

The values a first ``init`` writes (asked on a terminal, else flags and defaults)
are checked here: :func:`check_value` for each, :func:`password_hints` for what
the campaigner must put in the environment (no password is ever written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from outreach import ids
from outreach.config import CONFIG_NAME, load_settings, render_config
from outreach.contacts.suppress import SALT_KEY
from outreach.db import get_setting, open_db, upgrade
from outreach.errors import ConfigError, InputError


@dataclass
class InitResult:
    config_path: Path
    config_created: bool
    database_url: str
    migrations_applied: list[str] = field(default_factory=list)


async def initialise(
    directory: Path, *, config: Path | None = None, values: dict[str, str] | None = None
) -> InitResult:
    """Write a commented config (unless one exists) and bring the schema up to date.

    Running it again changes nothing: an existing config is never overwritten.
    """
    config_path = config or directory / CONFIG_NAME
    created = False
    if not config_path.exists():
        text = render_config(**(values or {}))
        tmp = config_path.with_name(config_path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(config_path)
        created = True
    settings = load_settings(config_path)
    url = settings.database_url
    async with open_db(url, create=True, migrate=False, check_schema=False) as ctx:
        applied = await upgrade(ctx)
        # the installation secrets, made now so that no later command (even a failing
        # one) has to write them
        for key in (ids.MESSAGE_ID_KEY, SALT_KEY):
            await get_setting(key)
    return InitResult(config_path, created, settings.database_url, applied)


#: the values ``init`` writes: key in :func:`render_config` → its command-line flag
FLAGS = {
    "organisation": "--coalition",
    "signature": "--signature",
    "sender_name": "--sender-name",
    "sender_address": "--sender",
    "smtp_url": "--relay",
    "imap_url": "--mailbox",
    "campaigner": "--campaigner",
}


def check_value(key: str, value: str) -> str:
    """One value for the new config, checked as the configuration will use it.

    :class:`InputError` (place: the flag) when it is not acceptable.
    """
    from outreach.replies.imap import parse_imap_url
    from outreach.sending.relay import parse_relay_url

    place = FLAGS.get(key, key)
    text = value.strip()
    if key == "sender_address":
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise InputError(f"not a valid address: {text!r} ({exc})", place=place) from None
    try:
        if key == "smtp_url":
            parse_relay_url(text, place=place)
        elif key == "imap_url" and text:
            parse_imap_url(text, place=place)
    except ConfigError as exc:
        raise InputError(exc.message, place=place) from None
    if key in ("organisation", "sender_name") and not text:
        raise InputError("must not be empty", place=place)
    return text


def password_hints(values: dict[str, str]) -> list[str]:
    """Which environment variables the configured servers need (passwords are not written)."""
    from outreach.replies.imap import parse_imap_url
    from outreach.sending.relay import parse_relay_url

    hints: list[str] = []
    smtp = values.get("smtp_url", "")
    if smtp:
        relay = parse_relay_url(smtp)
        if relay.user:
            hints.append(f"set OUTREACH_SMTP_PASSWORD for {relay.user}@{relay.host} "
                         "(passwords are never written to outreach.toml)")
    imap = values.get("imap_url", "")
    if imap:
        mailbox = parse_imap_url(imap)
        hints.append(f"set OUTREACH_IMAP_PASSWORD for {mailbox.user}@{mailbox.host} "
                     "(passwords are never written to outreach.toml)")
    return hints
