"""What every command shares: settings, running the async core, errors, output."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

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
    return "NO_COLOR" in os.environ


def console() -> Console:
    """Standard output (tables, results); plain when not a terminal or NO_COLOR."""
    return Console(no_color=_no_color(), highlight=False, soft_wrap=True)


def wide_console() -> Console:
    """Standard output, wide enough for the campaign tables when it is not a terminal."""
    out = console()
    if not out.is_terminal:
        out.width = 160
    return out


#: the delivery states, in the order the status tables show them
DELIVERY_STATES = tuple(state.value for state in DeliveryState)


def err_console() -> Console:
    return Console(stderr=True, no_color=_no_color(), highlight=False, soft_wrap=True)


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


def print_json(data: Any) -> None:
    """JSON on standard output: UTF-8, stable key order as given, one trailing newline."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def info(ctx: typer.Context, message: str) -> None:
    """A progress or summary line on stderr, unless --quiet."""
    if not state(ctx).quiet:
        err_console().print(message)
