"""Times shown to a person: in the campaigner's time zone, with the zone named.

The database keeps UTC and ``--json`` output keeps ISO 8601 with its offset;
only text meant to be read (tables, timelines, summaries) goes through
:func:`show`. The zone is ``[general] timezone`` (an IANA name such as
``Europe/Brussels``) when set, else the system's local zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.errors import ConfigError


def zone(name: str = "") -> tzinfo | None:
    """The zone called ``name``; ``None`` (the system's local zone) when empty."""
    name = name.strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} (write an IANA name such as "
                          "Europe/Brussels, or leave it empty for the system's)",
                          place="[general] timezone") from None


def parse(value: datetime | str) -> datetime:
    """A datetime from a datetime or ISO 8601 text; naive values are taken as UTC."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def show(value: datetime | str | None, where: tzinfo | None = None, *,
         seconds: bool = False, empty: str = "-") -> str:
    """``2026-11-28 18:05 CET``: ``value`` in zone ``where`` (None: the system's)."""
    if value is None or value == "":
        return empty
    try:
        when = parse(value)
    except ValueError:  # not a time after all: shown as it is
        return str(value)
    local = when.astimezone(where)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname() or local.strftime('%z')}"
