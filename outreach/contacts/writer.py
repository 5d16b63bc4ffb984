"""Writing an import: new contacts, changed contacts, opt-outs and audit events.

Everything happens in one transaction (a crash leaves the database as it was)
and without building a Tortoise object per row (see :mod:`outreach.contacts.bulk`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from outreach.contacts import fields
from outreach.contacts.bulk import insert_rows, placeholders
from outreach.contacts.suppress import SALT_KEY, hash_with
from outreach.db import get_setting
from outreach.models import Contact, Suppression

#: (stage, done, total): "reading", "checking", "writing"
Progress = Callable[[str, int, int], None]
CHUNK = 900
#: the columns an import may change, as stored (lists as JSON text)
STORED = tuple(fields.COLUMNS)


EventRow = tuple[int | None, int | None, dict[str, Any]]


@dataclass
class Candidate:
    """One future contact: merged values of the rows that describe it."""

    place: str
    file: str
    values: dict[str, Any]
    ep: bool
    keys: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Plan:
    create: list[tuple[Candidate, dict[str, Any]]] = field(default_factory=list)
    update: list[tuple[Candidate, int, dict[str, Any]]] = field(default_factory=list)
    suppress: list[tuple[str, str, str]] = field(default_factory=list)


#: the columns a new contact row is written with, and their empty values
_INSERT_COLUMNS = (*STORED, "source_file", "source_date", "created_at", "updated_at")
_EMPTY: dict[str, Any] = {c: "" for c in STORED} | {
    "email": None,
    "ep_id": None,
    "committees": "[]",
    "tags": "[]",
    "kind": "other",
}


async def _created(
    conn: BaseDBAsyncClient, plan: Plan, now: datetime, progress: Progress | None, total: int
) -> list[EventRow]:
    """Insert the new contacts; their ids are read back by key from the rows above the old top."""
    events: list[EventRow] = []
    if not plan.create:
        return events
    _, top = await conn.execute_query('SELECT COALESCE(MAX("id"), 0) AS top FROM "contact"')
    before = int(top[0]["top"])
    step = CHUNK * 5
    for i in range(0, len(plan.create), step):
        values = []
        for _, row in plan.create[i : i + step]:
            full = _EMPTY | row | {"created_at": now, "updated_at": now}
            values.append([full[c] for c in _INSERT_COLUMNS])
        await insert_rows(conn, "contact", _INSERT_COLUMNS, values)
        if progress:
            progress("writing", i + len(values), total)
    ids: dict[str, int] = {}
    for cid, email, ep in await Contact.filter(id__gt=before).values_list("id", "email", "ep_id"):
        ids[email or f"ep:{ep}"] = cid
    for cand, row in plan.create:
        key = row["email"] if row.get("email") else f"ep:{row['ep_id']}"
        events.append((ids[key], None, {"change": "created", "source": cand.place}))
    return events


async def _updated(
    conn: BaseDBAsyncClient, plan: Plan, now: datetime, progress: Progress | None, total: int
) -> list[EventRow]:
    """One ``UPDATE … WHERE id = ?`` per contact, batched by the set of columns changed."""
    events: list[EventRow] = []
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for cand, cid, changes in plan.update:
        columns = (*sorted(changes), "updated_at")
        groups.setdefault(columns, []).append([*(changes[c] for c in columns[:-1]), now, cid])
        what = sorted(k for k in changes if k not in ("source_file", "source_date"))
        events.append((cid, None, {"change": "updated", "fields": what, "source": cand.place}))
    done = len(plan.create)
    for columns, rows in groups.items():
        marks = placeholders(conn, len(columns) + 1).split(", ")
        sets = ", ".join(f'"{c}" = {m}' for c, m in zip(columns, marks, strict=False))
        sql = f'UPDATE "contact" SET {sets} WHERE "id" = {marks[-1]}'
        for i in range(0, len(rows), CHUNK * 5):
            await conn.execute_many(sql, rows[i : i + CHUNK * 5])
            done += len(rows[i : i + CHUNK * 5])
            if progress:
                progress("writing", done, total)
    return events


async def write(
    plan: Plan,
    *,
    summary: dict[str, Any],
    actor: str,
    now: datetime,
    progress: Progress | None = None,
) -> None:
    """Write a planned import in one transaction, with one summary event."""
    total = len(plan.create) + len(plan.update)
    async with in_transaction() as conn:
        events = await _created(conn, plan, now, progress, total)
        events += await _updated(conn, plan, now, progress, total)
        if plan.suppress:
            salt = await get_setting(SALT_KEY)
            await Suppression.bulk_create(
                [
                    Suppression(email=e, email_hash=hash_with(salt, e), reason=r, note=n)
                    for e, r, n in plan.suppress
                ]
            )
        events.append((None, None, summary))
        await insert_rows(
            conn,
            "event",
            ("at", "actor", "action", "contact_id", "campaign_id", "details"),
            [
                (now, actor, "contacts.import", contact_id, campaign_id, _details(details))
                for contact_id, campaign_id, details in events
            ],
        )


#: one encoder for every row (``json.dumps`` with options builds a new one per call)
_LIST_JSON = json.JSONEncoder(ensure_ascii=False).encode
_DETAILS_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


def list_text(values: list[str]) -> str:
    """What :func:`outreach.models.dump_list` writes, quicker."""
    return _LIST_JSON(values) if values else "[]"


def _details(details: dict[str, Any]) -> str:
    """What :func:`outreach.audit.record` writes for ``details``, quicker."""
    return _DETAILS_JSON(details)
