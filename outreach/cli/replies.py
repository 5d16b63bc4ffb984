"""`outreach replies`: fetch, import, list, show, assign, review, set, purge."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from outreach import runlog
from outreach.cli.common import (
    cells,
    console,
    err_console,
    fail,
    info,
    print_json,
    run_db,
    run_logged,
    warn_insecure,
    when,
)
from outreach.cli.progress import progress
from outreach.config import Settings, secret
from outreach.contacts.manage import resolve
from outreach.errors import InputError
from outreach.replies import manage
from outreach.replies.classify import KINDS
from outreach.replies.imap import FetchReport, fetch, parse_imap_url
from outreach.replies.review import ReviewItem, review_items
from outreach.replies.stance import STANCES, parse_assignments
from outreach.replies.store import IngestReport, import_paths

app = typer.Typer(
    help="What comes back: fetch and import replies, match them, review stances.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="A JSON array of objects.")]
ReplyId = Annotated[str, typer.Argument(help="The reply's number (from `replies list`).")]


def _summary(ctx: typer.Context, report: IngestReport, as_json: bool) -> None:
    for source, error in report.errors:
        err_console().print(f"skipped: {source}: {error}", markup=False)
    if as_json:
        print_json(report.to_json())
        return
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.kinds.items()))
    line = f"{report.new} new" + (f" ({kinds})" if kinds else "")
    line += f", {report.duplicates} already stored"
    if report.errors:
        line += f", {len(report.errors)} unreadable (skipped)"
    typer.echo(line)
    if report.suppressed:
        typer.echo(f"{report.suppressed} address(es) put on the do-not-contact list")
    if report.unmatched:
        info(ctx, f"{report.unmatched} unmatched: see `outreach replies list --unmatched`, "
                  "then `outreach replies assign ID --contact EMAIL`")


@app.command("import")
def import_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help=".eml files, mbox files, Maildir folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
) -> None:
    """Store messages from files; each Message-ID once, unreadable ones reported and skipped."""

    async def body(settings: Settings) -> IngestReport:
        with progress(ctx, "importing", unit="messages") as bar:
            return await import_paths(list(paths), settings=settings, progress=bar)

    _summary(ctx, run_db(ctx, body), as_json)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"not a date: {text!r} (write 2026-11-01)", place="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("fetch")
def fetch_command(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only messages dated on or after this day (ISO date).")] = None,
    folder: Annotated[list[str] | None, typer.Option(
        "--folder", help="A folder to read (repeatable; default: the URL's).")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Allow plain IMAP off loopback (warns).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
) -> None:
    """Fetch new mail from the campaign mailbox (imap.url in outreach.toml), each message once."""

    async def body(settings: Settings, record: runlog.Run) -> FetchReport:
        since_day = _since(since)
        url = parse_imap_url(settings.imap.url)
        if (insecure or settings.imap.insecure) and url.scheme == "imap" and not url.loopback:
            warn_insecure("IMAP", url.place)
        password = secret("imap")
        if password is None and settings.imap.url and sys.stdin.isatty():
            password = typer.prompt("IMAP password", hide_input=True)
        with progress(ctx, "fetching", unit="messages") as bar:
            found = await fetch(settings=settings, password=password, folders=folder or None,
                                since=since_day, insecure=True if insecure else None,
                                progress=bar)
        record.counts = {"fetched": found.fetched, "stored": found.new,
                         "duplicates": found.duplicates, "matched": found.new - found.unmatched,
                         "review": found.unmatched, "unreadable": len(found.errors)}
        for _source, error in found.errors:  # the source names a folder and UID, no person
            record.error(error, "message")
        return found

    report = run_logged(ctx, body, command="replies fetch")
    for note in report.notes:
        if not note.startswith("warning: plain IMAP"):  # warned before connecting
            err_console().print(note, markup=False)
    _summary(ctx, report, as_json)
    if report.resets and not as_json:
        info(ctx, f"UIDVALIDITY changed in {', '.join(report.resets)}: read again from the start")
    if report.appended_sent and not as_json:
        info(ctx, f"{report.appended_sent} sent letter(s) filed in the Sent folder")


@app.command("list")
def list_command(
    ctx: typer.Context,
    unmatched: Annotated[bool, typer.Option(
        "--unmatched", help="Only the review queue: no contact and no campaign.")] = False,
    unreviewed: Annotated[bool, typer.Option("--unreviewed", help="Only those not reviewed.")]
    = False,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only this kind (repeatable): " + ", ".join(KINDS) + ".")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign.")]
    = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Only this contact.")] = None,
    as_json: Json = False,
) -> None:
    """List stored replies (oldest first)."""
    for value in kind or []:
        if value not in KINDS:
            fail(f"--kind: unknown kind {value!r} (known: {', '.join(KINDS)})", code=2)

    async def body(settings: Settings) -> list[dict[str, Any]]:
        who = await resolve(contact) if contact else None
        rows = await manage.list_replies(unmatched=unmatched, unreviewed=unreviewed,
                                         kinds=kind, campaign=campaign, contact=who)
        return await manage.reply_rows(rows)

    rows = run_db(ctx, body)
    if as_json:
        print_json(rows)
        return
    if not rows:
        info(ctx, "no replies")
        return
    table = Table("id", "received", "kind", "contact", "campaign", "subject", "stance",
                  box=None, pad_edge=False)
    for row in rows:
        stance = " ".join(f"{a}={s}" for a, s in row["stance"].items())
        table.add_row(*cells(row["id"], when(ctx, row["received_at"]), row["kind"],
                             row["contact"] or f"? {row['from']}", row["campaign"] or "-",
                             row["subject"][:60], stance + (
                                 " (opt-out?)" if row["opt_out_request"]
                                 and not row["reviewed"] else "")))
    console().print(table)


@app.command("show")
def show_command(ctx: typer.Context, reply: ReplyId, as_json: Json = False) -> None:
    """One reply with its text."""

    async def body(settings: Settings) -> dict[str, Any]:
        return (await manage.reply_rows([await manage.get_reply(reply)], body=True))[0]

    row = run_db(ctx, body)
    if as_json:
        print_json(row)
        return
    for key in ("id", "kind", "from", "contact", "campaign", "received_at", "subject",
                "matched_by", "stance", "reviewed"):
        value = when(ctx, row[key], seconds=True) if key == "received_at" else row[key]
        typer.echo(f"{key}: {value}")
    typer.echo("")
    typer.echo(row["body"] if row["body"] is not None else "(text purged)")


@app.command("assign")
def assign_command(
    ctx: typer.Context,
    reply: ReplyId,
    contact: Annotated[str, typer.Option("--contact", help="E-mail, ep:ID or number.")],
    campaign: Annotated[str | None, typer.Option("--campaign", help="The campaign's name.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Attach a reply from the review queue to a contact (and campaign)."""

    async def body(settings: Settings) -> str:
        who = await resolve(contact)
        which = None
        if campaign is not None:
            from outreach.campaigns.manage import get_campaign

            which = await get_campaign(campaign)
        await manage.assign(reply, contact=who, campaign=which, actor=settings.actor)
        return who.label() + (f" in {which.name}" if which else "")

    who = run_db(ctx, body)
    if as_json:
        print_json({"reply": reply.lstrip("#"), "assigned_to": who, "campaign": campaign})
        return
    typer.echo(f"reply {reply.lstrip('#')} assigned to {who}")


