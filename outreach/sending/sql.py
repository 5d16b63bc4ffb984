"""The one dialect branch of the ledger's SQL: placeholders, timestamps, row locks.

SQLite stores Tortoise's timestamps as ISO text (``2026-12-01 09:00:00.000000+00:00``),
compared as strings; PostgreSQL takes ``datetime`` values and ``$n`` placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


class Sql:
    """The one dialect branch: placeholders, timestamps and row locks."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.postgres = conn.capabilities.dialect == "postgres"

    def q(self, sql: str) -> str:
        if not self.postgres:
            return sql
        counter = iter(range(1, 10_000))
        return re.sub(r"\?", lambda _: f"${next(counter)}", sql)

    def ts(self, value: datetime | None) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value if self.postgres else value.isoformat(sep=" ", timespec="microseconds")

    @property
    def skip_locked(self) -> str:
        return " FOR UPDATE OF d SKIP LOCKED" if self.postgres else ""

    def unlocked(self, where: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """On PostgreSQL, ``AND id IN (rows matching WHERE that no transaction holds)``.

        The heartbeat's renew and reap update many rows in one statement; a claim
        transaction writing results locks some of the same rows in another order.
        Skipping the rows a transaction holds (it is settling them) avoids the deadlock.
        """
        if not self.postgres:
            return "", []
        return (f" AND id IN (SELECT id FROM delivery WHERE {where} FOR UPDATE SKIP LOCKED)",
                list(values))

    async def rows(self, sql: str, values: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return await self.conn.execute_query_dict(self.q(sql), list(values))

    async def run(self, sql: str, values: Sequence[Any] = ()) -> int:
        count, _ = await self.conn.execute_query(self.q(sql), list(values))
        return int(count)

    async def many(self, sql: str, values: list[list[Any]]) -> None:
        if values:
            await self.conn.execute_many(self.q(sql), values)


def as_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def marks(n: int) -> str:
    return ",".join("?" * n)
