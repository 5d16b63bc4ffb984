"""`outreach templates`: list, preview, check and copy the letters."""

from __future__ import annotations

import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Annotated, Any

import typer

from outreach.cli.common import console, err_console, fail, info, print_json, run, run_db, state
from outreach.config import Settings
from outreach.errors import OutreachError
from outreach.letters import Library, tools
from outreach.letters.tools import CheckReport, Preview

app = typer.Typer(help="The letters: list, preview, check, copy.", no_args_is_help=True)

AskOption = Annotated[
    list[str] | None,
    typer.Option("--ask", help="An ask to include (repeat); default: the letter's own."),
]


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array of objects.")] = False,
) -> None:
    """The letters, their languages, default asks and the contact fields they use."""

    async def body(settings: Settings) -> list[dict[str, Any]]:
        return tools.summaries(Library.for_settings(settings))

    rows = run(ctx, body)
    if as_json:
        print_json(rows)
        return
    out = console()
    for row in rows:
        where = "local" if row["local"] else "shipped"
        out.print(f"{row['name']} ({where}) — {row['description']}")
        out.print(f"  languages: {', '.join(row['languages'])}")
        out.print(f"  asks:      {', '.join(row['asks']) or '-'}")
        out.print(f"  fields:    {', '.join(row['fields'])}")


def _parts(message: bytes) -> tuple[EmailMessage, str, str]:
    parsed = message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = html = ""
    for part in parsed.walk():
        if part.get_content_type() == "text/plain":
            text = str(part.get_content())
        elif part.get_content_type() == "text/html":
            html = str(part.get_content())
    return parsed, text, html


@app.command("preview")
def preview_command(
    ctx: typer.Context,
    letter: Annotated[str, typer.Argument(help="The letter's name (see `templates list`).")],
    to: Annotated[str, typer.Option("--to", help="The contact's e-mail address.")],
    ask: AskOption = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Render in this language (two letters).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, html or eml (the raw message alone).")
    ] = "text",
) -> None:
    """The whole message for one target, exactly as it would be sent."""
    if fmt not in ("text", "html", "eml"):
        raise typer.BadParameter("must be text, html or eml", param_hint="--format")

    async def body(settings: Settings) -> Preview:
        return await tools.preview(settings, letter_name=letter, to=to, asks=ask, lang=lang)

    result = run_db(ctx, body)
    r = result.rendered
    if r.fell_back:
        # said even with --quiet: the campaigner must know the letter is not in their language
        err_console().print(f"note: {letter} has no {r.wanted_language!r} version; "
                            f"the {r.language!r} one is shown")
    if fmt == "eml":
        sys.stdout.buffer.write(result.message)
        sys.stdout.flush()
        return
    parsed, text, html = _parts(result.message)
    if fmt == "html":
        sys.stdout.write(html)
        return
    for name in ("Date", "From", "To", "Reply-To", "Subject", "Message-ID", "In-Reply-To",
                 "References", "List-Unsubscribe", "Content-Language"):
        value = parsed.get(name)
        if value is not None:
            sys.stdout.write(f"{name}: {value}\n")
    sys.stdout.write("\n" + text)


def _print_check(report: CheckReport) -> None:
    out = console()
    for f in report.failures:
        out.print(f"FAIL {f['letter']} {f['contact']}: {f['error']}")
    for f in report.fallbacks:
        out.print(f"fallback {f['letter']} {f['contact']}: no {f['wanted']!r} version, "
                  f"{f['used']!r} used")


@app.command("check")
def check_command(
    ctx: typer.Context,
    letter: Annotated[str | None, typer.Argument(help="One letter (default: all).")] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="FIELD=VALUE filter on contacts (repeat)."),
    ] = None,
    ask: AskOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array of objects.")] = False,
) -> None:
    """Render for every matching contact; list failures and language fallbacks. Sends nothing."""

    async def body(settings: Settings) -> CheckReport:
        return await tools.check(settings, letter_name=letter, where=where or [], asks=ask)

    report = run_db(ctx, body)
    if as_json:
        rows: list[dict[str, str]] = [{"result": "failed", **f} for f in report.failures]
        rows += [{"result": "fallback", **f} for f in report.fallbacks]
        print_json(rows)
    else:
        _print_check(report)
    info(ctx, f"{report.rendered} letters rendered for {report.contacts} contacts "
              f"({', '.join(report.letters)}): {len(report.failures)} failed, "
              f"{len(report.fallbacks)} fell back to another language")
    if not report.ok:
        raise typer.Exit(1)


@app.command("copy")
def copy_command(
    ctx: typer.Context,
    letter: Annotated[
        str | None, typer.Argument(help="The letter to copy (default: all, with the partials).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing copy.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The files written, as JSON.")] = False,
) -> None:
    """Put an editable copy of a shipped letter into templates/ beside outreach.toml."""
    try:
        settings = state(ctx).settings()
        copied = tools.copy_letters(settings, name=letter, force=force)
    except OutreachError as exc:
        fail(str(exc))
    if as_json:
        print_json([str(path) for path in copied])
        return
    for path in copied:
        console().print(str(path), markup=False)
