"""The read-only queries behind ``outreach report``: a few flat SELECTs, compact rows.

Every query reads the campaigns in scope in one statement (no query per contact or
per letter), so a report over 100,000 letters costs a handful of round trips. The
rows are plain tuples and dataclasses; :mod:`outreach.report.compute` does the
arithmetic in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from tortoise import connections

from outreach.errors import NotFoundError
from outreach.models import load_list
from outreach.sending.sql import Sql, as_dt, marks

#: the reply kinds the report counts (complaints and unclassified notices are left out)
PERSON = "reply"
AUTO = "auto-reply"
BOUNCES = ("hard-bounce", "soft-bounce")
#: ids per ``IN (…)`` list
_CHUNK = 500


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    template: str
    asks: tuple[str, ...]
    state: str
    created_at: datetime | None
    follow_up_of: int | None


class Letter(NamedTuple):
    """One row of the ledger, as the report needs it."""

    id: int
    campaign_id: int
    contact_id: int | None
    state: str
    sent_at: datetime | None
    language: str


class Person(NamedTuple):
    """What the figures need of a target (names and addresses are read for listed rows
    only: :func:`contact_names`)."""

    id: int
    kind: str
    country: str
    language: str
    political_group: str
    #: the JSON text of the list (read with :func:`committees_of`)
    committees_json: str


_COMMITTEES: dict[str, tuple[str, ...]] = {}


def committees_of(person: Person) -> tuple[str, ...]:
    """A person's committees (the JSON text read once per distinct value)."""
    text = person.committees_json
    found = _COMMITTEES.get(text)
    if found is None:
        found = _COMMITTEES[text] = tuple(load_list(text))
    return found


@dataclass
class Dataset:
    """Everything one report reads, fetched once."""

    campaigns: list[CampaignInfo]
    letters: list[Letter] = field(default_factory=list)
    people: dict[int, Person] = field(default_factory=dict)
    #: (campaign id, contact id) → received times of person replies
    replied: dict[tuple[int, int], list[datetime]] = field(default_factory=dict)
    #: (campaign id, contact id) of letters auto-replied to, and of letters bounced
    auto_replied: set[tuple[int, int]] = field(default_factory=set)
    bounced: set[tuple[int, int]] = field(default_factory=set)
    #: contact id → {ask: latest stance}
    stances: dict[int, dict[str, str]] = field(default_factory=dict)
    #: the targets whose address is on the do-not-contact list
    suppressed: set[int] = field(default_factory=set)
    #: (campaign followed up, contact id) pairs that have a follow-up letter (not skipped)
    followed_up: set[tuple[int, int]] = field(default_factory=set)
    #: (campaign id, language) → the subject of one of its letters in that language
    subjects: dict[tuple[int, str], str] = field(default_factory=dict)


def _when(value: Any) -> datetime | None:
    """A stored time: SQLite's ISO text (with its offset) parsed directly, else as_dt."""
    if value is None:
        return None
    if type(value) is str and len(value) > 26:
        return datetime.fromisoformat(value)
    return as_dt(value)


def _sql() -> Sql:
    return Sql(connections.get("default"))


async def _tuples(sql: Sql, query: str, values: list[Any] | None = None) -> list[Any]:
    """Rows as sequences (no dict per row: the big reads go through here). On SQLite,
    plain tuples straight from the cursor: Tortoise's ``sqlite3.Row`` objects cost a
    third of the time of a 100,000-row read."""
    if sql.postgres:
        _, rows = await sql.conn.execute_query(sql.q(query), values or [])
        return list(rows)
    async with sql.conn.acquire_connection() as connection:
        cursor = await connection.execute(query, values or [])
        try:
            cursor.row_factory = None
            return list(await cursor.fetchall())
        finally:
            await cursor.close()


async def campaigns_in_scope(names: list[str]) -> list[CampaignInfo]:
    """The named campaigns (NotFoundError for an unknown one), or every campaign."""
    sql = _sql()
    query = ("SELECT id, name, template, asks, state, created_at, follow_up_of_id "
             "FROM campaign")
    values: list[Any] = []
    if names:
        from outreach.campaigns.manage import get_campaign

        for name in names:
            await get_campaign(name)  # the error names the known campaigns
        query += f" WHERE name IN ({marks(len(names))})"
        values = list(names)
    rows = await sql.rows(query + " ORDER BY created_at, id", values)
    if names and not rows:  # pragma: no cover - get_campaign raised already
        raise NotFoundError("no such campaign", place="campaign")
    return [
        CampaignInfo(
            id=int(r["id"]), name=str(r["name"]), template=str(r["template"]),
            asks=tuple(load_list(r["asks"])), state=str(r["state"]),
            created_at=as_dt(r["created_at"]), follow_up_of=r["follow_up_of_id"],
        )
        for r in rows
    ]


