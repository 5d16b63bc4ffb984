"""What an attempt to send one letter means for the ledger: the ONE place it is decided.

* 2xx after the end of data: ``sent``.
* 5xx, except 552 (mailbox full, temporary in practice): ``failed``.
* any other 4xx, 552, or a connection lost *before* the end of data: ``deferred``
  (retried with exponential backoff and jitter until the letter is too old).
* a connection lost or a timeout *after* the end of data was written: ``unknown``
  (the relay may have accepted it; never resent unless the campaigner asks).
* the relay cannot be reached at all: ``released`` (back to ``planned``; nothing
  was attempted, so nothing is counted against the letter).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from outreach.models import DeliveryState

#: first retry after this long (default of ``[smtp] retry_seconds``); doubled at each attempt
BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_CAP = timedelta(hours=4)


class Phase(StrEnum):
    """How far an SMTP transaction got when it ended."""

    CONNECT = "connect"  # no session: nothing was sent
    ENVELOPE = "envelope"  # MAIL FROM / RCPT TO / DATA command
    AFTER_DATA = "after-data"  # the message and its final dot were written


@dataclass(frozen=True)
class Outcome:
    state: DeliveryState | None  # None: release (nothing attempted)
    code: int | None
    text: str
    #: the connection cannot be used again (421, dropped, timed out)
    reconnect: bool = False

    @property
    def is_error(self) -> bool:
        return self.state is not DeliveryState.SENT


def classify_reply(code: int, text: str) -> Outcome:
    """An SMTP reply to MAIL, RCPT, DATA or the end of data."""
    text = text.strip()
    if 200 <= code < 300:
        return Outcome(DeliveryState.SENT, code, text)
    if code >= 500 and code != 552:
        return Outcome(DeliveryState.FAILED, code, text)
    return Outcome(DeliveryState.DEFERRED, code, text, reconnect=code == 421)


def classify_lost(phase: Phase, reason: str) -> Outcome:
    """The connection broke (or timed out) during ``phase``."""
    if phase is Phase.AFTER_DATA:
        return Outcome(
            DeliveryState.UNKNOWN, None,
            f"connection lost after the end of data ({reason}): the relay may have accepted it",
            reconnect=True,
        )
    if phase is Phase.ENVELOPE:
        return Outcome(
            DeliveryState.DEFERRED, None,
            f"connection lost before the end of data ({reason})", reconnect=True,
        )
    return Outcome(None, None, f"relay not reachable ({reason})", reconnect=True)


def retry_at(
    *, now: datetime, attempts: int, first_attempt_at: datetime | None, max_age: timedelta,
    rng: random.Random | None = None, base: timedelta = BACKOFF_BASE,
) -> datetime | None:
    """When a deferred letter is tried again, or None if it is too old to retry."""
    first = first_attempt_at or now
    if now - first >= max_age:
        return None
    delay: timedelta = min(base * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    jitter = float((rng or random).uniform(0.5, 1.0))
    later: datetime = now + delay * jitter
    return later


def settle(outcome: Outcome, *, now: datetime, attempts: int, first_attempt_at: datetime | None,
           max_age: timedelta, base: timedelta = BACKOFF_BASE
           ) -> tuple[Outcome, datetime | None]:
    """A deferral of a letter that is too old becomes a failure; otherwise its retry time
    (``base`` the first time, doubled at each attempt)."""
    if outcome.state is not DeliveryState.DEFERRED:
        return outcome, None
    when = retry_at(now=now, attempts=attempts, first_attempt_at=first_attempt_at,
                    max_age=max_age, base=base)
    if when is None:
        hours = max_age.total_seconds() / 3600
        return Outcome(
            DeliveryState.FAILED, outcome.code,
            f"{outcome.text} (gave up: still deferred after {hours:g} hours)",
        ), None
    return outcome, when
