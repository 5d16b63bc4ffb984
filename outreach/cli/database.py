"""`outreach db`: schema status and upgrades."""

from __future__ import annotations

import typer

from outreach.cli.common import console, info, run
from outreach.config import Settings
from outreach.db import open_db, schema_status, upgrade

app = typer.Typer(help="The database schema: status and upgrade.", no_args_is_help=True)


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Show the applied and pending schema migrations."""

    async def body(settings: Settings) -> tuple[list[str], list[str]]:
        async with open_db(settings.database_url, check_schema=False) as db:
            return await schema_status(db)

    applied, pending = run(ctx, body)
    out = console()
    for name in applied:
        out.print(f"applied  {name}")
    for name in pending:
        out.print(f"pending  {name}")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Upgrade the database in place to this version's schema (keeps all data)."""

    async def body(settings: Settings) -> list[str]:
        async with open_db(settings.database_url, check_schema=False) as db:
            return await upgrade(db)

    done = run(ctx, body)
    info(ctx, f"applied {', '.join(done)}" if done else "schema already current")
