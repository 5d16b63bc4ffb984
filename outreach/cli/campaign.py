"""`outreach campaign`: create, plan, preview, send, status, list, pause, resume, cancel."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from outreach import runlog
from outreach.campaigns import manage, preview, send
from outreach.campaigns.plan import plan_campaign
from outreach.cli.common import DELIVERY_STATES as STATES
from outreach.cli.common import (
    cells,
    fail,
    info,
    print_json,
    run_db,
    run_logged,
    state,
    warn_insecure,
    when,
)
from outreach.cli.common import wide_console as console
from outreach.cli.progress import progress as progress_bar
from outreach.config import Settings, secret
from outreach.errors import InputError, OutreachError
from outreach.sending import ledger
from outreach.sending.engine import Tally
from outreach.sending.pacing import Pace, Window, parse_rate
from outreach.sending.relay import parse_relay_url
from outreach.sending.worker import stop_on_signals

app = typer.Typer(help="Create, plan, preview and send campaigns.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The campaign's name.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
#: the tally of a run, as the run log counts it
RUN_COUNTS = ("sent", "deferred", "failed", "unknown", "skipped")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Name,
    template: Annotated[str, typer.Option("--template", "-t", help="The letter to send.")],
    ask: Annotated[list[str], typer.Option("--ask", "-a", help="An ask (repeatable).")],
    where: Annotated[list[str] | None, typer.Option(
        "--where", "-w", help="FIELD=VALUE audience filter (repeatable); none: everyone.")] = None,
    exclude_campaign: Annotated[list[str] | None, typer.Option(
        "--exclude-campaign", help="Leave out everyone written to in this campaign.")] = None,
    from_address: Annotated[str, typer.Option("--from", help="Sender address.")] = "",
    reply_to: Annotated[str, typer.Option("--reply-to", help="Reply-To address.")] = "",
    as_json: Json = False,
) -> None:
    """Create a draft campaign and save its audience."""

    async def body(settings: Settings) -> manage.CampaignRow:
        await manage.create_campaign(
            name, settings=settings, template=template, asks=list(ask), where=where or [],
            exclude_campaigns=exclude_campaign or [], from_address=from_address,
            reply_to=reply_to)
        return await manage.campaign_status(name)

    row = run_db(ctx, body)
    if as_json:
        print_json(row.to_json())
    info(ctx, f"created campaign {name!r} (draft): {row.audience}; next: "
              f"`outreach campaign plan {name}`")


def _parse_start(text: str | None) -> datetime | None:
    if not text or text == "now":
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"not a date and time: {text!r} (write 2026-12-01T09:00)",
                         place="--start") from None
    return when if when.tzinfo else when.astimezone()


def _parse_cap(text: str | None) -> tuple[int, timedelta] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*d\s*", text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise InputError(f"not a cap: {text!r} (write N/30d)", place="--max-per-contact")
    return int(match.group(1)), timedelta(days=int(match.group(2)))


@app.command("plan")
def plan(
    ctx: typer.Context,
    name: Name,
    rate: Annotated[str | None, typer.Option("--rate", help="Letters per minute, e.g. 30/min.")]
    = None,
    per_domain: Annotated[str | None, typer.Option(
        "--per-domain", help="Letters per hour to one domain, e.g. 30/h.")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", help="Sending window in the recipient's local time, e.g. 09:00-17:30.")]
    = None,
    weekdays: Annotated[bool, typer.Option("--weekdays", help="Monday to Friday only.")] = False,
    start: Annotated[str | None, typer.Option("--start", help="Not before (ISO date/time).")]
    = None,
    rerender: Annotated[bool, typer.Option(
        "--rerender", help="Render again the letters not yet sent (same Message-IDs).")] = False,
    max_per_contact: Annotated[str | None, typer.Option(
        "--max-per-contact", help="At most N letters per contact across campaigns, e.g. 2/30d.")]
    = None,
    as_json: Json = False,
) -> None:
    """Render each letter once into the ledger, with the time it may go."""

    async def body(settings: Settings) -> Any:
        pace = None
        if rate or per_domain or window or weekdays or not await _has_pace(name):
            base = await _saved_pace(name, settings)
            win = base.window
            if window or weekdays:
                text = window or (win.text() if win else settings.pacing.window)
                if not text:
                    raise InputError("--weekdays needs a window (--window 09:00-17:30)",
                                     place="--weekdays")
                win = Window.parse(text, weekdays_only=weekdays or bool(win and
                                                                        win.weekdays_only))
            pace = Pace(
                rate_per_minute=parse_rate(rate, unit_seconds=60, place="--rate") if rate
                else base.rate_per_minute,
                per_domain_per_hour=parse_rate(per_domain, unit_seconds=3600,
                                               place="--per-domain") if per_domain
                else base.per_domain_per_hour,
                window=win,
            )
        with progress_bar(ctx, "rendering") as bar:
            return await plan_campaign(
                name, settings=settings, pace=pace, start=_parse_start(start), rerender=rerender,
                max_per_contact=_parse_cap(max_per_contact), progress=bar)

    report = run_db(ctx, body)
    if as_json:
        print_json(report.to_json())
        return
    out = console()
    out.print(f"{report.campaign}: {report.added} letters planned, {report.existing} existing"
              + (f", {report.rerendered} re-rendered" if rerender else ""))
    for label, value in (("already written to (excluded)", report.excluded),
                         ("no e-mail address", report.no_address),
                         ("suppressed (skipped)", report.suppressed),
                         ("over the per-contact cap", report.capped),
                         ("in English for want of their language", report.fell_back)):
        if value:
            out.print(f"  {value} {label}")
    if report.first_at and report.last_at:
        out.print(f"  from {when(ctx, report.first_at)} to {when(ctx, report.last_at)} at "
                  f"{report.pace}", markup=False)


async def _saved_pace(name: str, settings: Settings) -> Pace:
    """The campaign's pace from its last plan, else the configuration's."""
    campaign = await manage.get_campaign(name)
    if campaign.pacing not in ("", "{}"):
        return Pace.from_json(json.loads(campaign.pacing))
    p = settings.pacing
    window = Window.parse(p.window, weekdays_only=p.weekdays_only, place="[pacing] window") \
        if p.window else None
    return Pace(p.rate_per_minute, p.per_domain_per_hour, window)


async def _has_pace(name: str) -> bool:
    campaign = await manage.get_campaign(name)
    return campaign.pacing not in ("", "{}")


@app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    name: Name,
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default preview-NAME).")]
    = None,
    as_json: Json = False,
) -> None:
    """Write every letter as an .eml file and the schedule as CSV."""
    folder = out or Path(f"preview-{name}")
    result = run_db(ctx, lambda settings: preview.preview_campaign(name, out=folder))
    if as_json:
        print_json({"campaign": name, "letters": result.letters, "folder": str(result.folder),
                    "schedule": str(result.schedule)})
        return
    console().print(f"{result.letters} letters in {result.folder}/; schedule: {result.schedule}")


def _password(settings: Settings) -> str | None:
    url = parse_relay_url(settings.smtp.url)
    if url.scheme == "capture" or not url.user:
        return None
    value = secret("smtp")
    if value is None and sys.stdin.isatty():
        value = typer.prompt(f"SMTP password for {url.user}@{url.host}", hide_input=True)
    return value


@app.command("send")
def send_cmd(
    ctx: typer.Context,
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
    = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N letters.")]
    = None,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-k", min=1,
        help="SMTP connections (default: smtp.concurrency in outreach.toml).")]
    = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Send what is due now, then stop (do not wait).")] = False,
    proof: Annotated[str | None, typer.Option(
        "--proof", help="Send one proof letter to this address instead.")] = None,
    as_contact: Annotated[str | None, typer.Option(
        "--as", help="The target the proof is rendered for (e-mail, ep:ID or id).")] = None,
    resend_unknown: Annotated[bool, typer.Option(
        "--resend-unknown", help="Send again the letters whose fate is unknown.")] = False,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Allow plain SMTP to a relay off loopback.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Send even if a preflight check fails (see outreach doctor).")]
    = False,
    as_json: Json = False,
) -> None:
    """Send what is due, paced; wait for the rest unless --once."""
    st = state(ctx)
    try:  # outside run_db: a bad configuration or [smtp] url is one line, not a traceback
        settings = st.settings()
        password = _password(settings)
        relay = parse_relay_url(settings.smtp.url)
        if (insecure or settings.smtp.insecure) and relay.scheme == "smtp" and not relay.loopback:
            warn_insecure("SMTP", relay.place)
    except OutreachError as exc:
        fail(str(exc))
    unsafe = True if insecure else None
    from outreach.cli.doctor import preflight_or_refuse  # the campaign's and relay's checks

    preflight_or_refuse(ctx, name, password=password, insecure=unsafe, proof=bool(proof),
                        force=force)
    if proof:
        result = run_db(ctx, lambda s: send.send_proof(
            name, settings=s, address=proof, as_contact=as_contact, password=password,
            insecure=unsafe))
        outcome = result.outcome
        if outcome.state is None or outcome.state.value != "sent":
            fail(f"{proof}: proof not accepted: {outcome.code or ''} {outcome.text}".strip())
        console().print(f"proof for {result.target} sent to {result.address}: {result.subject}")
        return
    if resend_unknown:
        count = run_db(ctx, lambda s: send.resend_unknown(name, settings=s))
        info(ctx, f"{count} letters of unknown fate planned again")
    if not yes:
        row = run_db(ctx, lambda s: manage.campaign_status(name))
        c = row.counts
        due = c["planned"] + c["deferred"]
        typer.echo(f"campaign {name}: {due} letters to send ({c['sent']} sent already) "
                   f"via {parse_relay_url(settings.smtp.url).place}, paced at "
                   f"{Pace.from_json(row.pacing).describe()}", err=True)
        if not typer.confirm("Send now?", err=True):
            fail("nothing sent (use --yes to skip this question)")

    async def body(s: Settings, record: runlog.Run) -> send.SendSummary:
        counts = await ledger.counts((await manage.get_campaign(name)).id)
        total = counts["planned"] + counts["deferred"]
        if limit is not None:
            total = min(total, limit)

        def sent(tally: Tally) -> None:
            record.counts = {k: getattr(tally, k) for k in RUN_COUNTS}
            bar(tally.attempted + tally.skipped, total)

        def waiting(at: datetime) -> None:
            ahead = at > datetime.now(at.tzinfo) + timedelta(seconds=2)
            bar.note(f"next slot {when(ctx, at, seconds=True)}" if ahead else "")

        with progress_bar(ctx, "sending", total=total) as bar, \
                stop_on_signals(asyncio.Event()) as shutdown:
            # SIGTERM / first Ctrl-C: finish the letters in progress, give back the rest
            result = await send.send_campaign(
                name, settings=s, limit=limit, concurrency=concurrency, once=once,
                password=password, insecure=unsafe, shutdown=shutdown, progress=sent,
                waiting=waiting)
        sent(result.tally)
        record.outcome = ("interrupted" if shutdown.is_set() else
                          "paused" if result.state == "paused" else "ok")
        if result.paused_reason:
            record.error(result.paused_reason, "campaign")
        return result

    summary = run_logged(ctx, body, command="campaign send", campaign=name)
    if as_json:
        print_json(summary.to_json())
    else:
        t = summary.tally
        console().print(f"{name}: {t.sent} sent, {t.deferred} deferred, {t.failed} failed, "
                        f"{t.unknown} unknown, {t.skipped} skipped this run; campaign "
                        f"{summary.state}")
        if summary.paused_reason:
            info(ctx, f"paused: {summary.paused_reason}")
        if summary.capture_dir:
            info(ctx, f"captured letters: {summary.capture_dir}")
    if summary.state == "paused":
        raise typer.Exit(1)


@app.command("status")
def status(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Letters per state."""
    row = run_db(ctx, lambda s: manage.campaign_status(name))
    if as_json:
        data = row.to_json()
        print_json({"campaign": data["campaign"], "state": row.state, "total": row.total,
                    "counts": {k: row.counts.get(k, 0) for k in STATES},
                    "pause_reason": row.pause_reason, "pacing": row.pacing,
                    "next_due": data["next_due"]})
        return
    table = Table(title=f"{name} ({row.state})", box=box.SIMPLE)
    table.add_column("state")
    table.add_column("letters", justify="right")
    for key in STATES:
        table.add_row(key, str(row.counts.get(key, 0)))
    table.add_row("total", str(row.total))
    out = console()
    out.print(table)
    if row.next_due is not None:
        out.print(f"next letter due: {when(ctx, row.next_due)}", markup=False)
    if row.pause_reason:
        out.print(f"paused: {row.pause_reason}", markup=False)


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: Json = False) -> None:
    """Every campaign with its state and counts."""
    rows = run_db(ctx, lambda s: manage.list_campaigns())
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    table = Table(box=box.SIMPLE)
    for col in ("campaign", "state", "template", "audience", "total", "sent", "planned",
                "failed", "unknown", "next due"):
        table.add_column(col)
    for r in rows:
        table.add_row(*cells(r.name, r.state, r.template, r.audience, r.total, r.counts["sent"],
                             r.counts["planned"], r.counts["failed"], r.counts["unknown"],
                             when(ctx, r.next_due)))
    out = console()
    out.print(table)


