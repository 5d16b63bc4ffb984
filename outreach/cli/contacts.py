"""`outreach contacts`: import, list, show, tag, untag, opt-out, export, erase."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outreach.cli.common import cells, console, fail, info, print_json, run_db, when
from outreach.cli.progress import progress
from outreach.cli.where import WhereOption, parse_selection, shorthands
from outreach.config import Settings
from outreach.contacts import erase as erasing
from outreach.contacts import export as exporting
from outreach.contacts import manage
from outreach.contacts.formats import FORMATS
from outreach.contacts.store import ImportReport, import_files

app = typer.Typer(
    help="The targets: import, list, show, tag, opt out, export, erase.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="A JSON array of objects.")]
ResultJson = Annotated[bool, typer.Option("--json", help="The result as a JSON object.")]


def print_json_array(rows: list[dict[str, Any]]) -> None:
    """A JSON array with one object per line: valid JSON, quick to write and to grep."""
    out = sys.stdout
    if not rows:
        out.write("[]\n")
        return
    out.write("[\n")
    last = len(rows) - 1
    for i, row in enumerate(rows):
        out.write(json.dumps(row, ensure_ascii=False) + (",\n" if i < last else "\n"))
    out.write("]\n")


@app.command("import")
def import_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON or EP XML/JSON-LD files.")],
    format: Annotated[
        str, typer.Option("--format", help="auto|csv|json|ep-xml|ep-json (auto: by content).")
    ] = "auto",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Add this tag to every row (repeat).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; write nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing unless every row is valid.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as a JSON object.")] = False,
) -> None:
    """Import contacts; upsert by e-mail (or EP id). Exit 1 if any row was rejected."""
    if format not in FORMATS:
        fail(f"--format: unknown format {format!r} (one of {', '.join(FORMATS)})", code=2)

    async def body(settings: Settings) -> ImportReport:
        with progress(ctx, "reading", unit="rows") as bar:
            return await import_files(
                files,
                settings=settings,
                format=format,
                tags=tag or [],
                dry_run=dry_run,
                strict=strict,
                progress=bar.stage,
            )

    report = run_db(ctx, body)
    if as_json:
        print_json(report.to_json())
    else:
        _print_report(ctx, report)
    if report.rejected:
        raise typer.Exit(1)


def _print_report(ctx: typer.Context, report: ImportReport) -> None:
    for warning in report.warnings:
        info(ctx, f"warning: {warning}")
    for rejection in report.rejected:
        sys.stderr.write(f"{rejection}\n")
    counts = (
        f"created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {len(report.rejected)}"
    )
    if report.suppressions:
        counts += f", opt-outs added {report.suppressions}"
    if report.dry_run:
        typer.echo(f"dry run (nothing written): {counts}")
    elif report.strict and report.rejected:
        typer.echo(f"nothing imported (--strict, {len(report.rejected)} rejected): {counts}")
    else:
        typer.echo(counts)


@app.command("list")
def list_command(
    ctx: typer.Context,
    where: WhereOption = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Shorthand for --where kind=…")
    ] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="… country=…")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="… political_group=…")] = None,
    committee: Annotated[
        list[str] | None, typer.Option("--committee", help="… committee=…")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="… tag=…")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="… language=…")] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Part of name, e-mail or organisation.")
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="Read status=… in this campaign; show its status "
                     "(or follow-up-due) and the latest stances."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List contacts, filtered with --where FIELD=VALUE or the shorthands."""
    extra = shorthands(
        kind=kind,
        country=country,
        political_group=group,
        committee=committee,
        tag=tag,
        language=language,
        search=search,
    )
    selection = parse_selection(where, *extra)

    async def body(settings: Settings) -> list[dict[str, Any]]:
        if campaign is not None:
            from outreach.report.followups import list_in_campaign

            return await list_in_campaign(selection, campaign)
        return await manage.list_contacts(selection)

    rows = run_db(ctx, body)
    if as_json:
        print_json_array(rows)
        return
    table = Table(
        "id", "email", "name", "kind", "country", "lang", "group", "committees", "tags", "status"
    )
    for r in rows:
        table.add_row(*cells(
            str(r["id"]),
            r["email"],
            r["name"],
            r["kind"],
            r["country"],
            r["language"],
            r["political_group"],
            ";".join(r["committees"]),
            ";".join(r["tags"]),
            r.get("campaign_status", r["status"]),
        ))
    console().print(table)
    info(ctx, f"{len(rows)} contact(s) ({selection.describe()})")


@app.command("show")
def show_command(
    ctx: typer.Context,
    contact: Annotated[str, typer.Argument(help="E-mail address, ep:ID or number.")],
    as_json: Annotated[bool, typer.Option("--json", help="The profile as a JSON object.")] = False,
) -> None:
    """A contact's profile and the timeline of what happened to it."""

    async def body(settings: Settings) -> dict[str, Any]:
        return await manage.profile(await manage.resolve(contact))

    data = run_db(ctx, body)
    if as_json:
        print_json(data)
        return
    out = console()
    for key in manage.LIST_KEYS:
        value = data[key]
        text = ";".join(value) if isinstance(value, list) else str(value)
        if text:
            out.print(f"{key + ':':17} {text}", markup=False)
    if data["suppression_note"]:
        out.print(f"{'opt-out note:':17} {data['suppression_note']}", markup=False)
    out.print(f"{'source:':17} {data['source_file']} ({data['source_date']})", markup=False)
    out.print("timeline:")
    for entry in data["timeline"]:
        actor = entry["details"].get("actor", "")
        by = f"  [{actor}]" if actor else ""  # letters and replies have no actor
        out.print(f"  {when(ctx, entry['at'])}  {entry['summary']}{by}", markup=False)


