"""The canonical contact columns, their aliases, and how each value is normalised.

A normaliser takes the text of one cell and returns the stored value, or raises
:class:`ValueError` whose message is the reason a row is rejected. The same
normalisers serve the importer and the ``--where`` filters, so a filter value is
read exactly as an imported cell would be (``country=Germany`` finds ``DE``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from outreach.models import ContactKind
from outreach.refdata import default_language, normalise_country

#: the canonical columns, in the order of an export
COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "first_name",
    "last_name",
    "honorific",
    "role",
    "kind",
    "organisation",
    "country",
    "language",
    "political_group",
    "national_party",
    "committees",
    "tags",
    "ep_id",
    "notes",
)
LIST_COLUMNS = frozenset({"committees", "tags"})
KINDS: tuple[str, ...] = tuple(k.value for k in ContactKind)

#: accepted header spellings (folded: lower case, spaces/dashes as ``_``) → column
ALIASES: dict[str, str] = {
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "full_name": "name",
    "fullname": "name",
    "display_name": "name",
    "firstname": "first_name",
    "given_name": "first_name",
    "givenname": "first_name",
    "forename": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "familyname": "last_name",
    "title": "honorific",
    "salutation": "honorific",
    "position": "role",
    "function": "role",
    "job_title": "role",
    "type": "kind",
    "category": "kind",
    "organization": "organisation",
    "org": "organisation",
    "institution": "organisation",
    "body": "organisation",
    "country_code": "country",
    "member_state": "country",
    "lang": "language",
    "language_code": "language",
    "group": "political_group",
    "politicalgroup": "political_group",
    "ep_group": "political_group",
    "party": "national_party",
    "national_political_group": "national_party",
    "nationalpoliticalgroup": "national_party",
    "committee": "committees",
    "tag": "tags",
    "labels": "tags",
    "id_ep": "ep_id",
    "mep_id": "ep_id",
    "europarl_id": "ep_id",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
}

#: other spellings of a kind (folded) → the kind
KIND_ALIASES: dict[str, str] = {
    "member_of_the_european_parliament": "mep",
    "meps": "mep",
    "gov": "government",
    "ministry_of": "ministry",
    "minister": "ministry",
    "permanent_representation": "permanent-representation",
    "perm_rep": "permanent-representation",
    "permrep": "permanent-representation",
    "mission": "permanent-representation",
    "mp": "national-mp",
    "national_mp": "national-mp",
    "member_of_parliament": "national-mp",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
#: an unquoted ASCII local part of at most 64 characters (RFC 5322 dot-atom)
_DOT_ATOM = re.compile(rf"^(?=.{{1,64}}$){_ATEXT}(?:\.{_ATEXT})*$")
_MAX_ADDRESS = 254
_EP_ID = re.compile(r"^[0-9]{1,20}$")
_COMMITTEE = re.compile(r"^[A-Z0-9-]{2,10}$")

MAX_LENGTH: dict[str, int] = {
    "email": 320,
    "name": 300,
    "first_name": 150,
    "last_name": 150,
    "honorific": 60,
    "role": 300,
    "organisation": 300,
    "political_group": 100,
    "national_party": 300,
}


def fold_header(text: str) -> str:
    """``" E-Mail Address "`` → ``e_mail_address``."""
    return re.sub(r"[\s\-.]+", "_", text.strip().lstrip("\ufeff").casefold()).strip("_")


def canonical_column(header: str) -> str | None:
    """The canonical column a header names, or None when it names none."""
    folded = fold_header(header)
    if folded in COLUMNS:
        return folded
    return ALIASES.get(folded)


def text(value: str, *, column: str = "value", multiline: bool = False) -> str:
    """NFC, surrounding spaces removed, control characters refused; else kept as written."""
    cleaned = value.strip()
    limit = MAX_LENGTH.get(column)
    if cleaned.isascii() and cleaned.isprintable():  # the common case: nothing to change
        if limit is not None and len(cleaned) > limit:
            raise ValueError(f"{column}: longer than {limit} characters")
        return cleaned
    cleaned = unicodedata.normalize("NFC", cleaned)
    if multiline:
        cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    pattern = _CONTROL if multiline else _CONTROL_ONE_LINE
    if pattern.search(cleaned):
        raise ValueError(f"{column}: control character in {cleaned!r}")
    if limit is not None and len(cleaned) > limit:
        raise ValueError(f"{column}: longer than {limit} characters")
    return cleaned


def email(value: str) -> str:
    """A syntactically valid address, lower-cased (no DNS lookup).

    email-validator decides. Its domain check is the costly part and a contact
    list has few domains, so a plain ASCII dot-atom local part (a subset of what
    email-validator accepts) is checked here and its domain once per domain.
    """
    candidate = value.strip()
    if not candidate:
        raise ValueError("missing e-mail address")
    if _CONTROL_ONE_LINE.search(candidate):
        raise ValueError(f"invalid e-mail address {candidate!r}: control character")
    local, at, domain = candidate.rpartition("@")
    if at and len(candidate) <= _MAX_ADDRESS and _DOT_ATOM.match(local):
        checked_domain = _domain(domain)
        if checked_domain is not None:
            return f"{local}@{checked_domain}".lower()
    return _validate(candidate)


def _validate(candidate: str) -> str:
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid e-mail address {candidate!r}: {exc}") from None
    return str(checked.normalized).lower()


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The normalised domain when email-validator accepts it, else None (full check)."""
    try:
        checked = validate_email(f"postmaster@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(checked.ascii_domain) if checked.ascii_domain == domain.lower() else None


@lru_cache(maxsize=4096)
def kind(value: str) -> str:
    folded = fold_header(value)
    if not folded:
        return ContactKind.OTHER.value
    dashed = folded.replace("_", "-")
    if dashed in KINDS:
        return dashed
    found = KIND_ALIASES.get(folded)
    if found is None:
        raise ValueError(f"unknown kind {value.strip()!r} (one of: {', '.join(KINDS)})")
    return found


@lru_cache(maxsize=4096)
def country(value: str) -> str:
    if not value.strip():
        return ""
    code = normalise_country(value)
    if code is None:
        raise ValueError(f"unknown country {value.strip()!r}")
    return code


@cache
def _languages() -> frozenset[str]:
    from babel import Locale

    names: Iterable[Any] = Locale("en").languages
    return frozenset(str(code) for code in names if len(str(code)) == 2)


@lru_cache(maxsize=4096)
def language(value: str) -> str:
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if not code:
        return ""
    if len(code) != 2 or code not in _languages():
        raise ValueError(f"unknown language {value.strip()!r} (an ISO 639-1 code such as 'de')")
    return code


def language_for(value: str, country_code: str) -> str:
    """The language given, else the country's default (``en`` when unknown)."""
    return language(value) or default_language(country_code)


def split_list(value: str) -> list[str]:
    """``"a; b;;a"`` → ``["a", "b"]`` (order kept, duplicates and blanks dropped)."""
    out: list[str] = []
    for part in value.split(";"):
        item = text(part, column="list item")
        if item and item not in out:
            out.append(item)
    return out


@lru_cache(maxsize=4096)
def committee(value: str) -> str:
    code = text(value, column="committee").upper()
    if not _COMMITTEE.match(code):
        raise ValueError(f"committee {value.strip()!r} is not a code such as DROI or LIBE")
    return code


def committees(value: str | list[str]) -> list[str]:
    items = split_list(value) if isinstance(value, str) else [str(v) for v in value]
    out: list[str] = []
    for item in items:
        code = committee(item)
        if code not in out:
            out.append(code)
    return out


def tag(value: str) -> str:
    item = text(value, column="tag")
    if ";" in item:
        raise ValueError(f"tag {item!r} contains ';' (the list separator)")
    return item


def tags(value: str | list[str]) -> list[str]:
    items = split_list(value) if isinstance(value, str) else [str(v) for v in value]
    out: list[str] = []
    for item in items:
        t = tag(item)
        if t and t not in out:
            out.append(t)
    return out


def ep_id(value: str) -> str:
    cleaned = value.strip()
    if cleaned and not _EP_ID.match(cleaned):
        raise ValueError(f"ep_id {cleaned!r} is not a number")
    return cleaned


@cache
def scalar(column: str) -> Callable[[str], str]:
    """The normaliser of a one-value text column."""
    special: dict[str, Callable[[str], str]] = {
        "email": email,
        "kind": kind,
        "country": country,
        "language": language,
        "ep_id": ep_id,
    }
    if column in special:
        return special[column]
    multiline = column == "notes"

    def normalise(value: str) -> str:
        return text(value, column=column, multiline=multiline)

    return normalise
