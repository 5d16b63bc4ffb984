"""Many rows in one statement, without building a model object per row.

``Model.bulk_create`` constructs and validates one Tortoise object per row
(tens of microseconds each); an import of 100,000 contacts with their audit
events would spend seconds on that alone. The values written here are already
checked and normalised, so they go straight to ``executemany``. Datetimes are
passed as aware UTC ``datetime`` objects, which both drivers store exactly as
Tortoise does (SQLite through the adapter Tortoise registers, asyncpg natively).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


def placeholders(conn: BaseDBAsyncClient, count: int) -> str:
    if conn.capabilities.dialect == "postgres":
        return ", ".join(f"${i}" for i in range(1, count + 1))
    return ", ".join("?" for _ in range(count))


async def insert_rows(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    chunk: int = 5000,
) -> None:
    """``INSERT INTO table (columns) VALUES (…)`` for every row, in chunks."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({placeholders(conn, len(columns))})'
    for i in range(0, len(rows), chunk):
        await conn.execute_many(sql, [list(r) for r in rows[i : i + chunk]])
