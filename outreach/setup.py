"""`outreach init`: the configuration file and the database schema, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from outreach import ids
from outreach.config import CONFIG_NAME, load_settings, render_config
from outreach.contacts.suppress import SALT_KEY
from outreach.db import get_setting, open_db, upgrade


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
