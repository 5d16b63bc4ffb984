"""`outreach replies`."""

from __future__ import annotations

import typer

app = typer.Typer(help="replies commands.", no_args_is_help=True)
