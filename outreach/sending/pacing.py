"""Pacing as data: rates, the sending window, and the schedule they give.

A :class:`Pace` is what ``campaign plan`` saves with a campaign: a global rate
(letters a minute, all domains together), a per-recipient-domain rate (letters
an hour to one domain) and an optional sending window in each recipient's
local time, with or without weekends. The same object decides each letter's
``scheduled_at`` when planning (:func:`schedule`) and holds the rates again
when a sender claims letters (:func:`take_slot`, used by the ledger).

Rates are enforced with the generic cell rate algorithm: a slot row keeps the
theoretical time of the next letter; a letter may go when that time is not
later than now plus a tolerance. The per-domain tolerance is zero (strict
spacing); the global one allows a small batch when the interval is short.
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.errors import InputError

Clock = Callable[[], datetime]
T = TypeVar("T")

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
                 "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: the longest burst the global rate tolerates, whatever the batch size
MAX_GLOBAL_BURST = timedelta(seconds=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_rate(text: str, *, unit_seconds: int, place: str) -> float:
    """``"30/min"`` → letters per ``unit_seconds``; a bare number is in that unit."""
    value = text.strip().lower()
    if value in {"none", "unlimited", "0"}:
        return 0.0
    match = _RATE_RE.match(value)
    try:
        if match:
            number, unit = float(match.group(1)), match.group(2)
            rate = number * unit_seconds / _UNIT_SECONDS[unit]
        else:
            rate = float(value)
    except ValueError:
        rate = -1.0
    if rate <= 0:
        raise InputError(f"not a rate: {text!r} (write N/min, N/h or N/s)", place=place)
    return rate


@dataclass(frozen=True)
class Window:
    """Local working hours ``start``–``end`` (end excluded), optionally Monday to Friday."""

    start: time
    end: time
    weekdays_only: bool = False

    @classmethod
    def parse(cls, text: str, *, weekdays_only: bool = False, place: str = "--window") -> Window:
        match = _WINDOW_RE.match(text)
        if not match:
            raise InputError(f"not a window: {text!r} (write HH:MM-HH:MM)", place=place)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise InputError(f"not a window: {text!r}", place=place) from None
        if end <= start:
            raise InputError(f"the window must end after it starts: {text!r}", place=place)
        return cls(start, end, weekdays_only)

    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def _day_open(self, day: date) -> bool:
        return not (self.weekdays_only and day.weekday() >= 5)

    def next_open(self, when: datetime, zone: ZoneInfo) -> datetime:
        """The first moment at or after ``when`` inside the window, in UTC."""
        local = when.astimezone(zone)
        day = local.date()
        for _ in range(8):
            opening = datetime.combine(day, self.start, zone)
            closing = datetime.combine(day, self.end, zone)
            if self._day_open(day):
                if local < opening:
                    return opening.astimezone(UTC)
                if local < closing:
                    return when.astimezone(UTC)
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), zone)
        raise AssertionError("a window opens within a week")  # pragma: no cover

    def contains(self, when: datetime, zone: ZoneInfo) -> bool:
        return self.next_open(when, zone) == when.astimezone(UTC)


@lru_cache(maxsize=256)
def zone_for(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Pace:
    """Rates and window of one campaign; ``0`` means no limit."""

    rate_per_minute: float = 30.0
    per_domain_per_hour: float = 60.0
    window: Window | None = None

    @property
    def global_interval(self) -> timedelta:
        if not self.rate_per_minute:
            return timedelta(0)
        return timedelta(seconds=60 / self.rate_per_minute)

    @property
    def domain_interval(self) -> timedelta:
        if not self.per_domain_per_hour:
            return timedelta(0)
        return timedelta(seconds=3600 / self.per_domain_per_hour)

    def global_tolerance(self, batch: int) -> timedelta:
        return min(self.global_interval * max(batch - 1, 0), MAX_GLOBAL_BURST)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rate_per_minute": self.rate_per_minute,
            "per_domain_per_hour": self.per_domain_per_hour,
        }
        if self.window is not None:
            data["window"] = self.window.text()
            data["weekdays"] = self.window.weekdays_only
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pace:
        window = None
        if data.get("window"):
            window = Window.parse(str(data["window"]), weekdays_only=bool(data.get("weekdays")))
        return cls(
            rate_per_minute=float(data.get("rate_per_minute", 30.0)),
            per_domain_per_hour=float(data.get("per_domain_per_hour", 60.0)),
            window=window,
        )

    def describe(self) -> str:
        parts = [
            f"{self.rate_per_minute:g}/min" if self.rate_per_minute else "no global limit",
            f"{self.per_domain_per_hour:g}/h per domain" if self.per_domain_per_hour
            else "no per-domain limit",
        ]
        if self.window is not None:
            days = " on weekdays" if self.window.weekdays_only else ""
            parts.append(f"{self.window.text()} local time{days}")
        return ", ".join(parts)


def take_slot(
    slot: datetime | None, *, now: datetime, interval: timedelta, tolerance: timedelta
) -> datetime | None:
    """GCRA: the slot's new value if a letter may go now, else None."""
    if slot is not None and slot - now > tolerance:
        return None
    base = now if slot is None or slot < now else slot
    return base + interval


@dataclass(slots=True)
class Slotted:
    """A letter to schedule: its domain, its recipient's time zone, and the caller's item."""

    domain: str
    zone: str
    item: Any
    at: datetime | None = None


def schedule(
    letters: Sequence[Slotted],
    *,
    pace: Pace,
    start: datetime,
    global_next: datetime | None = None,
    domain_next: dict[str, datetime] | None = None,
) -> list[Slotted]:
    """Give every letter the earliest ``at`` the rates and window allow.

    Letters to one domain keep their order; domains are interleaved so that a
    slow domain (all MEPs) never holds the others back. ``global_next`` and
    ``domain_next`` continue an existing schedule (planning again).
    """
    gi, di = pace.global_interval, pace.domain_interval
    cursor = max(start, global_next or start)
    ready: dict[str, datetime] = dict(domain_next or {})
    groups: dict[tuple[str, str], deque[Slotted]] = {}
    for letter in letters:
        groups.setdefault((letter.domain, letter.zone), deque()).append(letter)
    heap: list[tuple[datetime, int, tuple[str, str]]] = []
    order = {key: n for n, key in enumerate(groups)}
    for key in groups:
        heapq.heappush(heap, (max(cursor, ready.get(key[0], cursor)), order[key], key))
    out: list[Slotted] = []
    while heap:
        bound, n, key = heapq.heappop(heap)
        domain, zone = key
        t = max(cursor, ready.get(domain, cursor))
        if pace.window is not None:
            t = pace.window.next_open(t, zone_for(zone))
        if t > bound:
            heapq.heappush(heap, (t, n, key))
            continue
        letter = groups[key].popleft()
        letter.at = t
        out.append(letter)
        ready[domain] = t + di
        cursor = t + gi
        if groups[key]:
            heapq.heappush(heap, (max(cursor, ready[domain]), n, key))
    return out
