"""`outreach db`: schema status and upgrades."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli.common import console, info, print_json, run
from outreach.config import Settings
from outreach.db import open_db, schema_status, upgrade

app = typer.Typer(help="The database schema: status and upgrade.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="The result as JSON.")]


@app.command("status")
def status_command(ctx: typer.Context, as_json: Json = False) -> None:
    """Show the applied and pending schema migrations."""

    async def body(settings: Settings) -> tuple[list[str], list[str]]:
        async with open_db(settings.database_url, check_schema=False) as db:
            return await schema_status(db)

    applied, pending = run(ctx, body)
    if as_json:
        print_json({"applied": applied, "pending": pending})
        return
    out = console()
    for name in applied:
        out.print(f"applied  {name}")
    for name in pending:
        out.print(f"pending  {name}")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context, as_json: Json = False) -> None:
    """Upgrade the database in place to this version's schema (keeps all data)."""

    async def body(settings: Settings) -> list[str]:
        async with open_db(settings.database_url, check_schema=False) as db:
            return await upgrade(db)

    done = run(ctx, body)
    if as_json:
        print_json({"applied": done})
    info(ctx, f"applied {', '.join(done)}" if done else "schema already current")
