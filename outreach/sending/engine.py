"""The sender: K SMTP connections, each a task claiming small batches from the ledger.

Each worker holds one persistent :class:`~outreach.sending.relay.Session`,
claims up to ``batch`` due letters (pacing is held by the claim), sends them
one after another, and hands the outcomes to the :class:`Recorder`. Every
worker's outcomes are written together (group commit) in the transaction of
the next claim, by whichever worker claims first, so a worker's results are
recorded before, or as, it takes new letters: at most ``K × batch`` letters
are ever unrecorded, the bound on ``unknown`` letters if the process dies.
A heartbeat renews the leases; a worker whose lease might have run out (the
process stalled) sends nothing more and gives its letters back. A
:class:`Breaker` pauses the campaign when too many recent attempts failed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

import aiosmtplib
from tortoise.exceptions import OperationalError

from outreach.errors import TransportError
from outreach.ids import plus_address
from outreach.letters import with_date
from outreach.models import DeliveryState
from outreach.sending import ledger
from outreach.sending.dkim import Signer
from outreach.sending.ledger import Claimed, Result
from outreach.sending.outcome import BACKOFF_BASE, Outcome, settle
from outreach.sending.pacing import Clock, Pace, utcnow
from outreach.sending.relay import RelayConfig, Session

#: never sleep longer than this between looks at the ledger (other senders, resume)
POLL_SECONDS = 1.0
#: how often a sender with nothing left to claim looks again while other senders hold
#: letters of the campaign (they may give some back, or finish: then it settles and exits)
OTHERS_POLL_SECONDS = 0.25
#: with ``once``, a pacing slot further off than this is not waited for: the run stops
#: (a slot seconds away is waited for; a per-domain slot a minute away is not)
ONCE_MAX_WAIT_SECONDS = 15.0
#: a connection idle this long is closed before use (relays drop idle sessions)
MAX_IDLE_SECONDS = 30.0


def new_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Tally:
    """What this run did (letters, not SMTP commands)."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    released: int = 0

    def add(self, state: DeliveryState | None) -> None:
        if state is None:
            self.released += 1
        else:
            name = state.value
            setattr(self, name, getattr(self, name) + 1)

    def merge(self, other: Tally) -> None:
        """Add another run's counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def attempted(self) -> int:
        return self.sent + self.deferred + self.failed + self.unknown


class Breaker:
    """Trips when at least ``threshold`` of the last ``window`` attempts went wrong."""

    def __init__(self, *, threshold: float, window: int) -> None:
        self.window = max(window, 1)
        self.limit = max(1, round(threshold * self.window)) if threshold > 0 else None
        self.recent: deque[bool] = deque(maxlen=self.window)
        self.last_error = ""

    def add(self, ok: bool, text: str = "") -> bool:
        """Record an attempt; True when the breaker trips."""
        self.recent.append(ok)
        if not ok:
            self.last_error = text
        if self.limit is None:
            return False
        return sum(1 for good in self.recent if not good) >= self.limit

    def reason(self) -> str:
        bad = sum(1 for good in self.recent if not good)
        return (f"paused by the circuit breaker: {bad} of the last {len(self.recent)} attempts "
                f"went wrong (last: {self.last_error})")


class Recorder:
    """Collects every connection's outcomes; they are written together (group commit),
    normally in the transaction of the next claim (:meth:`take`), else by :meth:`flush`."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.pending: list[Result] = []
        self.lock = asyncio.Lock()

    def add(self, result: Result) -> None:
        self.pending.append(result)

    def take(self) -> list[Result]:
        batch, self.pending = self.pending, []
        return batch

    def give_back(self, batch: list[Result]) -> None:
        self.pending[:0] = batch

    async def flush(self) -> None:
        async with self.lock:
            if not self.pending:
                return
            batch, self.pending = self.pending, []
            await ledger.record(batch, owner=self.owner)


@dataclass
class SendPlan:
    """Everything a sending run needs, resolved by the caller."""

    campaign_id: int
    campaign_name: str
    pace: Pace
    relay: RelayConfig
    envelope_from: str
    plus_addressing: bool = False
    concurrency: int = 4
    batch: int = 10
    lease: timedelta = timedelta(seconds=60)
    max_age: timedelta = timedelta(hours=72)
    #: first retry of a deferred letter after this long (doubled at each attempt)
    retry_base: timedelta = BACKOFF_BASE
    breaker_threshold: float = 0.5
    breaker_window: int = 20
    limit: int | None = None
    once: bool = False
    signer: Signer | None = None


