"""`outreach report [CAMPAIGN…]`: the funnel, response rates, stances and follow-ups due."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import fail, info, run_db, when
from outreach.cli.progress import spinner
from outreach.config import Settings
from outreach.report import BREAKDOWNS, DEFAULT_LIMIT, FORMATS, render_report


def report_command(
    ctx: typer.Context,
    campaigns: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CAMPAIGN",
            help="Campaign names (default: every campaign).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            metavar="FIELD",
            help=f"Break down by {'|'.join(BREAKDOWNS)} (repeat; default country).",
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help=f"{'|'.join(FORMATS)} (default table)."),
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write to this file instead of the screen."),
    ] = None,
    after: Annotated[
        str,
        typer.Option(
            "--after",
            metavar="AGE",
            help="A follow-up is due this long after the letter (14d, 3w).",
        ),
    ] = "14d",
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            metavar="N",
            help="Rows of each list of targets (responsiveness, follow-ups due); 0 for every row.",
        ),
    ] = DEFAULT_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Report on campaigns: funnel per ask, response by breakdown, responsiveness,
    stances by country and group, follow-ups due."""
    if as_json:
        format = "json"
    if format not in FORMATS:
        fail(f"--format: unknown format {format!r} (one of {', '.join(FORMATS)})", code=2)

    async def body(settings: Settings) -> str:
        from outreach.replies.manage import parse_age

        with spinner(ctx, "computing the report"):
            return await render_report(
                list(campaigns or []),
                format=format,
                by=list(by or []),
                after=parse_age(after, place="--after"),
                limit=limit,
                show_time=lambda value: when(ctx, value),
            )

    text = run_db(ctx, body)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror}")
    info(ctx, f"report written to {out}")
