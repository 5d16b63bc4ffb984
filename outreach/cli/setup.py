"""`outreach init`: asks on a terminal the first time; flags and defaults otherwise."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import fail, info, state
from outreach.config import CONFIG_NAME, Sender, Smtp
from outreach.errors import OutreachError
from outreach.setup import FLAGS, check_value, initialise, password_hints


def interactive() -> bool:
    """Whether init may ask questions: standard input and output are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


#: (key, question, help shown before it) in the order they are asked
QUESTIONS = (
    ("organisation", "Coalition name", ""),
    ("signature", "Signature under each letter (one line; edit outreach.toml for more)", ""),
    ("sender_name", "Sender name", ""),
    ("sender_address", "Sender address", "the address the letters come from"),
    ("smtp_url", "Relay URL", "smtp+starttls://user@host:587, smtps://user@host:465, or "
     "capture://outbox for a dress rehearsal"),
    ("imap_url", "Reply mailbox URL (optional)", "imaps://user@host:993/INBOX; "
     "press Enter to skip"),
    ("campaigner", "Your name (recorded with every change)", ""),
)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return ""


def _default(key: str, values: dict[str, str]) -> str:
    coalition = values.get("organisation") or Sender.organisation
    return {
        "organisation": Sender.organisation,
        "signature": f"The {coalition}" if not coalition.lower().startswith("the ")
        else coalition,
        "sender_name": coalition,
        "sender_address": Sender.address,
        "smtp_url": Smtp.url,
        "imap_url": "",
        "campaigner": _login(),
    }[key]


def _ask(key: str, question: str, note: str, values: dict[str, str]) -> str:
    """Ask until the answer is acceptable (a bad one is explained, then asked again)."""
    if note:
        typer.echo(f"  ({note})")
    while True:
        answer = typer.prompt(question, default=_default(key, values), show_default=True)
        try:
            return check_value(key, str(answer))
        except OutreachError as exc:
            typer.echo(f"  {exc.message}; try again", err=True)


def _values(given: dict[str, str], *, ask: bool) -> dict[str, str]:
    """Flags as given (checked); the rest asked (on a terminal) or left to the defaults."""
    values: dict[str, str] = {}
    for key, value in given.items():
        values[key] = check_value(key, value)
    if ask:
        for key, question, note in QUESTIONS:
            if key not in values:
                values[key] = _ask(key, question, note, values)
    elif "organisation" in values:  # the coalition's name carries into the defaults
        for key in ("signature", "sender_name"):
            values.setdefault(key, _default(key, values))
    return {k: v for k, v in values.items() if v or k == "imap_url"}


def init_command(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for outreach.toml and the database.")
    ] = Path("."),
    coalition: Annotated[str | None, typer.Option(
        "--coalition", help="The coalition's name (organisation).")] = None,
    signature: Annotated[str | None, typer.Option(
        "--signature", help="The signature under each letter.")] = None,
    sender_name: Annotated[str | None, typer.Option(
        "--sender-name", help="The name the letters come from.")] = None,
    sender: Annotated[str | None, typer.Option(
        "--sender", help="The address the letters come from.")] = None,
    relay: Annotated[str | None, typer.Option(
        "--relay", help="The SMTP relay URL, or capture://DIR for a dress rehearsal.")] = None,
    mailbox: Annotated[str | None, typer.Option(
        "--mailbox", help="The reply mailbox URL, e.g. imaps://user@host:993/INBOX.")] = None,
    campaigner: Annotated[str | None, typer.Option(
        help="Your name, recorded with every change you make.")] = None,
    non_interactive: Annotated[bool, typer.Option(
        "--non-interactive", help="Never ask: flags and defaults only.")] = False,
) -> None:
    """Create outreach.toml (commented) and the database; safe to run again."""
    explicit = state(ctx).config
    config_path = Path(explicit) if explicit else directory / CONFIG_NAME
    given = {key: value for key, value in (
        ("organisation", coalition), ("signature", signature), ("sender_name", sender_name),
        ("sender_address", sender), ("smtp_url", relay), ("imap_url", mailbox),
        ("campaigner", campaigner)) if value is not None}
    first_time = not config_path.exists()
    try:
        values = _values(given, ask=first_time and not non_interactive and interactive())
    except OutreachError as exc:
        fail(str(exc))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(
            initialise(directory, config=Path(explicit) if explicit else None, values=values)
        )
    except OutreachError as exc:
        fail(str(exc))
    if result.config_created:
        info(ctx, f"created {result.config_path}")
        for hint in password_hints(values):
            info(ctx, hint)
    else:
        unused = f" ({', '.join(FLAGS[k] for k in given)} not applied)" if given else ""
        info(ctx, f"kept existing {result.config_path}{unused}: it is never overwritten; "
                  "edit it to change a value")
    if result.migrations_applied:
        info(ctx, f"database {result.database_url}: applied {', '.join(result.migrations_applied)}")
    else:
        info(ctx, f"database {result.database_url}: schema already current")
    info(ctx, "next: outreach contacts import FILE  (or `outreach demo` for a dress rehearsal),"
              " then `outreach doctor` to check the set-up")
