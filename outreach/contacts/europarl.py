"""The European Parliament's own files: the full-list XML and Open Data v2 JSON-LD.

* The full list (``https://www.europarl.europa.eu/meps/en/full-list/xml``)::

      <meps><mep><fullName/><country/><politicalGroup/><id/>
           <nationalPoliticalGroup/></mep>…</meps>

  It has no e-mail addresses; each ``<mep>`` becomes a row keyed by its id.
* Open Data Portal v2 JSON-LD (``/api/v2/meps/show-current`` and
  ``/api/v2/meps/{id}``): an object whose ``data`` (or ``@graph``) is a list of
  persons, or that list itself. List items carry ``identifier``, ``givenName``,
  ``familyName``, ``api:country-of-representation`` and
  ``api:political-group``; detail records add ``hasEmail`` (``mailto:…``) and
  ``hasMembership`` (``membershipClassification``, ``role``,
  ``organization``, ``memberDuring``). Organisations (``org/…`` ids) are named
  by ``included`` records or by the id itself (``org/DROI``). Only memberships
  current on the day of the import count: committees, political group and
  national party.

Records of one person in several files (the XML and the JSON-LD, or a list and a
detail file) are merged on the EP id by the importer, so every MEP ends up as
one contact. Political groups are stored by their short names (``EPP``,
``S&D``, ``Renew``, ``Greens/EFA``, …) whichever spelling the file used.
"""

from __future__ import annotations

import json
import re
import xml.sax
from datetime import date
from typing import Any
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import Locator

import defusedxml.sax
from defusedxml import DefusedXmlException

from outreach.contacts.rows import RawRow, ReadResult
from outreach.errors import ImportFileError

ORGANISATION = "European Parliament"

#: folded spellings of the political groups → the short name stored
GROUPS: dict[str, str] = {
    "group of the european people's party (christian democrats)": "EPP",
    "epp": "EPP",
    "ppe": "EPP",
    "group of the progressive alliance of socialists and democrats in the european parliament": "S&D",  # noqa: E501
    "s&d": "S&D",
    "s_d": "S&D",
    "sd": "S&D",
    "patriots for europe group": "PfE",
    "pfe": "PfE",
    "european conservatives and reformists group": "ECR",
    "ecr": "ECR",
    "renew europe group": "Renew",
    "renew": "Renew",
    "group of the greens/european free alliance": "Greens/EFA",
    "greens/efa": "Greens/EFA",
    "green_efa": "Greens/EFA",
    "verts/ale": "Greens/EFA",
    "the left group in the european parliament - gue/ngl": "The Left",
    "the left": "The Left",
    "gue/ngl": "The Left",
    "gue_ngl": "The Left",
    "europe of sovereign nations group": "ESN",
    "esn": "ESN",
    "non-attached members": "NI",
    "ni": "NI",
}


def group_name(value: str) -> str:
    """The short name of a political group, or the value as written when unknown."""
    cleaned = " ".join(value.split())
    return GROUPS.get(cleaned.casefold(), cleaned)


# --- the full-list XML ------------------------------------------------------------------

_XML_FIELDS = {
    "fullName": "name",
    "country": "country",
    "politicalGroup": "political_group",
    "id": "ep_id",
    "nationalPoliticalGroup": "national_party",
}


def _is_capitals(token: str) -> bool:
    """A surname as the EP writes it: its last two letters are capitals (VOGT, McALLISTER)."""
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters[-2:])


def _surname_case(token: str) -> str:
    """DVOŘÁK → Dvořák, O'NEILL → O'Neill, McALLISTER → McAllister, SÁNCHEZ-GARCÍA → …"""
    parts = re.split(r"([-'’])", token)
    out = []
    for part in parts:
        k = len(part)
        while k > 0 and not part[k - 1].islower():
            k -= 1
        # part[k:] is the closing run of capitals (and marks); keep what comes before it
        run = part[k:]
        out.append(part[:k] + run[:1] + run[1:].lower() if len(run) > 1 else part)
    return "".join(out)


