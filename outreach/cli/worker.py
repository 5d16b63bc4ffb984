"""`outreach worker`: a long-lived sender for every running campaign."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from outreach.cli.common import info, print_json, run_db
from outreach.config import Settings
from outreach.sending.worker import POLL_SECONDS, WorkerSummary, serve, stop_on_signals


def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-k", min=1,
        help="SMTP connections per campaign (default: smtp.concurrency in outreach.toml).")] = None,
    planned: Annotated[bool, typer.Option(
        "--planned", help="Also start campaigns that are planned but not yet sending.")]
    = False,
    until_idle: Annotated[bool, typer.Option(
        "--until-idle", help="Exit when no campaign is left to serve.")] = False,
    poll: Annotated[float, typer.Option(
        "--poll", min=0.05, help="Seconds between looks for campaigns to serve.")]
    = POLL_SECONDS,
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
) -> None:
    """Serve every sending campaign until stopped (SIGTERM or Ctrl-C: graceful).

    Run any number of workers, on any machines, against one PostgreSQL database.
    """

    async def body(settings: Settings) -> WorkerSummary:
        with stop_on_signals(asyncio.Event()) as shutdown:
            return await serve(settings=settings, shutdown=shutdown, include_planned=planned,
                               concurrency=concurrency, until_idle=until_idle, poll=poll,
                               on_event=lambda message: info(ctx, message))

    summary = run_db(ctx, body)
    if as_json:
        print_json(summary.to_json())
        return
    for served in summary.campaigns.values():
        t = served.tally
        typer.echo(f"{served.campaign}: {t.sent} sent, {t.deferred} deferred, "
                   f"{t.failed} failed, {t.unknown} unknown, {t.skipped} "
                   f"skipped; campaign {served.state or 'unchanged'}")