def _in(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    return f"{column} IN ({marks(len(ids))})", list(ids)


async def load_dataset(names: list[str]) -> Dataset:
    """Read the campaigns in scope, their letters, targets, replies and stances."""
    sql = _sql()
    data = Dataset(campaigns=await campaigns_in_scope(names))
    ids = [c.id for c in data.campaigns]
    if not ids:
        return data
    where, values = _in("campaign_id", ids)
    # of a letter, only columns of the covering index (campaign, state, sent_at, contact,
    # language): the stored messages are never read; its target's columns come with it
    rows = await _tuples(
        sql, "SELECT d.id, d.campaign_id, d.contact_id, d.state, d.sent_at, d.language, "
        "c.kind, c.country, c.language, c.political_group, c.committees FROM delivery d "
        f"LEFT JOIN contact c ON c.id = d.contact_id WHERE d.{where}", values)
    letters: list[Letter] = []
    people = data.people
    for r in rows:
        letters.append(Letter(r[0], r[1], r[2], r[3], _when(r[4]), r[5] or ""))
        if r[6] is not None and r[2] not in people:
            people[r[2]] = Person(r[2], r[6], r[7], r[8], r[9], r[10] or "[]")
    data.letters = letters
    for campaign_id, language in sorted({(x.campaign_id, x.language) for x in letters}):
        first = await _tuples(
            sql, "SELECT subject FROM delivery WHERE campaign_id = ? AND language = ? LIMIT 1",
            [campaign_id, language])
        data.subjects[(campaign_id, language)] = str(first[0][0] or "") if first else ""
    targets = f"SELECT contact_id FROM delivery WHERE {where}"
    kinds = (PERSON, AUTO, *BOUNCES)
    replies = await _tuples(
        sql, "SELECT campaign_id, contact_id, delivery_id, kind, received_at FROM reply "
        f"WHERE kind IN ({marks(len(kinds))}) AND ({where} OR delivery_id IN "
        f"(SELECT id FROM delivery WHERE {where}))", [*kinds, *values, *values])
    in_scope = set(ids)
    by_delivery: dict[int, tuple[int, int | None]] = {}
    for campaign, contact, delivery, kind, received in replies:
        if (campaign is None or contact is None) and delivery is not None:
            if not by_delivery:  # a reply matched through its letter only: rare
                by_delivery = {x.id: (x.campaign_id, x.contact_id) for x in data.letters}
            campaign, contact = by_delivery.get(delivery, (None, None))
        if campaign is None or contact is None or campaign not in in_scope:
            continue
        key = (campaign, contact)
        if kind == PERSON:
            when = as_dt(received)
            if when is not None:
                data.replied.setdefault(key, []).append(when)
        elif kind == AUTO:
            data.auto_replied.add(key)
        else:
            data.bounced.add(key)
    stances = await _tuples(
        sql, f"SELECT contact_id, ask, stance FROM stance WHERE contact_id IN ({targets}) "
        "ORDER BY recorded_at, id", values)
    latest = data.stances
    for contact_id, ask, value in stances:
        found = latest.get(contact_id)
        if found is None:
            found = latest[contact_id] = {}
        found[ask] = value
    rows = await _tuples(sql, "SELECT c.id FROM contact c JOIN suppression s "
                         "ON s.email = c.email")
    data.suppressed = {r[0] for r in rows}
    follow = await sql.rows(
        "SELECT c.follow_up_of_id AS first, d.contact_id AS contact FROM delivery d "
        "JOIN campaign c ON c.id = d.campaign_id "
        f"WHERE d.state <> 'skipped' AND d.contact_id IS NOT NULL AND c.follow_up_of_id IN "
        f"({marks(len(ids))})", list(ids))
    data.followed_up = {(int(r["first"]), int(r["contact"])) for r in follow}
    return data


async def contact_names(ids: list[int]) -> dict[int, tuple[str, str]]:
    """contact id → (name, e-mail address), for the rows a report lists."""
    sql = _sql()
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        for cid, name, email in await _tuples(
                sql, f"SELECT id, name, email FROM contact WHERE id IN ({marks(len(part))})",
                part):
            out[int(cid)] = (str(name or ""), str(email or ""))
    return out


@dataclass(frozen=True)
class ReplyExcerpt:
    """A person's reply as the HTML report quotes it (untrusted text, escaped there)."""

    id: int
    campaign: str
    contact: str
    received_at: datetime | None
    subject: str
    text: str


async def recent_replies(campaigns: list[CampaignInfo], *, limit: int = 50,
                         chars: int = 400) -> list[ReplyExcerpt]:
    """The latest person replies to the campaigns, newest first, their own words cut short."""
    from outreach.replies.classify import own_text

    if not campaigns:
        return []
    names = {c.id: c.name for c in campaigns}
    where, values = _in("r.campaign_id", list(names))
    rows = await _sql().rows(
        "SELECT r.id, r.campaign_id, r.from_address, r.received_at, r.subject, r.body, "
        "c.email FROM reply r LEFT JOIN contact c ON c.id = r.contact_id "
        f"WHERE r.kind = 'reply' AND {where} ORDER BY r.received_at DESC, r.id DESC "
        f"LIMIT {int(limit)}", values)
    out = []
    for r in rows:
        text = " ".join(own_text(str(r["body"] or "")).split())
        out.append(ReplyExcerpt(
            id=int(r["id"]), campaign=names[int(r["campaign_id"])],
            contact=str(r["email"] or r["from_address"] or ""),
            received_at=as_dt(r["received_at"]), subject=str(r["subject"] or ""),
            text=text[:chars] + ("…" if len(text) > chars else "")))
    return out
