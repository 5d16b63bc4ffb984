"""The command line: a thin Typer shell over the async core, grouped by noun."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach import __version__
from outreach.cli import campaign, contacts, database, replies, report, templates
from outreach.cli.common import AppState, state
from outreach.cli.demo import demo_command
from outreach.cli.setup import init_command
from outreach.cli.worker import worker_command

app = typer.Typer(
    name="outreach",
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    st = state(ctx)
    st.config = config
    st.quiet = quiet
    ctx.obj = st


app.command("init")(init_command)
app.command("demo")(demo_command)
app.add_typer(database.app, name="db")
app.add_typer(contacts.app, name="contacts")
app.add_typer(templates.app, name="templates")
app.add_typer(campaign.app, name="campaign")
app.add_typer(replies.app, name="replies")
app.command("report")(report.report_command)
app.command("worker")(worker_command)


def main() -> None:
    app(obj=AppState())