@dataclass
class SendReport:
    tally: Tally = field(default_factory=Tally)
    paused_reason: str = ""
    reaped: int = 0
    finished: bool = False


Progress = Callable[[Tally], None]
#: told the moment the sender waits for (the next pacing slot or due letter)
Waiting = Callable[[datetime], None]


class Sender:
    """One sending process's share of one campaign."""

    def __init__(self, plan: SendPlan, *, clock: Clock = utcnow,
                 progress: Progress | None = None, owner: str | None = None,
                 shutdown: asyncio.Event | None = None, waiting: Waiting | None = None) -> None:
        self.plan = plan
        #: set from outside (SIGTERM): stop claiming, finish the letter in progress on each
        #: connection, give the rest back to `planned`, record every result, return
        self.shutdown = shutdown
        self.clock = clock
        self.progress = progress
        self.waiting = waiting
        self.owner = owner or new_owner()
        self.recorder = Recorder(self.owner)
        self.breaker = Breaker(threshold=plan.breaker_threshold, window=plan.breaker_window)
        self.report = SendReport()
        self.stop = asyncio.Event()
        self.claimed = 0
        self.fatal: BaseException | None = None
        #: monotonic deadline of our leases as last renewed (minus a safety margin)
        self.lease_ok_until = 0.0

    async def run(self) -> SendReport:
        plan = self.plan
        self.report.reaped = await ledger.reap(now=self.clock(), campaign_id=plan.campaign_id)
        heartbeat = asyncio.create_task(self._heartbeat())
        watcher = asyncio.create_task(self._watch_shutdown())
        workers = [asyncio.create_task(self._worker()) for _ in range(plan.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            self.stop.set()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for task in (heartbeat, watcher):
                task.cancel()
            await asyncio.gather(heartbeat, watcher, return_exceptions=True)
            await self.recorder.flush()
        if self.fatal is not None:
            raise self.fatal
        return self.report

    async def _watch_shutdown(self) -> None:
        if self.shutdown is not None:
            await self.shutdown.wait()
            self.stop.set()

    async def _heartbeat(self) -> None:
        lease = self.plan.lease.total_seconds()
        while not self.stop.is_set():
            await asyncio.sleep(lease / 3)
            started = time.monotonic()
            try:
                await ledger.renew(owner=self.owner, until=self.clock() + self.plan.lease)
                self.lease_ok_until = started + lease * 0.8
                self.report.reaped += await ledger.reap(now=self.clock(),
                                                        campaign_id=self.plan.campaign_id)
            except OperationalError:
                # the database was busy: try again at the next beat; letters whose lease
                # might lapse meanwhile are not sent (see _send_one)
                continue

    def _note(self, outcome: Outcome) -> None:
        if outcome.state is None:
            ok = False
        else:
            ok = outcome.state in (DeliveryState.SENT,)
        text = f"{outcome.code or ''} {outcome.text}".strip()
        if self.breaker.add(ok, text) and not self.report.paused_reason:
            self.report.paused_reason = self.breaker.reason()
            self.stop.set()

    async def _connect(self, session: Session, backoff: list[float]) -> bool:
        try:
            await session.connect()
        except TransportError as exc:
            self.fatal = exc
            self.stop.set()
            return False
        except (TimeoutError, OSError, aiosmtplib.SMTPException) as exc:
            self._note(Outcome(None, None, f"relay not reachable: {exc}"))
            delay = backoff[0]
            backoff[0] = min(delay * 2, 30.0)
            await self._sleep(delay)
            return False
        backoff[0] = 0.5
        return True

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=max(seconds, 0.0))
        except TimeoutError:
            pass

    async def _worker(self) -> None:
        plan = self.plan
        session = Session(plan.relay)
        backoff = [0.5]
        try:
            while not self.stop.is_set():
                if session.smtp is None and not await self._connect(session, backoff):
                    continue
                size = plan.batch
                if plan.limit is not None:
                    size = min(size, plan.limit - self.claimed)
                    if size <= 0:
                        return
                self.claimed += size  # reserved before the await: --limit holds across workers
                deadline = time.monotonic() + plan.lease.total_seconds() * 0.8
                # One claim at a time per sender: a claim that writes another connection's
                # results commits before the next claim starts, so a connection never holds
                # a new batch while its finished one is still `sending` in the database.
                async with self.recorder.lock:
                    results = self.recorder.take()
                    try:
                        got = await ledger.claim(
                            campaign_id=plan.campaign_id, owner=self.owner, batch=size,
                            pace=plan.pace, lease=plan.lease, now=self.clock(),
                            results=results,
                        )
                    except BaseException:
                        self.recorder.give_back(results)
                        raise
                self.claimed -= size - len(got.rows)
                self.report.tally.skipped += got.skipped
                if got.stopped:
                    return
                if not got.rows:
                    if not await self._wait(got.blocked_until):
                        return
                    continue
                await self._send_batch(session, got.rows, deadline)
                # the results go with this worker's next claim (or another's, or the
                # final flush): never more than K x batch letters are left unrecorded
                if self.progress is not None:
                    self.progress(self.report.tally)
        finally:
            await session.quit()

    async def _wait(self, blocked_until: datetime | None) -> bool:
        """Sleep until something may be due; False when this worker is finished."""
        plan = self.plan
        if blocked_until is None:
            due = await ledger.next_due(plan.campaign_id)
            if due is None and not plan.once and await ledger.held_by_others(
                plan.campaign_id, self.owner
            ):
                # another sender holds letters: wait until it settles them or its lease ends
                await self._sleep(OTHERS_POLL_SECONDS)
                return True
            if due is None or (plan.once and due > self.clock()):
                return False
            wake = due
        else:
            wake = blocked_until
            if plan.once and (wake - self.clock()).total_seconds() > ONCE_MAX_WAIT_SECONDS:
                return False  # due, but its pacing slot is later: --once does not wait
        if self.waiting is not None:
            self.waiting(wake)
        await self._sleep(min((wake - self.clock()).total_seconds(), POLL_SECONDS))
        return True

    async def _send_batch(self, session: Session, rows: list[Claimed], deadline: float) -> None:
        current = 0
        try:
            for current, row in enumerate(rows):
                if not await self._send_one(session, row, rows[current:], deadline):
                    return
        except asyncio.CancelledError:
            # interrupted (Ctrl-C, a failing sibling): letters not yet attempted go back; the
            # one in progress stays `sending` and becomes `unknown` when its lease runs out
            await ledger.release([r.id for r in rows[current + 1:]], owner=self.owner,
                                 now=self.clock())
            raise

    async def _send_one(self, session: Session, row: Claimed, rest: list[Claimed],
                        deadline: float) -> bool:
        """Send one letter; False (having given back ``rest``) when the batch must stop.

        Nothing is sent once the lease might have run out (the claim's, or the last
        renewal's): another sender may already count the letter as ``unknown``.
        """
        plan = self.plan
        if session.smtp is not None and session.idle_seconds > MAX_IDLE_SECONDS:
            await session.quit()
        if self.stop.is_set() or time.monotonic() > max(deadline, self.lease_ok_until) or (
            session.smtp is None and not await self._connect(session, [0.5])
        ):
            await self._give_back(rest)
            return False
        now = self.clock()
        message = with_date(row.message, now)
        if plan.signer is not None:
            message = plan.signer.sign(message)
        sender = plus_address(plan.envelope_from, row.token) if plan.plus_addressing \
            else plan.envelope_from
        outcome = await session.send(sender=sender, recipient=row.recipient, message=message)
        self._note(outcome)
        if outcome.state is None:  # not connected after all: nothing was attempted
            await self._give_back(rest)
            return False
        done = self.clock()
        final, retry = settle(outcome, now=done, attempts=row.attempts + 1,
                              first_attempt_at=row.first_attempt_at or now, max_age=plan.max_age,
                              base=plan.retry_base)
        assert final.state is not None
        self.recorder.add(Result(row.id, final.state, final.code, final.text, done, retry))
        self.report.tally.add(final.state)
        return True

    async def _give_back(self, rows: list[Claimed]) -> None:
        released = await ledger.release([r.id for r in rows], owner=self.owner, now=self.clock())
        self.report.tally.released += released
