"""Progress of the long steps (import, plan, send, fetch, report) on standard error.

On a terminal: a rich progress bar (done / total, rate, elapsed, time left and a
note such as the next pacing slot). Anywhere else (a pipe, a log file, cron): a
plain line at most every :data:`PLAIN_EVERY` seconds, with no control
characters. With ``--quiet`` (or ``OUTREACH_QUIET=1``): nothing. The core knows
none of this: it calls a plain callback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from outreach.cli.common import err_console, state

#: seconds between two plain progress lines when standard error is not a terminal
PLAIN_EVERY = 15.0


class _RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("–/s")
        return Text(f"{speed:,.0f}/s" if speed >= 10 else f"{speed:,.1f}/s")


class Bar:
    """The callback handed to the core: ``bar(done, total)``, ``bar.note(text)``."""

    def __init__(self, what: str, *, total: int | None, unit: str, mode: str) -> None:
        self.what, self.total, self.unit, self.mode = what, total, unit, mode
        self.done = 0
        self.text = ""
        self.progress: Progress | None = None
        self.task: Any = None
        self.started = time.monotonic()
        self.last_line = self.started

    def start(self) -> None:
        if self.mode != "rich":
            return
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), _RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"), console=err_console(), transient=False)
        self.progress.start()
        self.task = self.progress.add_task(self.what, total=self.total, note="")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __call__(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if stage is not None and stage != self.what:
            self.what = stage
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=self.total,
                                 description=self.what)
        elif self.mode == "plain":
            self._plain()

    def stage(self, stage: str, done: int, total: int) -> None:
        """The contact import's callback: (stage, done, total)."""
        self(done, total, stage)

    def note(self, text: str) -> None:
        """A note after the bar (e.g. the next pacing slot); '' clears it."""
        if text == self.text:
            return
        self.text = text
        if self.progress is not None:
            self.progress.update(self.task, note=text)
        elif self.mode == "plain" and text:
            self._plain()

    def _plain(self) -> None:
        now = time.monotonic()
        if now - self.last_line < PLAIN_EVERY:
            return
        self.last_line = now
        of = f"/{self.total}" if self.total else ""
        rate = self.done / (now - self.started) if now > self.started else 0.0
        line = f"{self.what}: {self.done}{of} {self.unit} ({rate:.1f}/s)"
        if self.text:
            line += f"; {self.text}"
        err_console().print(line, markup=False, highlight=False, soft_wrap=True)


def _mode(ctx: typer.Context, enabled: bool) -> str:
    if not enabled or state(ctx).quiet:
        return "off"
    return "rich" if err_console().is_terminal else "plain"


@contextmanager
def progress(ctx: typer.Context, what: str, *, total: int | None = None,
             unit: str = "letters", enabled: bool = True) -> Iterator[Bar]:
    """A :class:`Bar` for the step; stopped (the bar left on screen) when it ends."""
    bar = Bar(what, total=total, unit=unit, mode=_mode(ctx, enabled))
    bar.start()
    try:
        yield bar
    finally:
        bar.stop()


@contextmanager
def spinner(ctx: typer.Context, what: str) -> Iterator[None]:
    """A spinner on a terminal while a step of unknown length runs; elsewhere nothing."""
    if _mode(ctx, True) != "rich":
        yield
        return
    with err_console().status(what):
        yield