def split_full_name(full: str) -> tuple[str, str, str]:
    """First name, surname and display name from the EP's "Anneliese VOGT" form.

    The EP writes surnames in capitals, so they mark where the surname starts
    (with the lower-case particles before it: "Sophia in 't VELD"). A name with no
    such capitals is left whole: ``("", "", full)``.
    """
    tokens = full.split()
    start = next((i for i, t in enumerate(tokens) if i > 0 and _is_capitals(t)), None)
    if start is None:
        return "", "", " ".join(tokens)
    while start > 1 and tokens[start - 1].islower():
        start -= 1
    first = " ".join(tokens[:start])
    last = " ".join(t if t.islower() else _surname_case(t) for t in tokens[start:])
    return first, last, f"{first} {last}"


class _MepHandler(ContentHandler):
    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.rows: list[RawRow] = []
        self.locator: Locator | None = None
        self.current: RawRow | None = None
        self.field: str | None = None
        self.text: list[str] = []
        self.root: str | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:
        if self.root is None:
            self.root = name
            if name != "meps":
                raise ImportFileError(
                    f"not the European Parliament's list: the root is <{name}>, not <meps>",
                    place=self.file,
                )
        if name == "mep":
            line = self.locator.getLineNumber() if self.locator else 0
            self.current = RawRow(file=self.file, line=line or 1, ep=True)
        elif self.current is not None and name in _XML_FIELDS:
            self.field = _XML_FIELDS[name]
            self.text = []

    def characters(self, content: str) -> None:
        if self.field is not None:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        if self.current is not None and self.field is not None and name in _XML_FIELDS:
            value = "".join(self.text).strip()
            if self.field == "political_group":
                value = group_name(value)
            if self.field == "name":
                first, last, value = split_full_name(value)
                if last:
                    self.current.values["first_name"] = first
                    self.current.values["last_name"] = last
            self.current.values[self.field] = value
            self.field = None
        elif name == "mep" and self.current is not None:
            row = self.current
            row.values["kind"] = "mep"
            row.values["organisation"] = ORGANISATION
            if not row.values.get("ep_id"):
                row.error = "<mep> without <id>"
            self.rows.append(row)
            self.current = None


def read_ep_xml(data: bytes, *, file: str) -> ReadResult:
    handler = _MepHandler(file)
    try:
        defusedxml.sax.parseString(data, handler)
    except xml.sax.SAXParseException as exc:
        raise ImportFileError(
            f"not valid XML: {exc.getMessage()}", place=f"{file}:{exc.getLineNumber()}"
        ) from None
    except DefusedXmlException as exc:  # entity declarations and the like
        raise ImportFileError(f"refused XML ({type(exc).__name__})", place=file) from None
    except (xml.sax.SAXException, ValueError) as exc:
        raise ImportFileError(f"not usable XML: {exc}", place=file) from None
    return ReadResult(file=file, format="ep-xml", rows=handler.rows)


# --- Open Data v2 JSON-LD -----------------------------------------------------------------


def _last(value: Any) -> str:
    text = str(value or "").strip()
    return text.rstrip("/").rsplit("/", 1)[-1]


def _current(membership: dict[str, Any], today: date) -> bool:
    during = membership.get("memberDuring")
    if not isinstance(during, dict):
        return True
    start = str(during.get("startDate") or "")[:10]
    end = str(during.get("endDate") or "")[:10]
    return (not start or start <= today.isoformat()) and (not end or end >= today.isoformat())


