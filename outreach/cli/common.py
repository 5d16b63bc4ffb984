"""What every command shares: settings, running the async core, errors, output."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from outreach import localtime, runlog
from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.errors import OutreachError
from outreach.models import DeliveryState

T = TypeVar("T")


@dataclass
class AppState:
    config: str | None = None
    quiet: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def _no_color() -> bool:
    """NO_COLOR set to anything but the empty string: no colour (https://no-color.org)."""
    return os.environ.get("NO_COLOR", "") != ""


def _console(*, stderr: bool = False) -> Console:
    # colour system None: rich writes no style codes at all (colour, bold, italic)
    plain = _no_color()
    return Console(stderr=stderr, no_color=plain, color_system=None if plain else "auto",
                   highlight=False, soft_wrap=True)


def console() -> Console:
    """Standard output (tables, results); plain when not a terminal or NO_COLOR."""
    return _console()


def wide_console() -> Console:
    """Standard output, wide enough for the campaign tables when it is not a terminal."""
    out = console()
    if not out.is_terminal:
        out.width = 160
    return out


#: the delivery states, in the order the status tables show them
DELIVERY_STATES = tuple(state.value for state in DeliveryState)


def err_console() -> Console:
    """Standard error (progress, notes); plain when not a terminal or NO_COLOR."""
    return _console(stderr=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """One line on standard error, then exit."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def run(ctx: typer.Context, body: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Load the settings and run ``body`` on a new event loop, translating errors.

    ``OutreachError`` becomes one line on stderr with exit 1; Ctrl-C exits 130.
    """
    try:
        settings = state(ctx).settings()
        return asyncio.run(body(settings))
    except OutreachError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(130) from None
    except asyncio.CancelledError:  # SIGTERM during a logged run (see run_logged)
        sys.stderr.write("terminated\n")
        raise typer.Exit(143) from None


def run_db(
    ctx: typer.Context,
    body: Callable[[Settings], Coroutine[Any, Any, T]],
    *,
    create: bool = False,
    migrate: bool = False,
) -> T:
    """Like :func:`run`, with the database open around ``body``."""

    async def wrapped(settings: Settings) -> T:
        async with open_db(settings.database_url, create=create, migrate=migrate):
            return await body(settings)

    return run(ctx, wrapped)


def warn_insecure(what: str, place: str) -> None:
    """The warning ``--insecure`` owes, given before connecting (so even when it fails)."""
    sys.stderr.write(f"warning: --insecure: plain {what} to {place} is allowed; without "
                     "STARTTLS the password and the mail cross the network unencrypted\n")


def cells(*values: object) -> list[Text]:
    """Table cells shown as they are: a "[/x]" in a subject or a name is text, not markup."""
    return [Text(str(value)) for value in values]


def print_json(data: Any) -> None:
    """JSON on standard output: UTF-8, stable key order as given, one trailing newline."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def info(ctx: typer.Context, message: str) -> None:
    """A progress or summary line on stderr, unless --quiet."""
    if not state(ctx).quiet:
        err_console().print(message, markup=False)


def when(ctx: typer.Context, value: datetime | str | None, *, seconds: bool = False) -> str:
    """A time for a person: in [general] timezone (else the system's), zone named."""
    try:
        zone = localtime.zone(state(ctx).settings().general.timezone)
    except OutreachError as exc:
        fail(str(exc))
    return localtime.show(value, zone, seconds=seconds)


def run_logged(
    ctx: typer.Context, body: Callable[[Settings, runlog.Run], Coroutine[Any, Any, T]], *,
    command: str, campaign: str | None = None,
) -> T:
    """Like :func:`run_db`, appending the run's line to the run log however it ends.

    SIGTERM cancels the run (so the line says ``interrupted``) unless the body
    installs its own graceful handler, as ``campaign send`` does.
    """

    async def wrapped(settings: Settings) -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed = False
        if task is not None:
            try:
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
                installed = True
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
                pass
        try:
            with runlog.recording(settings, command=command, campaign=campaign) as record:
                async with open_db(settings.database_url):
                    return await body(settings, record)
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGTERM)

    return run(ctx, wrapped)