@app.command("pause")
def pause(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Stop sending (senders finish their current letter and stop claiming)."""
    run_db(ctx, lambda s: manage.pause_campaign(name, settings=s))
    if as_json:
        print_json({"campaign": name, "state": "paused"})
    info(ctx, f"{name} paused; `outreach campaign resume {name}` to continue")


@app.command("resume")
def resume(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Allow a paused campaign to send again."""
    campaign = run_db(ctx, lambda s: manage.resume_campaign(name, settings=s))
    if as_json:
        print_json({"campaign": name, "state": campaign.state})
    info(ctx, f"{name} resumed; `outreach campaign send {name}` to send")


@app.command("cancel")
def cancel(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """Cancel: every letter not yet sent is skipped."""
    count = run_db(ctx, lambda s: manage.cancel_campaign(name, settings=s))
    if as_json:
        print_json({"campaign": name, "state": "cancelled", "skipped": count})
    info(ctx, f"{name} cancelled; {count} letters skipped")


@app.command("follow-up")
def follow_up(
    ctx: typer.Context,
    name: Name,
    after: Annotated[str, typer.Option(
        "--after", help="Only targets whose letter went out at least this long ago (14d).")],
    template: Annotated[str, typer.Option("--template", "-t", help="The follow-up letter.")],
    where: Annotated[list[str] | None, typer.Option(
        "--where", "-w", help="FIELD=VALUE (repeatable), e.g. status=sent, "
        "stance.caucus=undecided; default status=sent.")] = None,
    new_name: Annotated[str | None, typer.Option(
        "--name", help="The new campaign's name (default NAME-follow-up).")] = None,
    ask: Annotated[list[str] | None, typer.Option(
        "--ask", "-a", help="An ask (repeatable; default: the first campaign's).")] = None,
    as_json: Json = False,
) -> None:
    """Create a follow-up campaign for the matching targets of NAME, threaded onto it."""
    from outreach.replies.followup import create_follow_up

    async def body(settings: Settings) -> manage.CampaignRow:
        created = await create_follow_up(name, settings=settings, template=template,
                                         after=after, where=where, name=new_name,
                                         asks=list(ask) if ask else None)
        return await manage.campaign_status(created.name)

    row = run_db(ctx, body)
    if as_json:
        print_json({**row.to_json(), "follows": name})
        return
    typer.echo(f"created campaign {row.name!r} (draft, follows {name!r}): {row.audience}")
    info(ctx, f"next: `outreach campaign plan {row.name}`")
