"""`outreach worker`: serve every running campaign until stopped.

A worker is a long-lived sender. Every ``poll`` seconds it looks for campaigns in
state ``sending`` (and, when asked, ``planned``) and runs one
:class:`~outreach.sending.engine.Sender` for each campaign it does not already
serve. Any number of workers, and ``campaign send`` runs, on any number of
machines, share one database: claims take rows with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, leases and the reaper settle a sender that vanished,
and the pacing slots live in the database, so the rates hold for all of them.

Stopping (:func:`stop_on_signals`: SIGTERM or SIGINT) is graceful: no new
letter is claimed, the letter in progress on each connection is finished and
recorded, the rest go back to ``planned``; nothing is left ``sending``. A
second signal stops at once (the default action).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from outreach.campaigns.send import SendSummary, send_campaign
from outreach.config import Settings
from outreach.errors import OutreachError
from outreach.models import Campaign, CampaignState
from outreach.sending.engine import Tally, new_owner

log = logging.getLogger(__name__)

#: seconds between looks for campaigns to serve
POLL_SECONDS = 2.0
#: after a campaign's sender failed, wait this long before serving it again
RETRY_SECONDS = 30.0


@contextlib.contextmanager
def stop_on_signals(event: asyncio.Event) -> Iterator[asyncio.Event]:
    """Set ``event`` on the first SIGTERM or SIGINT; the next one has its default action.

    Must be entered inside the running event loop. Where the loop cannot handle
    signals (Windows), nothing is installed and Ctrl-C interrupts as usual.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)
        installed.clear()

    def first(sig: signal.Signals) -> None:
        log.info("%s: stopping (finishing the letters in progress)", sig.name)
        event.set()
        restore()

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, first, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            continue
        installed.append(sig)
    try:
        yield event
    finally:
        restore()


@dataclass
class Served:
    """What a worker did for one campaign (possibly over several runs)."""

    campaign: str
    tally: Tally = field(default_factory=Tally)
    runs: int = 0
    state: str = ""
    errors: list[str] = field(default_factory=list)

    def add(self, summary: SendSummary) -> None:
        self.tally.merge(summary.tally)
        self.runs += 1
        self.state = summary.state

    def to_json(self) -> dict[str, object]:
        return {"campaign": self.campaign, **asdict(self.tally), "runs": self.runs,
                "state": self.state, "errors": list(self.errors)}


@dataclass
class WorkerSummary:
    owner: str
    campaigns: dict[str, Served] = field(default_factory=dict)

    def served(self, name: str) -> Served:
        return self.campaigns.setdefault(name, Served(name))

    def to_json(self) -> list[dict[str, object]]:
        return [s.to_json() for s in self.campaigns.values()]


Event = Callable[[str], None]


async def runnable_campaigns(*, include_planned: bool) -> list[str]:
    """Names of the campaigns a worker should serve now, oldest first."""
    states = [CampaignState.SENDING.value]
    if include_planned:
        states.append(CampaignState.PLANNED.value)
    rows = await Campaign.filter(state__in=states).order_by("created_at", "id").values_list(
        "name", flat=True)
    return [str(name) for name in rows]


async def serve(
    *, settings: Settings, shutdown: asyncio.Event, include_planned: bool = False,
    concurrency: int | None = None, until_idle: bool = False, poll: float = POLL_SECONDS,
    retry: float = RETRY_SECONDS, on_event: Event | None = None,
) -> WorkerSummary:
    """Serve every runnable campaign until ``shutdown`` is set (or, with ``until_idle``,
    until no campaign is left to serve).

    Each campaign gets its own sender (``concurrency`` connections). A campaign whose
    sender stopped on an error (relay refused the login, say) is tried again after
    ``retry`` seconds; a campaign paused by the circuit breaker is left alone until
    the campaigner resumes it.
    """
    owner = new_owner()
    summary = WorkerSummary(owner)
    running: dict[str, asyncio.Task[SendSummary]] = {}
    resting: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    def say(message: str) -> None:
        log.info(message)
        if on_event is not None:
            on_event(message)

    def finished(name: str, task: asyncio.Task[SendSummary]) -> None:
        served = summary.served(name)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            result = task.result()
            served.add(result)
            t = result.tally
            say(f"{name}: {t.sent} sent, {t.deferred} deferred, {t.failed} failed, "
                f"{t.unknown} unknown, {t.released} given back; campaign {result.state}")
            return
        if not isinstance(exc, OutreachError):
            raise exc
        served.errors.append(str(exc))
        resting[name] = loop.time() + retry
        say(f"{name}: {exc} (trying again in {retry:g} s)")

    try:
        while not shutdown.is_set():
            for name, task in list(running.items()):
                if task.done():
                    del running[name]
                    finished(name, task)
            names = await runnable_campaigns(include_planned=include_planned)
            for name in names:
                if name in running or resting.get(name, 0.0) > loop.time():
                    continue
                say(f"{name}: serving")
                running[name] = asyncio.create_task(send_campaign(
                    name, settings=settings, concurrency=concurrency, owner=owner,
                    shutdown=shutdown))
            if until_idle and not running and not names:
                break
            waiters: set[asyncio.Future[Any]] = {
                asyncio.ensure_future(shutdown.wait()), *running.values()}
            _, pending = await asyncio.wait(
                waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                if waiter not in running.values():
                    waiter.cancel()
    finally:
        # shutdown is set (or we are idle, or failing): each sender finishes what it holds
        shutdown.set()
        if running:
            await asyncio.wait(running.values())
        for name, task in running.items():
            finished(name, task)
    return summary
