"""The delivery ledger's SQL, all of it: claims, leases, results, counts.

States: ``planned → sending → sent | deferred | failed | unknown | skipped``.

* :func:`claim` takes a small batch of due letters in one transaction. It first
  writes the results of earlier letters it is given (group commit), then the
  global pacing row (an upsert, which on SQLite takes the write lock
  and on PostgreSQL locks that row), so claims are serialised across every
  sender of every process; it then reads the due candidates (PostgreSQL: ``FOR
  UPDATE OF d SKIP LOCKED``), skips suppressed or erased contacts, moves letters
  outside their recipient's window to the next opening, holds the global and
  per-domain rates by advancing the pacing rows, and marks the chosen rows
  ``sending`` with a lease by a compare-and-set ``UPDATE … WHERE state IN
  ('planned', 'deferred') … RETURNING``.
* :func:`record` writes a batch of results on its own (the last ones of a run),
  like :func:`claim` only for rows this sender still holds.
* :func:`renew` extends this sender's leases; :func:`reap` turns every
  ``sending`` row whose lease ran out into ``unknown`` (never resent unless the
  campaigner asks: :func:`resend_unknown`).

SQL is written once with ``?`` placeholders; the one dialect branch is
:class:`~outreach.sending.sql.Sql` (PostgreSQL placeholders, timestamps, row locks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from outreach import refdata
from outreach.models import DeliveryState
from outreach.sending.pacing import Pace, take_slot, zone_for
from outreach.sending.sql import Sql, as_dt, marks

GLOBAL_KEY = "*"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=512)
def _zone_name(country: str) -> str:
    info = refdata.country(country) if country else None
    return info.timezone if info is not None else "UTC"


@dataclass(frozen=True)
class Claimed:
    """A letter this sender now holds."""

    id: int
    recipient: str
    message: bytes
    message_id: str
    token: str
    attempts: int
    first_attempt_at: datetime | None


@dataclass
class ClaimResult:
    rows: list[Claimed] = field(default_factory=list)
    skipped: int = 0
    #: the campaign is no longer sending (paused, cancelled, done)
    stopped: bool = False
    #: pacing held letters back until at least this moment
    blocked_until: datetime | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one attempt, to be recorded with others in one transaction."""

    id: int
    state: DeliveryState
    code: int | None
    text: str
    at: datetime
    next_attempt_at: datetime | None = None


