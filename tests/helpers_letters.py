"""Sample targets for the letters tests: one of every kind, several languages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.models import Contact, dump_list

SAMPLES: list[dict[str, Any]] = [
    {"email": "anna.novak@europarl.europa.eu", "name": "Anna Novak", "first_name": "Anna",
     "last_name": "Novak", "honorific": "Ms", "role": "Chair of DROI", "kind": "mep",
     "organisation": "European Parliament", "country": "SI", "language": "en",
     "political_group": "S&D", "committees": ["DROI", "LIBE"]},
    {"email": "pierre.martin@europarl.europa.eu", "name": "Pierre Martin",
     "first_name": "Pierre", "last_name": "Martin", "honorific": "M.", "role": "Member",
     "kind": "mep", "organisation": "European Parliament", "country": "FR", "language": "fr",
     "committees": ["AFET"]},
    {"email": "minister@justice.example.de", "name": "Katrin Weber", "first_name": "Katrin",
     "last_name": "Weber", "honorific": "Frau", "role": "Bundesministerin der Justiz",
     "kind": "ministry", "organisation": "Bundesministerium der Justiz", "country": "DE",
     "language": "de"},
    {"email": "cabinet@interno.example.it", "name": "", "first_name": "", "last_name": "",
     "honorific": "", "role": "", "kind": "ministry", "organisation": "Ministero dell'Interno",
     "country": "IT", "language": "it"},
    {"email": "ministra@exteriores.example.es", "name": "Lucía García", "first_name": "Lucía",
     "last_name": "García", "honorific": "Sra.", "role": "Ministra de Asuntos Exteriores",
     "kind": "government", "organisation": "Gobierno de España", "country": "ES",
     "language": "es"},
    {"email": "ambassador@pr.example.no", "name": "Ola Nordmann", "first_name": "Ola",
     "last_name": "Nordmann", "honorific": "", "role": "Ambassador, Permanent Representative",
     "kind": "permanent-representation", "organisation": "Mission of Norway", "country": "NO",
     "language": ""},
    {"email": "posel@sejm.example.pl", "name": "Jan Kowalski", "first_name": "Jan",
     "last_name": "Kowalski", "honorific": "Mr", "role": "Member of the Sejm",
     "kind": "national-mp", "organisation": "Sejm", "country": "PL", "language": "pl"},
    {"email": "office@example.org", "name": "Sam Taylor", "first_name": "Sam",
     "last_name": "Taylor", "honorific": "", "role": "", "kind": "other", "organisation": "",
     "country": "GB", "language": "en"},
]


def sample(**overrides: Any) -> SimpleNamespace:
    """A contact-like object (no database) from the first sample, with overrides."""
    values = {"name": "", "first_name": "", "last_name": "", "honorific": "", "role": "",
              "kind": "other", "organisation": "", "country": "", "language": "",
              "political_group": "", "national_party": "", "committees": [], "email": ""}
    values.update(SAMPLES[0])
    values.update(overrides)
    return SimpleNamespace(**values)


async def add_contacts(rows: list[dict[str, Any]] | None = None) -> list[Contact]:
    out = []
    for row in rows if rows is not None else SAMPLES:
        data = dict(row)
        data["committees"] = dump_list(data.get("committees", []))
        out.append(await Contact.create(**data))
    return out


def seed_workspace(workspace: Path, rows: list[dict[str, Any]] | None = None) -> Settings:
    """Add contacts to a CLI workspace's database (from a sync test)."""
    settings = load_settings(workspace / "outreach.toml")

    async def body() -> None:
        async with open_db(settings.database_url):
            await add_contacts(rows)

    asyncio.run(body())
    return settings