@app.command("set")
def set_command(
    ctx: typer.Context,
    reply: ReplyId,
    stance: Annotated[list[str] | None, typer.Option(
        "--stance", help="ASK=STANCE (repeatable); stances: " + ", ".join(STANCES) + ".")] = None,
    note: Annotated[str, typer.Option("--note", help="Kept with the stance.")] = "",
    opt_out: Annotated[bool, typer.Option(
        "--opt-out", help="Confirm the reply's opt-out: suppress the contact.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Record a campaigner's decision on a reply (for scripts); marks it reviewed."""

    async def body(settings: Settings) -> None:
        stances = parse_assignments(stance) if stance else {}
        await manage.decide(reply, manage.Decision(stances=stances, note=note,
                                                   confirm_opt_out=opt_out),
                            actor=settings.actor)

    run_db(ctx, body)
    if as_json:
        print_json({"reply": reply.lstrip("#"), "reviewed": True, "stance": list(stance or []),
                    "opt_out": opt_out})
        return
    typer.echo(f"reply {reply.lstrip('#')} reviewed"
               + (": " + " ".join(stance) if stance else "") + (", opt-out" if opt_out else ""))


@app.command("purge")
def purge_command(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Retention period: 90d, 12w, 6m, 2y.")],
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Delete the texts of replies past the retention period (kind and stance stay)."""

    async def body(settings: Settings) -> int:
        age = manage.parse_age(older_than, place="--older-than")
        return await manage.purge(age, actor=settings.actor)

    count = run_db(ctx, body)
    if as_json:
        print_json({"purged": count, "older_than": older_than})
        return
    typer.echo(f"{count} reply text(s) deleted")


# --- review ------------------------------------------------------------------------------

_HELP = ("Answer with a stance for every ask ({stances}), or ASK=STANCE ..., "
         "'-' reviewed without a stance, Enter to skip, q to stop.")


def _show_item(ctx: typer.Context, item: ReviewItem) -> None:
    out = console()
    out.rule(Text(f"reply {item.reply_id}: {item.kind} from {item.contact} "
                  f"({item.campaign or '-'})"))
    table = Table(f"their reply ({when(ctx, item.received_at)})", "our letter", expand=True,
                  show_lines=False)
    table.add_row(*cells(item.reply_text, item.letter_text or "(no letter on record)"))
    out.print(table)
    asks = ", ".join(item.asks) or "(the campaign names no ask: answer ASK=STANCE)"
    out.print(f"asks: {asks}", markup=False)
    out.print(f"suggested stance: {item.suggestion or 'none'} (not recorded unless you say so)",
              markup=False)
    if item.opt_out_request:
        out.print("this reply seems to ask not to be written to again", markup=False)


def _answer(item: ReviewItem, text: str) -> dict[str, str] | None:
    """Stances from one answer; {} for '-', None to skip."""
    text = text.strip()
    if not text:
        return None
    if text == "-":
        return {}
    if "=" in text:
        return parse_assignments(text.split())
    if not item.asks:
        raise InputError("this campaign names no ask: answer ASK=STANCE", place="answer")
    return parse_assignments([f"{ask}={text}" for ask in item.asks])


@app.command("review")
def review_command(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign.")]
    = None,
    interactive: Annotated[bool | None, typer.Option(
        "--interactive/--no-interactive",
        help="Ask for each reply (default: only when standard input is a terminal).")] = None,
    every_kind: Annotated[bool, typer.Option(
        "--all-kinds", help="Also auto-replies, bounces and complaints.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="The replies to review as a JSON array (never asks).")] = False,
) -> None:
    """Walk the unreviewed replies: each beside the letter sent, with a suggested stance."""

    async def load(settings: Settings) -> tuple[list[ReviewItem], int]:
        waiting = len(await manage.list_replies(unmatched=True, unreviewed=True))
        return await review_items(campaign=campaign, every_kind=every_kind), waiting

    items, unmatched = run_db(ctx, load)
    if as_json:
        print_json([{**dataclasses.asdict(item), "asks": list(item.asks),
                     "received_at": item.received_at.isoformat()} for item in items])
        return
    if unmatched:
        info(ctx, f"{unmatched} unmatched repl{'y waits' if unmatched == 1 else 'ies wait'} "
                  "for `outreach replies assign` (see `replies list --unmatched`)")
    if not items:
        info(ctx, "nothing to review")
        return
    asking = sys.stdin.isatty() if interactive is None else interactive
    if not asking:
        for item in items:
            typer.echo(f"{item.reply_id}\t{item.kind}\t{item.contact}\t{item.campaign or '-'}\t"
                       f"suggested: {item.suggestion or '-'}")
        info(ctx, f"{len(items)} to review: run on a terminal, or record with "
                  "`outreach replies set ID --stance ASK=STANCE`")
        return
    done = 0
    for item in items:
        _show_item(ctx, item)
        while True:
            text = typer.prompt(_HELP.format(stances="/".join(STANCES)), default="",
                                show_default=False)
            if text.strip().lower() == "q":
                typer.echo(f"{done} reviewed")
                return
            try:
                stances = _answer(item, text)
            except InputError as exc:
                err_console().print(f"error: {exc}", markup=False)
                continue
            break
        if stances is None:
            continue
        opt_out = bool(item.opt_out_request) and typer.confirm(
            "Confirm the opt-out (suppress this contact)?", default=False)
        decision = manage.Decision(stances=stances, confirm_opt_out=opt_out)

        async def save(settings: Settings, item: ReviewItem = item,
                       decision: manage.Decision = decision) -> None:
            await manage.decide(item.reply_id, decision, actor=settings.actor)

        run_db(ctx, save)
        done += 1
    typer.echo(f"{done} reviewed")