async def claim(
    *, campaign_id: int, owner: str, batch: int, pace: Pace, lease: timedelta, now: datetime,
    results: Sequence[Result] = (),
) -> ClaimResult:
    """Take up to ``batch`` due letters of a sending campaign for ``owner``.

    ``results`` (outcomes of earlier letters) are written in the same transaction
    first: one commit records a batch and claims the next.
    """
    out = ClaimResult()
    async with in_transaction() as conn:
        sql = Sql(conn)
        await _write_results(sql, results, owner)
        slot_rows = await sql.rows(
            "INSERT INTO pacing_slot (key, next_slot_at) VALUES (?, ?) ON CONFLICT (key) "
            "DO UPDATE SET next_slot_at = pacing_slot.next_slot_at RETURNING next_slot_at",
            [GLOBAL_KEY, sql.ts(_EPOCH)],
        )
        global_slot = as_dt(slot_rows[0]["next_slot_at"])
        tolerance = pace.global_tolerance(batch)
        if take_slot(global_slot, now=now, interval=pace.global_interval,
                     tolerance=tolerance) is None:
            assert global_slot is not None
            out.blocked_until = global_slot - tolerance
            return out
        blocked: dict[str, datetime] = {}
        if pace.domain_interval:
            for row in await sql.rows(
                "SELECT key, next_slot_at FROM pacing_slot WHERE key LIKE 'd:%' "
                "AND next_slot_at > ?", [sql.ts(now)],
            ):
                blocked[str(row["key"])[2:]] = as_dt(row["next_slot_at"]) or now
        candidates = await _candidates(sql, campaign_id, now, list(blocked), batch * 5)
        if not candidates:
            state = await sql.rows("SELECT state FROM campaign WHERE id = ?", [campaign_id])
            out.stopped = not state or state[0]["state"] != "sending"
        take: list[int] = []
        skip: list[int] = []
        push: list[tuple[int, str, datetime]] = []
        slots: dict[str, datetime] = {}
        for cand in candidates:
            if len(take) >= batch:
                break
            # an erased contact is deleted (contact_id NULL, address blanked)
            if cand["suppressed"] or cand["contact_id"] is None or not cand["recipient"]:
                skip.append(int(cand["id"]))
                continue
            domain = str(cand["domain"])
            if domain in blocked:
                continue
            if pace.window is not None:
                zone = zone_for(_zone_name(str(cand["country"] or "")))
                opening = pace.window.next_open(now, zone)
                if opening > now:
                    push.append((int(cand["id"]), str(cand["state"]), opening))
                    continue
            new_global = take_slot(global_slot, now=now, interval=pace.global_interval,
                                   tolerance=tolerance)
            if new_global is None:
                out.blocked_until = (global_slot or now) - tolerance
                break
            if pace.domain_interval:
                blocked[domain] = slots["d:" + domain] = now + pace.domain_interval
            global_slot = new_global
            take.append(int(cand["id"]))
        if take and pace.global_interval and global_slot is not None:
            slots[GLOBAL_KEY] = global_slot
        await sql.many(
            "INSERT INTO pacing_slot (key, next_slot_at) VALUES (?, ?) ON CONFLICT (key) "
            "DO UPDATE SET next_slot_at = excluded.next_slot_at",
            [[key, sql.ts(value)] for key, value in slots.items()],
        )
        await _push(sql, push, now)
        if skip:
            out.skipped = await sql.run(
                f"UPDATE delivery SET state = 'skipped', smtp_text = ?, updated_at = ? "
                f"WHERE id IN ({marks(len(skip))}) AND state IN ('planned', 'deferred')",
                ["suppressed or erased contact (at claim time)", sql.ts(now), *skip],
            )
        if take:
            rows = await sql.rows(
                f"UPDATE delivery SET state = 'sending', lease_owner = ?, lease_expires_at = ?, "
                f"updated_at = ? WHERE id IN ({marks(len(take))}) "
                f"AND state IN ('planned', 'deferred') RETURNING id, recipient, message, "
                f"message_id, token, attempts, first_attempt_at",
                [owner, sql.ts(now + lease), sql.ts(now), *take],
            )
            order = {ident: n for n, ident in enumerate(take)}
            out.rows = sorted(
                (
                    Claimed(
                        id=int(r["id"]), recipient=str(r["recipient"]),
                        message=bytes(r["message"] or b""), message_id=str(r["message_id"]),
                        token=str(r["token"]), attempts=int(r["attempts"]),
                        first_attempt_at=as_dt(r["first_attempt_at"]),
                    )
                    for r in rows
                ),
                key=lambda c: order[c.id],
            )
        if not take and blocked and out.blocked_until is None:
            out.blocked_until = min(blocked.values())
    return out


async def _candidates(
    sql: Sql, campaign_id: int, now: datetime, blocked: list[str], limit: int
) -> list[dict[str, Any]]:
    """Due deferred letters, then due planned ones, of a campaign that is sending.

    One statement on SQLite (each claim is a round trip to the database thread);
    two on PostgreSQL, whose ``FOR UPDATE`` cannot follow a ``UNION``.
    """
    not_blocked = f" AND d.domain NOT IN ({marks(len(blocked))})" if blocked else ""
    # `+d.campaign_id` keeps SQLite's planner on the (state, scheduled_at) index (the
    # (campaign, contact) index would read every letter of the campaign). PostgreSQL cannot
    # estimate `+col`, and sorting on a second key defeats that index: with either, every
    # claim sorted all planned letters (~0.3 s a claim at 100,000), so it gets neither.
    campaign = "d.campaign_id" if sql.postgres else "+d.campaign_id"
    tie = "" if sql.postgres else ", d.id"

    def part(due: str) -> str:
        return (
            f"SELECT d.id, d.domain, d.state, d.contact_id, d.recipient, c.country, {due} AS due, "
            "(SELECT COUNT(*) FROM suppression s WHERE LOWER(s.email) = LOWER(d.recipient)) "
            "AS suppressed FROM delivery d LEFT JOIN contact c ON c.id = d.contact_id "
            f"WHERE {campaign} = ? AND d.state = ? AND "
            "EXISTS (SELECT 1 FROM campaign k WHERE k.id = ? AND k.state = 'sending') "
            f"AND {due} <= ?" + not_blocked + f" ORDER BY {due}{tie} LIMIT ?"
        )

    deferred = part("d.next_attempt_at")
    planned = part("d.scheduled_at")
    args = [campaign_id, campaign_id, sql.ts(now), *blocked, limit]
    if sql.postgres:
        first = await sql.rows(deferred + sql.skip_locked, [args[0], "deferred", *args[1:]])
        return first + await sql.rows(planned + sql.skip_locked,
                                      [args[0], "planned", *args[1:]])
    rows = await sql.rows(
        f"SELECT * FROM ({deferred}) AS a UNION ALL SELECT * FROM ({planned}) AS b",
        [args[0], "deferred", *args[1:], args[0], "planned", *args[1:]],
    )
    # deferred first, then by due time (UNION ALL promises no order)
    return sorted(rows, key=lambda r: (r["state"] != "deferred", str(r["due"]), r["id"]))


