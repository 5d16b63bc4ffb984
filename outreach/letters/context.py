"""What a letter's templates see: the contact, the greeting, the country, dates.

Values are plain data. An empty string field of the contact is a
:class:`~outreach.letters.environment.MissingField` (false when tested, an
error naming the field when printed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date

from outreach import refdata
from outreach.config import Settings
from outreach.letters.environment import MissingField
from outreach.letters.salutation import office, salutation

#: the Babel locale used for each letter language (European English for "en")
LOCALES = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE", "it": "it_IT", "es": "es_ES"}

#: contact attributes a template may read (strings unless noted)
CONTACT_FIELDS = (
    "name", "first_name", "last_name", "honorific", "role", "kind", "organisation",
    "country", "country_name", "political_group", "national_party", "email", "language",
    "committees",
)

GOVERNMENT_KINDS = frozenset({"government", "ministry", "permanent-representation"})

# committee code → {language: (name, phrase completing "member …")}
COMMITTEES: dict[str, dict[str, tuple[str, str]]] = {
    "DROI": {
        "en": ("Subcommittee on Human Rights", "of the"),
        "fr": ("sous-commission des droits de l'homme", "de la"),
        "de": ("Unterausschuss Menschenrechte", "im"),
        "it": ("sottocommissione per i diritti umani", "della"),
        "es": ("Subcomisión de Derechos Humanos", "de la"),
    },
    "LIBE": {
        "en": ("Committee on Civil Liberties, Justice and Home Affairs", "of the"),
        "fr": ("commission des libertés civiles, de la justice et des affaires intérieures",
               "de la"),
        "de": ("Ausschuss für bürgerliche Freiheiten, Justiz und Inneres", "im"),
        "it": ("commissione per le libertà civili, la giustizia e gli affari interni", "della"),
        "es": ("Comisión de Libertades Civiles, Justicia y Asuntos de Interior", "de la"),
    },
    "AFET": {
        "en": ("Committee on Foreign Affairs", "of the"),
        "fr": ("commission des affaires étrangères", "de la"),
        "de": ("Ausschuss für auswärtige Angelegenheiten", "im"),
        "it": ("commissione per gli affari esteri", "della"),
        "es": ("Comisión de Asuntos Exteriores", "de la"),
    },
    "JURI": {
        "en": ("Committee on Legal Affairs", "of the"),
        "fr": ("commission des affaires juridiques", "de la"),
        "de": ("Rechtsausschuss", "im"),
        "it": ("commissione giuridica", "della"),
        "es": ("Comisión de Asuntos Jurídicos", "de la"),
    },
}
_AND = {"en": "and", "fr": "et", "de": "und", "it": "e", "es": "y"}
_CHAIR = re.compile(r"chair|président|vorsitz|presidente", re.IGNORECASE)
_VICE = re.compile(r"vice|stellvertret", re.IGNORECASE)


@dataclass(frozen=True)
class CommitteeRole:
    code: str
    name: str
    chair: bool
    vice_chair: bool


@dataclass(frozen=True)
class CountryInfo:
    code: str
    name: str
    eu: bool
    known: bool


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALES.get(language, language))


@cache
def long_date(day: date, language: str) -> str:
    """``28 November 2026`` / ``28 novembre 2026`` / ``28. November 2026``."""
    return str(format_date(day, format="long", locale=_locale(language)))


@cache
def country_info(code: str, language: str) -> CountryInfo:
    code = code.strip().upper()
    name = str(_locale(language).territories.get(code, code)) if code else ""
    return CountryInfo(code=code, name=name, eu=refdata.is_eu(code) if code else False,
                       known=bool(code) and refdata.country(code) is not None)


def committee_list(contact: Any) -> list[str]:
    value = getattr(contact, "committee_list", None)
    if value is None:
        value = getattr(contact, "committees", [])
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(";")
    return [str(v).strip().upper() for v in value if str(v).strip()]


def committee_roles(codes: list[str], role: str, language: str) -> list[CommitteeRole]:
    chair_in_role = bool(_CHAIR.search(role))
    vice = bool(_VICE.search(role))
    out = []
    for code in codes:
        names = COMMITTEES.get(code)
        if names is None:
            continue
        name = names.get(language, names["en"])[0]
        named = chair_in_role and code in role.upper()
        out.append(CommitteeRole(code=code, name=name, chair=named and not vice,
                                 vice_chair=named and vice))
    return out


def committees_text(roles: list[CommitteeRole], language: str) -> str:
    """``of the Subcommittee on Human Rights (DROI) and of the …``: completes "member"."""
    if not roles:
        return ""
    parts = []
    for r in roles:
        names = COMMITTEES[r.code]
        _, lead = names.get(language, names["en"])
        parts.append(f"{lead} {r.name} ({r.code})")
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {_AND.get(language, 'and')} {parts[-1]}"


class ContactView:
    """Read-only view of a contact for templates: empty strings are missing fields."""

    def __init__(self, contact: Any, language: str, label: str) -> None:
        self._values: dict[str, Any] = {}
        for field in CONTACT_FIELDS:
            if field == "committees":
                self._values[field] = committee_list(contact)
            elif field == "country_name":
                code = str(getattr(contact, "country", "") or "")
                self._values[field] = country_info(code, language).name
            else:
                self._values[field] = str(getattr(contact, field, "") or "")
        self._label = label

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        values = self.__dict__.get("_values", {})
        if name not in values:
            raise AttributeError(name)
        value = values[name]
        if value == "":
            return MissingField(
                hint=f"contact {self.__dict__.get('_label', '')} has no {name}",
                name=name,
            )
        return value

    def get(self, name: str) -> Any:
        return self._values.get(name, "")


def sender_context(settings: Settings) -> dict[str, str]:
    s = settings.sender
    return {"name": s.name, "organisation": s.organisation, "signature": s.signature,
            "website": s.website, "address": s.address}


def build_context(
    *,
    contact: Any,
    label: str,
    language: str,
    asks: list[str],
    settings: Settings,
    campaign_name: str,
    previous: dict[str, Any] | None,
    today: date,
) -> dict[str, Any]:
    view = ContactView(contact, language, label)
    kind = view.get("kind")
    role = view.get("role")
    roles = committee_roles(view.get("committees"), role, language)
    ctx: dict[str, Any] = {
        "salutation": salutation(
            language=language, honorific=view.get("honorific"), role=role, kind=kind,
            first_name=view.get("first_name"), last_name=view.get("last_name"),
            name=view.get("name"),
        ),
        "language": language,
        "contact": view,
        "is_mep": kind == "mep",
        "is_government": kind in GOVERNMENT_KINDS,
        "is_minister": office(role, kind) == "minister",
        "is_national_mp": kind == "national-mp",
        "committee_roles": roles,
        "committees_text": committees_text(roles, language),
        "country": country_info(view.get("country"), language),
        "asks": list(asks),
        "today": long_date(today, language),
        "sender": sender_context(settings),
        "campaign": {"name": campaign_name},
    }
    if previous is not None:
        sent_on = previous.get("sent_on", "")
        if isinstance(sent_on, datetime):
            sent_on = sent_on.date()
        if isinstance(sent_on, date):
            sent_on = long_date(sent_on, language)
        ctx["previous"] = {"sent_on": str(sent_on), "subject": str(previous.get("subject", ""))}
    return ctx
