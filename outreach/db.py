"""Opening the database: Tortoise initialisation, SQLite pragmas, schema upgrades.

The schema evolves through Tortoise ORM's own migrations (``outreach/migrations``).
``outreach init`` and ``outreach db upgrade`` apply them; every other command
refuses to run on a schema that is behind (or ahead of) this version of the code.
"""

from __future__ import annotations

import secrets
import sqlite3
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.exceptions import ConfigurationError, DBConnectionError, OperationalError
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.recorder import MigrationRecorder

from outreach.errors import DatabaseError

APP = "models"
MODELS = "outreach.models"
MIGRATIONS = "outreach.migrations"
#: SQLite: wait this long for a lock held by another process before giving up
BUSY_TIMEOUT_MS = 10_000


def connection_config(url: str) -> dict[str, Any]:
    """Tortoise's connection dict for a database URL, with our SQLite pragmas."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}journal_mode=WAL&busy_timeout={BUSY_TIMEOUT_MS}&synchronous=NORMAL"
    try:
        return expand_db_url(url)
    except (ConfigurationError, ValueError) as exc:
        raise DatabaseError(f"unusable database URL: {exc}", place=_safe_url(url)) from None


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {
            APP: {"models": [MODELS], "default_connection": "default", "migrations": MIGRATIONS}
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _safe_url(url: str) -> str:
    """The URL without any password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


#: the database engine whose SQL Tortoise has cached in this process
_cached_engine = ""


def _forget_sql_of_other_engine(engine: str) -> None:
    """Tortoise caches each model's INSERT/DELETE SQL per connection *name*, process-wide:
    after SQLite, a PostgreSQL database opened under the same name would get SQLite's
    ``?`` placeholders. Drop that cache when the engine changes."""
    global _cached_engine
    if _cached_engine and _cached_engine != engine:
        EXECUTOR_CACHE.clear()
    _cached_engine = engine


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite://"):
        target = url[len("sqlite://") :].split("?", 1)[0]
        return None if target == ":memory:" else Path(target)
    return None


async def _executor(ctx: TortoiseContext) -> MigrationExecutor:
    config = tortoise_config("sqlite://:memory:")["apps"]
    return MigrationExecutor(ctx.db(), config)


async def schema_status(ctx: TortoiseContext) -> tuple[list[str], list[str]]:
    """(applied migrations, pending migrations) of the open database."""
    recorder = MigrationRecorder(ctx.db())
    loader = MigrationLoader(tortoise_config("sqlite://:memory:")["apps"], recorder, load=False)
    await loader.build_graph()
    known = [key.name for key in loader.graph.leaf_nodes()]  # noqa: F841 - graph built
    everything = [key.name for key in loader.graph.forwards_plan(_leaf(loader))]
    try:
        applied_keys = await recorder.applied_migrations()
    except (OperationalError, DBConnectionError, Exception) as exc:  # no recorder table yet
        if "no such table" in str(exc) or "does not exist" in str(exc):
            applied_keys = []
        else:
            raise
    applied = [k.name for k in applied_keys if k.app_label == APP]
    unknown = [name for name in applied if name not in everything]
    if unknown:
        raise DatabaseError(
            f"this database was upgraded by a newer outreach (migration {unknown[-1]}); "
            "install that version",
        )
    pending = [name for name in everything if name not in applied]
    return applied, pending


def _leaf(loader: MigrationLoader) -> Any:
    leaves = [key for key in loader.graph.leaf_nodes() if key.app_label == APP]
    if len(leaves) != 1:
        raise DatabaseError(f"migrations of {APP!r} have {len(leaves)} heads, expected one")
    return leaves[0]


async def upgrade(ctx: TortoiseContext, *, target: str | None = None) -> list[str]:
    """Apply pending migrations (up to ``target``); return the names applied."""
    _, pending = await schema_status(ctx)
    executor = await _executor(ctx)
    from tortoise.migrations.executor import MigrationTarget

    targets = [MigrationTarget(app_label=APP, name=target or "__latest__")]
    await executor.migrate(targets)
    applied, _ = await schema_status(ctx)
    return [name for name in pending if name in applied]


@asynccontextmanager
async def open_db(
    url: str, *, create: bool = False, migrate: bool = False, check_schema: bool = True
) -> AsyncIterator[TortoiseContext]:
    """Open the database for one command.

    ``create``: a missing SQLite file may be created (only ``init`` does this).
    ``migrate``: apply pending migrations. Otherwise a schema that is not current
    is refused with the command that fixes it.
    """
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise DatabaseError(
                "no database here; run `outreach init` first", place=str(path)
            )
        if not path.parent.exists():
            raise DatabaseError("folder does not exist", place=str(path.parent))
    config = tortoise_config(url)
    _forget_sql_of_other_engine(str(config["connections"]["default"]["engine"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = TortoiseContext()
    async with ctx:
        try:
            await ctx.init(config=config, _create_db=False)
            await ctx.db().execute_query("SELECT 1")
        except (DBConnectionError, OSError, sqlite3.Error, OperationalError) as exc:
            raise DatabaseError(f"cannot open database: {exc}", place=_safe_url(url)) from None
        except Exception as exc:  # driver errors (asyncpg) have no common base
            raise DatabaseError(
                f"cannot open database: {type(exc).__name__}: {exc}", place=_safe_url(url)
            ) from None
        try:
            if migrate:
                try:
                    await upgrade(ctx)
                except sqlite3.OperationalError as exc:
                    raise DatabaseError(f"cannot upgrade: {exc}", place=_safe_url(url)) from None
            elif check_schema:
                _, pending = await schema_status(ctx)
                if pending:
                    raise DatabaseError(
                        f"the database schema is behind this version ({len(pending)} "
                        "migration(s) pending); run `outreach db upgrade`",
                        place=_safe_url(url),
                    )
            yield ctx
        except DatabaseError as exc:  # e.g. a newer schema: say which database
            exc.place = exc.place or _safe_url(url)
            raise
        except (OperationalError, sqlite3.OperationalError) as exc:
            trouble = _sqlite_trouble(str(exc))
            if path is None or trouble is None:
                raise
            raise DatabaseError(trouble, place=str(path)) from None


def _sqlite_trouble(text: str) -> str | None:
    """What a SQLite failure that is not a bug means to the user (None: a bug)."""
    if "database is locked" in text:
        return (f"locked by another process (waited {BUSY_TIMEOUT_MS / 1000:g} s); "
                "nothing was changed, try again when it has finished")
    if "readonly database" in text:
        return "the database file is read-only; nothing was changed"
    return None


async def get_setting(key: str, *, create: bool = True) -> str:
    """An installation secret from the `setting` table, made on first use."""
    from outreach.models import Setting

    row = await Setting.get_or_none(key=key)
    if row is not None:
        return row.value
    if not create:
        raise DatabaseError(f"setting {key!r} missing")
    value = secrets.token_hex(32)
    await Setting.get_or_create(key=key, defaults={"value": value})
    row = await Setting.get(key=key)
    return row.value