async def _push(sql: Sql, push: list[tuple[int, str, datetime]], now: datetime) -> None:
    """Letters outside their recipient's window wait for its next opening."""
    await sql.many(
        "UPDATE delivery SET scheduled_at = ?, updated_at = ? WHERE id = ? AND state = 'planned'",
        [[sql.ts(at), sql.ts(now), ident] for ident, state, at in push if state == "planned"],
    )
    await sql.many(
        "UPDATE delivery SET next_attempt_at = ?, updated_at = ? WHERE id = ? "
        "AND state = 'deferred'",
        [[sql.ts(at), sql.ts(now), ident] for ident, state, at in push if state == "deferred"],
    )


@dataclass(frozen=True)
class NewLetter:
    """A letter to insert: planned (with its message) or skipped (with the reason)."""

    campaign_id: int
    contact_id: int
    recipient: str
    domain: str
    message_id: str
    token: str
    scheduled_at: datetime
    state: str = "planned"
    subject: str = ""
    language: str = ""
    message: bytes | None = None
    smtp_text: str = ""


async def insert_letters(letters: Sequence[NewLetter], *, now: datetime) -> None:
    """Insert planned letters in one statement per batch (planning's hot path)."""
    sql = Sql(connections.get("default"))
    await sql.many(
        "INSERT INTO delivery (campaign_id, contact_id, recipient, domain, language, subject, "
        "message, message_id, token, state, scheduled_at, attempts, smtp_text, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        [[x.campaign_id, x.contact_id, x.recipient, x.domain, x.language, x.subject, x.message,
          x.message_id, x.token, x.state, sql.ts(x.scheduled_at), x.smtp_text, sql.ts(now),
          sql.ts(now)] for x in letters],
    )


async def record(results: Sequence[Result], *, owner: str) -> int:
    """Write a batch of outcomes in one transaction; returns how many were given."""
    if not results:
        return 0
    async with in_transaction() as conn:
        await _write_results(Sql(conn), results, owner)
    return len(results)


async def _write_results(sql: Sql, results: Sequence[Result], owner: str) -> None:
    """Outcomes, for rows this sender still holds (``sending``), or that the reaper marked
    ``unknown`` meanwhile (we now know what happened)."""
    await sql.many(
        "UPDATE delivery SET state = ?, smtp_code = ?, smtp_text = ?, sent_at = ?, "
        "next_attempt_at = ?, attempts = attempts + 1, "
        "first_attempt_at = COALESCE(first_attempt_at, ?), lease_expires_at = NULL, "
        "updated_at = ? WHERE id = ? AND lease_owner = ? AND state IN ('sending', 'unknown')",
        [[r.state.value, r.code, r.text,
          sql.ts(r.at if r.state is DeliveryState.SENT else None), sql.ts(r.next_attempt_at),
          sql.ts(r.at), sql.ts(r.at), r.id, owner] for r in results],
    )


