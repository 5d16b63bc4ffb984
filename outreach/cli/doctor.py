"""`outreach doctor`, and the preflight `campaign send` runs before it writes anything."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from outreach.cli.common import info, print_json, state
from outreach.config import secret
from outreach.doctor import Check, Status, diagnose

SYMBOLS = {Status.OK: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.SKIP: "–"}
ASCII = {Status.OK: "ok", Status.FAIL: "FAIL", Status.WARN: "warn", Status.SKIP: "skip"}


def symbols(encoding: str | None) -> dict[Status, str]:
    """✓ ✗ ! – when the terminal's encoding can print them, else plain words."""
    try:
        "".join(SYMBOLS.values()).encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        width = max(len(s) for s in ASCII.values())
        return {k: v.ljust(width) for k, v in ASCII.items()}
    return SYMBOLS


def render(check: Check, marks: dict[Status, str]) -> list[str]:
    """One line per check; a failure or warning's fix on the next, indented."""
    lines = [f"{marks[check.status]} {check.name}: {check.line()}"]
    if check.fix and check.status in (Status.FAIL, Status.WARN):
        lines.append(f"    fix: {check.fix}")
    return lines


def _password(kind: str, user: str, host: str) -> str | None:
    value = secret(kind)
    if value is None and user and sys.stdin.isatty() and sys.stdout.isatty():
        value = typer.prompt(f"{kind.upper()} password for {user}@{host}", hide_input=True)
    return value


def _passwords(config: str | None) -> tuple[str | None, str | None]:
    """The SMTP and IMAP passwords (asked on a terminal when the environment has none)."""
    from outreach.config import load_settings
    from outreach.errors import OutreachError
    from outreach.replies.imap import parse_imap_url
    from outreach.sending.relay import parse_relay_url

    try:
        settings = load_settings(config)
    except OutreachError:
        return None, None  # the configuration check says why
    smtp = imap = None
    try:
        relay = parse_relay_url(settings.smtp.url)
        if relay.scheme != "capture":
            smtp = _password("smtp", relay.user, relay.host)
    except OutreachError:
        pass
    try:
        if settings.imap.url.strip():
            mailbox = parse_imap_url(settings.imap.url)
            imap = _password("imap", mailbox.user, mailbox.host)
    except OutreachError:
        pass
    return smtp, imap


def doctor_command(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", "-c", help="Also check this campaign: letters, schedule, audience.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the configuration, database, relay, mailbox, sender and DKIM (and a campaign)."""
    config = state(ctx).config
    smtp, imap = _passwords(config)
    checks = asyncio.run(diagnose(config=config, campaign=campaign, smtp_password=smtp,
                                  imap_password=imap))
    failed = [c for c in checks if c.failed]
    if as_json:
        print_json([c.to_json() for c in checks])
    else:
        marks = symbols(sys.stdout.encoding)
        for check in checks:
            for line in render(check, marks):
                typer.echo(line)
        warned = sum(c.status is Status.WARN for c in checks)
        summary = (f"{len(failed)} check(s) failed" if failed else "all checks passed")
        info(ctx, summary + (f", {warned} warning(s)" if warned else ""))
    if failed:
        raise typer.Exit(1)


def refuse_on_failures(ctx: typer.Context, checks: list[Check], *, force: bool) -> None:
    """The preflight's verdict: one ``error:`` line per failure and exit 1, unless --force.

    Warnings are shown (unless --quiet) when nothing failed.
    """
    failed = [c for c in checks if c.failed]
    if not failed:
        for check in checks:
            if check.status is Status.WARN:
                info(ctx, f"warning: {check.line()}")
        return
    if force:
        for check in failed:
            sys.stderr.write(f"warning: --force: sending despite a failed check: "
                             f"{check.line()}\n")
        return
    for n, check in enumerate(failed, 1):
        tail = ("; nothing was sent (`outreach doctor` explains, --force sends anyway)"
                if n == len(failed) else "")
        fix = f" (fix: {check.fix})" if check.fix else ""
        sys.stderr.write(f"error: {check.line()}{fix}{tail}\n")
    raise typer.Exit(1)


def preflight_or_refuse(ctx: typer.Context, name: str, *, password: str | None,
                        insecure: bool | None, proof: bool, force: bool) -> None:
    """``campaign send``'s checks (the campaign's and the relay's), before anything is written."""
    from outreach.cli.common import run_db
    from outreach.doctor import preflight

    checks = run_db(ctx, lambda s: preflight(name, settings=s, password=password,
                                             insecure=insecure, proof=proof))
    failed = [c for c in checks if c.failed]
    if failed and not force:
        _log_refusal(ctx, name, failed, proof=proof)
    refuse_on_failures(ctx, checks, force=force)


def _log_refusal(ctx: typer.Context, name: str, failed: list[Check], *, proof: bool) -> None:
    """A send the preflight refused is a run too: its line says ``refused`` and why."""
    from outreach import runlog

    settings = state(ctx).settings()
    record = runlog.Run(command="campaign send --proof" if proof else "campaign send",
                        campaign=name, outcome="refused")
    for check in failed:
        record.error(check.message, check.place)
    runlog.save(settings, record, seconds=0.0)
