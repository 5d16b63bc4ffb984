"""`outreach templates`."""

from __future__ import annotations

import typer

app = typer.Typer(help="templates commands.", no_args_is_help=True)
