"""The ``--where FIELD=VALUE`` option, shared by every command that selects contacts.

Use it as::

    def command(ctx, where: WhereOption = None) -> None:
        selection = parse_selection(where)  # one line and exit 2 on a bad filter

``shorthands`` turns named flags (``--country DE``) into the same items.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer

from outreach.cli.common import fail
from outreach.errors import SelectionError
from outreach.selection import Selection, known_fields, parse_where

WHERE_HELP = (
    "Select contacts: FIELD=VALUE (repeat: AND across fields, OR within one field). "
    "Fields: " + ", ".join(known_fields()) + "."
)

WhereOption = Annotated[
    list[str] | None,
    typer.Option("--where", "-w", metavar="FIELD=VALUE", help=WHERE_HELP),
]


def shorthands(**flags: Iterable[str] | str | None) -> list[str]:
    """``country=["DE"]`` → ``["country=DE"]`` (None and empty values skipped)."""
    items: list[str] = []
    for field, values in flags.items():
        if values is None:
            continue
        for value in [values] if isinstance(values, str) else values:
            items.append(f"{field}={value}")
    return items


def parse_selection(where: list[str] | None, *extra: str) -> Selection:
    """The selection of ``--where`` items (and shorthand items).

    A bad filter is a usage error: one line ``error: --where: …`` and exit 2.
    """
    try:
        return parse_where([*(where or []), *extra])
    except SelectionError as exc:
        fail(str(exc), code=2)
