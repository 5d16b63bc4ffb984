"""`outreach init`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.common import fail, info, state
from outreach.errors import OutreachError
from outreach.setup import initialise


def init_command(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for outreach.toml and the database.")
    ] = Path("."),
    campaigner: Annotated[
        str, typer.Option(help="Your name, recorded with every change you make.")
    ] = "",
) -> None:
    """Create outreach.toml (commented) and the database; safe to run again."""
    directory.mkdir(parents=True, exist_ok=True)
    explicit = state(ctx).config
    values = {"campaigner": campaigner} if campaigner else {}
    try:
        result = asyncio.run(
            initialise(directory, config=Path(explicit) if explicit else None, values=values)
        )
    except OutreachError as exc:
        fail(str(exc))
    what = "created" if result.config_created else "kept existing"
    info(ctx, f"{what} {result.config_path}")
    if result.migrations_applied:
        info(ctx, f"database {result.database_url}: applied {', '.join(result.migrations_applied)}")
    else:
        info(ctx, f"database {result.database_url}: schema already current")
    info(ctx, "next: outreach contacts import FILE  (or `outreach demo` for a dress rehearsal)")