def _tagging(
    ctx: typer.Context, tag: str, contacts: list[str] | None, where: list[str] | None, remove: bool,
    as_json: bool = False,
) -> None:
    if not contacts and not where:
        fail("name contacts or select them with --where", code=2)
    selection = parse_selection(where) if where else None

    async def body(settings: Settings) -> int:
        return await manage.change_tags(
            [tag], refs=contacts or [], selection=selection, remove=remove, actor=settings.actor
        )

    changed = run_db(ctx, body)
    if as_json:
        print_json({"tag": tag, "removed" if remove else "added": changed})
        return
    typer.echo(f"{'untagged' if remove else 'tagged'} {changed} contact(s)")


@app.command("tag")
def tag_command(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="The tag to add.")],
    contacts: Annotated[list[str] | None, typer.Argument(help="E-mail, ep:ID or number.")] = None,
    where: WhereOption = None,
    as_json: ResultJson = False,
) -> None:
    """Add a tag to the named contacts and/or those selected with --where."""
    _tagging(ctx, tag, contacts, where, remove=False, as_json=as_json)


@app.command("untag")
def untag_command(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="The tag to remove.")],
    contacts: Annotated[list[str] | None, typer.Argument(help="E-mail, ep:ID or number.")] = None,
    where: WhereOption = None,
    as_json: ResultJson = False,
) -> None:
    """Remove a tag from the named contacts and/or those selected with --where."""
    _tagging(ctx, tag, contacts, where, remove=True, as_json=as_json)


@app.command("opt-out")
def opt_out_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The address (or ep:ID / number of a contact).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the opt-out).")] = "",
    as_json: ResultJson = False,
) -> None:
    """Put an address on the do-not-contact list (kept across re-imports)."""

    async def body(settings: Settings) -> manage.OptOut:
        return await manage.opt_out(email, reason=reason, actor=settings.actor)

    result = run_db(ctx, body)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    if result.already:
        typer.echo(f"{result.email} was already on the do-not-contact list")
    else:
        typer.echo(f"{result.email} is on the do-not-contact list")


@app.command("export")
def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The file to write (.csv or .json).")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv|json (default: from the extension).")
    ] = None,
    as_json: ResultJson = False,
) -> None:
    """Write every contact and opt-out to a file that `contacts import` reads back."""

    async def body(settings: Settings) -> int:
        return await exporting.export_contacts(file, format=format)

    count = run_db(ctx, body)
    if as_json:
        print_json({"file": str(file), "rows": count})
    info(ctx, f"wrote {count} row(s) to {file}")


@app.command("erase")
def erase_command(
    ctx: typer.Context,
    contact: Annotated[str, typer.Argument(help="E-mail address, ep:ID or number.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: ResultJson = False,
) -> None:
    """Erase a person (GDPR): their data leaves every table; a hash keeps them off lists."""
    if not yes:

        async def describe(settings: Settings) -> str:
            return await erasing.describe(contact)

        what = run_db(ctx, describe)
        if not typer.confirm(f"Erase {what} for good?", default=False, err=True):
            fail("not erased", code=1)

    async def body(settings: Settings) -> erasing.EraseReport:
        return await erasing.erase_contact(contact, settings=settings)

    report = run_db(ctx, body)
    if as_json:
        print_json(dataclasses.asdict(report))
        return
    typer.echo(
        f"erased contact #{report.contact_id}: {report.letters} letter(s) and "
        f"{report.replies} repl(ies) blanked; database compacted"
    )
    if report.files:
        typer.echo("files outside the database that mention them (delete them by hand):")
        for path in report.files:
            typer.echo(f"  {path}")
    for note in report.notes:
        typer.echo(f"note: {note}")


@app.command("stance")
def stance_command(
    ctx: typer.Context,
    contact: Annotated[str, typer.Argument(help="E-mail, ep:ID or number.")],
    ask: Annotated[list[str] | None, typer.Option(
        "--ask", help="ASK=STANCE (repeatable): supports, open, undecided, opposes, no-answer."
    )] = None,
    source: Annotated[str, typer.Option(
        "--source", help="Where it was learnt: meeting, call, statement, letter, reply, other."
    )] = "meeting",
    note: Annotated[str, typer.Option("--note", help="Kept with the stance.")] = "",
    campaign: Annotated[str | None, typer.Option("--campaign", help="The campaign it concerns.")]
    = None,
    as_json: JsonOption = False,
) -> None:
    """Record a stance learnt without a reply; without --ask, show the contact's stances."""
    from outreach.replies import stance as stances

    async def body(settings: Settings) -> list[dict[str, Any]]:
        who = await manage.resolve(contact)
        if ask:
            which = None
            if campaign is not None:
                from outreach.campaigns.manage import get_campaign

                which = await get_campaign(campaign)
            await stances.record_stances(who, stances.parse_assignments(ask, place="--ask"),
                                         actor=settings.actor, source=source, campaign=which,
                                         note=note)
        return [row.to_json() for row in await stances.contact_history(who)]

    rows = run_db(ctx, body)
    if as_json:
        print_json_array(rows)
        return
    if ask:
        typer.echo(f"recorded for {contact}: " + " ".join(ask))
        return
    latest = {row["ask"]: row for row in rows}
    if not latest:
        info(ctx, "no stance recorded")
    for name, row in sorted(latest.items()):
        typer.echo(f"{name}: {row['stance']} ({row['source']}, {row['recorded_at'][:10]}, "
                   f"{row['recorded_by']})" + (f" {row['note']}" if row["note"] else ""))
