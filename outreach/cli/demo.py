"""`outreach demo`: the first command of the README."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from outreach.campaigns.demo import make_folder, run_demo
from outreach.cli.common import DELIVERY_STATES as STATES
from outreach.cli.common import print_json, run
from outreach.cli.common import wide_console as console


def demo_command(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Workspace folder (default: a fresh temporary folder).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Import the sample targets, plan the letters and send them to a local capture server."""
    folder = make_folder(directory)
    report = run(ctx, lambda settings: run_demo(folder))
    if as_json:
        print_json({"folder": str(report.folder), "imported": report.imported,
                    "campaigns": [row.to_json() for row in report.campaigns],
                    "maildir": str(report.maildir) if report.maildir else None,
                    "eml_folder": str(report.eml_folder) if report.eml_folder else None,
                    "letters": report.letters})
        return
    out = console()
    out.print(f"workspace: {report.folder}")
    out.print(f"{report.imported} sample targets imported")
    table = Table(title="campaigns", box=box.SIMPLE)
    table.add_column("campaign")
    table.add_column("state")
    for key in STATES:
        table.add_column(key, justify="right")
    for row in report.campaigns:
        table.add_row(row.name, row.state, *(str(row.counts.get(k, 0)) for k in STATES))
    out.print(table)
    if report.eml_folder is not None:
        out.print(f"{report.letters} letters captured in {report.maildir} (Maildir) and as "
                  f".eml files in {report.eml_folder}")
    out.print(f"next: cd {report.folder} && outreach campaign status demo-meps")
