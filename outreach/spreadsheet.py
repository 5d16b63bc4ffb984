"""CSV cells a spreadsheet will not run as formulas (CSV injection).

Names, subjects and organisations come from imported files and from replies, so a
cell may start with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before looking). Spreadsheet programs run such a cell as a
formula: ``=HYPERLINK(…)`` becomes a link, others can fetch data or run commands.
Every CSV file `outreach` writes (``contacts export``, ``report --format csv``) puts
an apostrophe in front of such a text cell, the convention spreadsheets show as
plain text; ``contacts import`` takes it off again, so an export imports back to
the same values. Numbers are written as they are.
"""

from __future__ import annotations

from typing import Any

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def guard(value: Any) -> Any:
    """``value`` with an apostrophe in front if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return GUARD + value
    return value


def unguard(value: str) -> str:
    """A cell as :func:`guard` wrote it, back to the value (other cells unchanged)."""
    if value.startswith(GUARD) and value[1:2] and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
