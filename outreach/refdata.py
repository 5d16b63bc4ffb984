"""Reference data: the 46 member states of the Council of Europe.

The table ships as ``contacts/countries.csv`` (``code,name,languages,eu,timezone``):
ISO 3166-1 alpha-2 code, English name, the official languages as ISO 639-1
codes separated by ``;`` (the first is the default language of a letter), EU
membership (``1``/``0``) and the IANA time zone of the capital. It is read once,
on first use.

:func:`normalise_country` turns what people write in a contact file (``de``,
``Germany``, ``Czech Republic``, ``UK``, ``EL``) into the ISO code. Countries
outside the Council of Europe are accepted by their ISO code or English name
too (a coalition may write to Canada's embassy): :func:`country` then returns
``None`` for them and :func:`default_language` falls back to English.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache

from outreach.resources import shipped_contacts

FALLBACK_LANGUAGE = "en"

#: other ways of writing a member state (keys are folded with :func:`_fold`)
_ALIASES: dict[str, str] = {
    "czech republic": "CZ",
    "slovak republic": "SK",
    "republic of moldova": "MD",
    "moldova, republic of": "MD",
    "turkey": "TR",
    "turkiye": "TR",
    "republic of turkiye": "TR",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "el": "GR",
    "hellas": "GR",
    "the netherlands": "NL",
    "holland": "NL",
    "macedonia": "MK",
    "republic of north macedonia": "MK",
    "bosnia": "BA",
    "bosnia-herzegovina": "BA",
    "bosnia & herzegovina": "BA",
    "republic of ireland": "IE",
    "eire": "IE",
    "deutschland": "DE",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "espana": "ES",
    "italia": "IT",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "belgique": "BE",
    "belgie": "BE",
    "cesko": "CZ",
    "magyarorszag": "HU",
    "hrvatska": "HR",
    "slovenija": "SI",
    "slovensko": "SK",
    "eesti": "EE",
    "latvija": "LV",
    "lietuva": "LT",
    "ukraina": "UA",
}

#: codes Babel knows that are not ISO 3166-1 countries
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    languages: tuple[str, ...]
    eu: bool
    timezone: str

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else FALLBACK_LANGUAGE


def _fold(text: str) -> str:
    """Lower case, accents and surplus spaces removed: ``" Türkiye "`` → ``turkiye``."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("’", "'").split())


@cache
def _table() -> dict[str, Country]:
    path = shipped_contacts() / "countries.csv"
    table: dict[str, Country] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["code"].strip().upper()
            table[code] = Country(
                code=code,
                name=row["name"].strip(),
                languages=tuple(x.strip() for x in row["languages"].split(";") if x.strip()),
                eu=row["eu"].strip() == "1",
                timezone=row["timezone"].strip(),
            )
    return table


@cache
def _world() -> dict[str, str]:
    """ISO code → English name of every country Babel knows (not only members)."""
    from babel import Locale

    names: dict[str, str] = {}
    for code, name in Locale("en").territories.items():
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
            names[code] = name
    return names


@cache
def _lookup() -> dict[str, str]:
    """Folded spelling → ISO code: world names, then member names, then aliases."""
    index: dict[str, str] = {}
    for code, name in _world().items():
        index[_fold(name)] = code
    for c in _table().values():
        index[_fold(c.name)] = c.code
    for alias, code in _ALIASES.items():
        index[_fold(alias)] = code
    return index


def countries() -> list[Country]:
    """The 46 member states, in the order of the shipped file (alphabetical by name)."""
    return list(_table().values())


def country(code: str) -> Country | None:
    """The member state with this ISO code (any case), else None."""
    return _table().get(code.strip().upper())


def normalise_country(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a code, English name or common alias; else None.

    ``"de"`` → ``"DE"``, ``"Czech Republic"`` → ``"CZ"``, ``"UK"`` → ``"GB"``,
    ``"EL"`` → ``"GR"`` (the EU's code for Greece), ``"Atlantis"`` → None.
    """
    text = value.strip()
    if not text:
        return None
    folded = _fold(text)
    if folded in _ALIASES:
        return _ALIASES[folded]
    if len(text) == 2 and text.isascii() and text.isalpha():
        code = text.upper()
        return code if code in _table() or code in _world() else None
    return _lookup().get(folded)


def default_language(code: str) -> str:
    """The default letter language of a country (its first official language), else ``en``."""
    found = country(code) if code else None
    return found.default_language if found is not None else FALLBACK_LANGUAGE


def is_eu(code: str) -> bool:
    found = country(code)
    return found is not None and found.eu
