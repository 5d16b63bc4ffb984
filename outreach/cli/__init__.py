"""The command line: a thin Typer shell over the async core, grouped by noun.

Each noun's module is imported only when that noun is used (``LazyGroup``), so
a command pays for the libraries it needs and not for every other command's:
``outreach contacts list`` never imports the SMTP, IMAP or letter machinery.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from outreach import __version__
from outreach.cli.common import AppState, state

#: command name → (module, attribute, help shown by `outreach --help`)
LAZY: dict[str, tuple[str, str, str]] = {
    "init": (
        "outreach.cli.setup",
        "init_command",
        "Create outreach.toml (commented) and the database; safe to run again.",
    ),
    "demo": (
        "outreach.cli.demo",
        "demo_command",
        "A complete dress rehearsal in a new folder, through the capture server.",
    ),
    "doctor": (
        "outreach.cli.doctor",
        "doctor_command",
        "Check configuration, database, relay, mailbox, sender, DKIM and a campaign.",
    ),
    "db": ("outreach.cli.database", "app", "The database schema: status and upgrade."),
    "contacts": (
        "outreach.cli.contacts",
        "app",
        "The targets: import, list, show, tag, opt out, export, erase, stance.",
    ),
    "templates": ("outreach.cli.templates", "app", "The letters: list, preview, check, copy."),
    "campaign": (
        "outreach.cli.campaign",
        "app",
        "Create, plan, preview and send campaigns; status, pause, follow-ups.",
    ),
    "replies": (
        "outreach.cli.replies",
        "app",
        "What comes back: fetch, import, match, review, stances, purge.",
    ),
    "report": (
        "outreach.cli.report",
        "report_command",
        "The campaign's results: funnel, response, stances, follow-ups due.",
    ),
    "worker": (
        "outreach.cli.worker",
        "worker_command",
        "Serve every running campaign until stopped (one of many senders).",
    ),
}


def load_command(name: str) -> Any:
    """The click command for one noun, importing its module now."""
    module_name, attribute, _ = LAZY[name]
    target: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: nouns are listed at once and imported when used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *LAZY]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in LAZY.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="outreach",
    cls=LazyGroup,
    help="Write to every target of an advocacy campaign: personal letters in their "
    "language, paced and crash-safe, with replies, stances and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"outreach {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="OUTREACH_CONFIG",
            help="Configuration file (default ./outreach.toml).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", envvar="OUTREACH_QUIET",
        help="Only errors and the final result (no progress, notes or hints).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    st = state(ctx)
    st.config = config
    st.quiet = quiet
    ctx.obj = st


def main() -> None:
    app(obj=AppState())