async def release(ids: Sequence[int], *, owner: str, now: datetime) -> int:
    """Give back letters this sender claimed but never attempted."""
    if not ids:
        return 0
    sql = Sql(connections.get("default"))
    return await sql.run(
        f"UPDATE delivery SET state = CASE WHEN next_attempt_at IS NULL THEN 'planned' "
        f"ELSE 'deferred' END, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? "
        f"WHERE id IN ({marks(len(ids))}) AND lease_owner = ? AND state = 'sending'",
        [sql.ts(now), *ids, owner],
    )


async def renew(*, owner: str, until: datetime) -> int:
    """Extend every lease ``owner`` holds."""
    sql = Sql(connections.get("default"))
    where = "lease_owner = ? AND state = 'sending'"
    skip, extra = sql.unlocked(where, [owner])
    # a row a claim transaction holds is being settled: it needs no renewal
    return await sql.run(f"UPDATE delivery SET lease_expires_at = ? WHERE {where}{skip}",
                         [sql.ts(until), owner, *extra])


async def reap(*, now: datetime, campaign_id: int | None = None) -> int:
    """Letters whose sender vanished (lease expired) become ``unknown``."""
    sql = Sql(connections.get("default"))
    where = "state = 'sending' AND lease_expires_at < ?"
    args: list[Any] = [sql.ts(now)]
    if campaign_id is not None:
        where += " AND campaign_id = ?"
        args.append(campaign_id)
    # a row a transaction holds is being settled by its (living) sender: not reaped now
    skip, extra = sql.unlocked(where, args)
    return await sql.run(
        "UPDATE delivery SET state = 'unknown', lease_expires_at = NULL, updated_at = ?, "
        "smtp_text = 'the sender stopped while sending (lease expired): it may or may not "
        f"have gone; resend with --resend-unknown' WHERE {where}{skip}",
        [sql.ts(now), *args, *extra],
    )


async def resend_unknown(*, campaign_id: int, now: datetime) -> int:
    """The campaigner's decision: letters of unknown fate go out again, now."""
    sql = Sql(connections.get("default"))
    return await sql.run(
        "UPDATE delivery SET state = 'planned', scheduled_at = ?, next_attempt_at = NULL, "
        "lease_owner = NULL, updated_at = ? WHERE campaign_id = ? AND state = 'unknown'",
        [sql.ts(now), sql.ts(now), campaign_id],
    )


async def skip_open(*, campaign_id: int, reason: str, now: datetime) -> int:
    """Planned and deferred letters become ``skipped`` (the campaign was cancelled)."""
    sql = Sql(connections.get("default"))
    return await sql.run(
        "UPDATE delivery SET state = 'skipped', smtp_text = ?, updated_at = ? "
        "WHERE campaign_id = ? AND state IN ('planned', 'deferred')",
        [reason, sql.ts(now), campaign_id],
    )


async def counts(campaign_id: int) -> dict[str, int]:
    """Letters per state (every state present, zeros included)."""
    sql = Sql(connections.get("default"))
    out = {state.value: 0 for state in DeliveryState}
    for row in await sql.rows(
        "SELECT state, COUNT(*) AS n FROM delivery WHERE campaign_id = ? GROUP BY state",
        [campaign_id],
    ):
        out[str(row["state"])] = int(row["n"])
    return out


async def next_due(campaign_id: int) -> datetime | None:
    """The earliest moment a planned or deferred letter of the campaign falls due."""
    sql = Sql(connections.get("default"))
    rows = await sql.rows(
        "SELECT MIN(CASE WHEN state = 'planned' THEN scheduled_at ELSE next_attempt_at END) "
        "AS due FROM delivery WHERE campaign_id = ? AND state IN ('planned', 'deferred')",
        [campaign_id],
    )
    return as_dt(rows[0]["due"]) if rows else None


async def held_by_others(campaign_id: int, owner: str) -> int:
    """Letters of the campaign another sender (alive or not yet reaped) is sending."""
    sql = Sql(connections.get("default"))
    rows = await sql.rows(
        "SELECT COUNT(*) AS n FROM delivery WHERE campaign_id = ? AND state = 'sending' "
        "AND (lease_owner IS NULL OR lease_owner <> ?)", [campaign_id, owner],
    )
    return int(rows[0]["n"])