def _org_labels(items: list[Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict) and (
            str(item.get("id", "")).startswith("org/") or item.get("type") == "Organization"
        ):
            label = item.get("label") or item.get("notation") or ""
            if isinstance(label, dict):
                label = label.get("en") or next(iter(label.values()), "")
            if label:
                labels[_last(item.get("id") or item.get("identifier"))] = str(label)
    return labels


def _organisation(value: Any, labels: dict[str, str]) -> str:
    if isinstance(value, dict):
        value = value.get("label") or value.get("id") or ""
        if isinstance(value, dict):
            value = value.get("en") or ""
    key = _last(value)
    return labels.get(key, "" if key.isdigit() else key)


_IDENTIFIER = re.compile(r'"identifier"\s*:\s*"?([^",}\s]+)')


def _identifier_lines(text: str) -> dict[str, int]:
    """The line of the first ``"identifier": …`` of each value, in one pass."""
    lines: dict[str, int] = {}
    line, counted = 1, 0
    for match in _IDENTIFIER.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        lines.setdefault(match.group(1), line)
    return lines


def read_ep_json(data: bytes, *, file: str, today: date | None = None) -> ReadResult:
    today = today or date.today()
    try:
        text = data.decode("utf-8-sig")
        document = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8: {exc.reason}", place=file) from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not JSON: {exc.msg}", place=f"{file}:{exc.lineno}") from None
    except RecursionError:  # e.g. "[[[[…": Python's decoder recurses per level
        raise ImportFileError("not JSON that can be read: nested too deeply", place=file) from None
    if isinstance(document, dict):
        items = document.get("data", document.get("@graph"))
        included = document.get("included", [])
    else:
        items, included = document, []
    if not isinstance(items, list) or not isinstance(included, list):
        raise ImportFileError(
            "not European Parliament JSON-LD: expected a list of persons in 'data'", place=file
        )
    labels = _org_labels(items + included)
    lines = _identifier_lines(text)
    result = ReadResult(file=file, format="ep-json")
    unresolved = 0
    for item in items:
        if not isinstance(item, dict) or str(item.get("id", "")).startswith("org/"):
            continue
        identifier = str(item.get("identifier") or _last(item.get("id")))
        row = RawRow(file=file, line=lines.get(identifier, 1), ep=True)
        values: dict[str, Any] = {"ep_id": identifier, "kind": "mep"}
        values["organisation"] = ORGANISATION
        if item.get("givenName"):
            values["first_name"] = item["givenName"]
        if item.get("familyName"):
            values["last_name"] = item["familyName"]
        if item.get("label"):
            # the label writes the surname in capitals ("Anneliese VOGT")
            first, last, values["name"] = split_full_name(str(item["label"]))
            if last:
                values.setdefault("first_name", first)
                values.setdefault("last_name", last)
        if item.get("api:country-of-representation"):
            values["country"] = _last(item["api:country-of-representation"])
        if item.get("api:political-group"):
            values["political_group"] = group_name(str(item["api:political-group"]))
        mail = item.get("hasEmail")
        if isinstance(mail, list):
            mail = mail[0] if mail else ""
        if mail:
            values["email"] = re.sub(r"^mailto:", "", str(mail), flags=re.IGNORECASE)
        memberships = item.get("hasMembership")
        if isinstance(memberships, list):
            committees: list[str] = []
            for m in memberships:
                if not isinstance(m, dict) or not _current(m, today):
                    continue
                kind = _last(m.get("membershipClassification")).upper()
                org = _organisation(m.get("organization"), labels)
                if not org:
                    unresolved += 1
                    continue
                if kind.startswith("COMMITTEE_PARLIAMENTARY"):
                    if org not in committees:
                        committees.append(org)
                elif kind == "EU_POLITICAL_GROUP":
                    values["political_group"] = group_name(org)
                elif kind == "NATIONAL_POLITICAL_GROUP":
                    values["national_party"] = org
            values["committees"] = committees
        row.values = values
        result.rows.append(row)
    if unresolved:
        result.warnings.append(
            f"{file}: {unresolved} current membership(s) name an organisation by number only "
            "and were skipped (include the corporate bodies in 'included' to resolve them)"
        )
    return result
