"""Which reader a file needs: ``--format auto|csv|json|ep-xml|ep-json``.

``auto`` looks at the content, not only the name: XML starts with ``<``; JSON
with ``[`` or ``{``, and is the Parliament's JSON-LD when it is an object with
``data``/``@graph``/``@context`` or its items carry ``identifier`` and
``givenName``/``hasEmail``/``api:country-of-representation``; anything else
is CSV.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from outreach.contacts.csvjson import read_csv, read_json
from outreach.contacts.europarl import read_ep_json, read_ep_xml
from outreach.contacts.rows import ReadResult
from outreach.errors import ImportFileError

FORMATS = ("auto", "csv", "json", "ep-xml", "ep-json")
_EP_KEYS = {"givenName", "familyName", "hasEmail", "api:country-of-representation"}


def detect(data: bytes, name: str) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = Path(name).suffix.lower()
    if head.startswith(b"<") or suffix == ".xml":
        return "ep-xml"
    if head.startswith((b"[", b"{")) or suffix in {".json", ".jsonld"}:
        return "ep-json" if _looks_like_ep(data) or suffix == ".jsonld" else "json"
    return "csv"


def _looks_like_ep(data: bytes) -> bool:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    if isinstance(document, dict):
        return any(k in document for k in ("data", "@graph", "@context"))
    if isinstance(document, list) and document and isinstance(document[0], dict):
        first = document[0]
        return "identifier" in first and bool(_EP_KEYS & set(first))
    return False


def read_file(path: Path, *, format: str = "auto", today: date | None = None) -> ReadResult:
    """Read one contact file into rows (raises ImportFileError when it cannot)."""
    name = str(path)
    if format not in FORMATS:
        raise ImportFileError(f"unknown format {format!r} (one of {', '.join(FORMATS)})")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError("no such file", place=name) from None
    except IsADirectoryError:
        raise ImportFileError("is a folder, not a file", place=name) from None
    except OSError as exc:
        raise ImportFileError(exc.strerror or str(exc), place=name) from None
    kind = detect(data, name) if format == "auto" else format
    if kind == "csv":
        return read_csv(data, file=name)
    if kind == "json":
        return read_json(data, file=name)
    if kind == "ep-xml":
        return read_ep_xml(data, file=name)
    return read_ep_json(data, file=name, today=today)
