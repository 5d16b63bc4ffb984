"""One record of a contact file, checked as a whole.

:func:`normalise_values` turns a record's cells (CSV text or JSON values) into
the stored values of the columns it has, or raises ValueError with the reason
the row is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outreach.contacts.fields import (
    COLUMNS,
    LIST_COLUMNS,
    canonical_column,
    committees,
    email,
    ep_id,
    fold_header,
    kind,
    scalar,
    tags,
    text,
)

#: columns an export adds beside the canonical ones (read back by the importer)
EXTRA_COLUMNS: tuple[str, ...] = ("suppressed", "suppressed_note", "source_file", "source_date")
#: columns other commands print (``contacts list --json``) that an import ignores
IGNORED_COLUMNS = frozenset({"id", "status", "created_at", "updated_at"})


def header_column(header: str) -> str | None:
    """Canonical, extra or ignored column named by a header ("" = known but ignored)."""
    found = canonical_column(header)
    if found is not None:
        return found
    folded = fold_header(header)
    if folded in EXTRA_COLUMNS:
        return folded
    if folded in IGNORED_COLUMNS:
        return ""
    return None


def cell_text(column: str, value: Any) -> str | list[str]:
    """A JSON value (or CSV text) as text; lists only for the list columns."""
    if value is None:
        return ""
    if isinstance(value, bool):
        if column == "suppressed":
            return "opt-out" if value else ""
        raise ValueError(f"{column}: expected text, not {json_type(value)}")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and column == "ep_id":
        return str(value)
    if isinstance(value, list) and column in LIST_COLUMNS:
        if not all(isinstance(v, str) for v in value):
            raise ValueError(f"{column}: expected a list of text")
        return [str(v) for v in value]
    raise ValueError(f"{column}: expected text, not {json_type(value)}")


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def normalise_values(raw: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the columns present in one row (raises ValueError: the reason).

    The result holds only the columns the row has (a missing column leaves the
    stored value alone); lists come back as lists. A row needs an e-mail address
    or, for a Member of the European Parliament, an ``ep_id`` (the Parliament's
    full list has no addresses): that is the key an import updates by.
    """
    out: dict[str, Any] = {}
    for column, value in raw.items():
        cell = value if type(value) is str else cell_text(column, value)
        result = _NORMALISERS[column](cell)
        if result is not _ABSENT:
            out[column] = result
    if not out.get("email") and not out.get("ep_id"):
        raise ValueError("missing e-mail address")
    if not out.get("name") and (out.get("first_name") or out.get("last_name")):
        out["name"] = " ".join(p for p in (out.get("first_name"), out.get("last_name")) if p)
    return out


_ABSENT = object()


def _no_list(column: str, normalise: Callable[[str], Any]) -> Callable[[Any], Any]:
    def checked(cell: Any) -> Any:
        if isinstance(cell, list):
            raise ValueError(f"{column}: expected text, not a list")
        return normalise(cell)

    return checked


def _multiline(column: str) -> Callable[[str], str]:
    def normalise(cell: str) -> str:
        return text(cell, column=column, multiline=True)

    return normalise


def _kind_or_absent(cell: str) -> Any:
    return kind(cell) if cell.strip() else _ABSENT  # empty: not given


def _normalisers() -> dict[str, Callable[[Any], Any]]:
    table: dict[str, Callable[[Any], Any]] = {
        "committees": committees,
        "tags": tags,
        "email": _no_list("email", lambda cell: email(cell) if cell.strip() else None),
        "ep_id": _no_list("ep_id", lambda cell: ep_id(cell) or None),
        "kind": _no_list("kind", _kind_or_absent),
        "suppressed": _no_list("suppressed", lambda cell: _suppressed(cell)),
        "source_date": _no_list("source_date", str.strip),
    }
    for column in ("suppressed_note", "source_file"):
        table[column] = _no_list(column, _multiline(column))
    for column in COLUMNS:
        table.setdefault(column, _no_list(column, scalar(column)))
    return table


def _suppressed(value: str) -> str:
    folded = value.strip().lower()
    if folded in {"", "no", "false", "0"}:
        return ""
    if folded in {"yes", "true", "1"}:
        return "opt-out"
    return text(value, column="suppressed").lower()


_NORMALISERS = _normalisers()
