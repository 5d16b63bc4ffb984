"""The European Parliament's full-list XML and Open Data JSON-LD, merged on the EP id."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.contacts.europarl import group_name, read_ep_json, read_ep_xml, split_full_name
from outreach.contacts.formats import detect
from outreach.contacts.store import import_files
from outreach.errors import ImportFileError
from outreach.models import Contact

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
XML = FIXTURES / "ep-full-list.xml"
JSONLD = FIXTURES / "ep-meps.jsonld"
#: a day inside every fixture membership that is meant to be current
TODAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_xml_rows_carry_their_lines_and_short_group_names() -> None:
    result = read_ep_xml(XML.read_bytes(), file="ep.xml")
    assert [r.line for r in result.rows] == [6, 13, 20]
    first = result.rows[0].values
    assert first == {
        "name": "Anneliese Vogt",
        "first_name": "Anneliese",
        "last_name": "Vogt",
        "country": "Germany",
        "political_group": "EPP",
        "ep_id": "990001",
        "national_party": "Union Demo",
        "kind": "mep",
        "organisation": "European Parliament",
    }
    assert all(r.ep for r in result.rows)


def test_json_ld_keeps_current_committees_only() -> None:
    result = read_ep_json(JSONLD.read_bytes(), file="ep.jsonld", today=date(2026, 11, 28))
    by_id = {r.values["ep_id"]: r.values for r in result.rows}
    assert by_id["990001"]["committees"] == ["LIBE", "DROI"]  # PETI ended in 2024
    assert by_id["990001"]["political_group"] == "EPP"
    assert by_id["990001"]["national_party"] == "Union Demo"
    assert by_id["990001"]["email"] == "anneliese.vogt@example.org"
    assert by_id["990002"]["committees"] == ["AFET"]  # the delegation is not a committee
    assert by_id["990002"]["political_group"] == "Renew"
    later = read_ep_json(JSONLD.read_bytes(), file="ep.jsonld", today=date(2030, 1, 1))
    assert {r.values["ep_id"]: r.values for r in later.rows}["990008"]["committees"] == []


async def test_xml_and_json_ld_become_one_contact_per_mep(db: Settings) -> None:
    report = await import_files([XML, JSONLD], settings=db, now=TODAY)
    assert (report.created, len(report.rejected)) == (3, 0)
    meps = await Contact.all().order_by("ep_id")
    assert [m.ep_id for m in meps] == ["990001", "990002", "990008"]
    vogt = meps[0]
    assert vogt.email == "anneliese.vogt@example.org"
    assert (vogt.name, vogt.first_name, vogt.last_name) == ("Anneliese Vogt", "Anneliese", "Vogt")
    assert (vogt.country, vogt.language, vogt.kind) == ("DE", "de", "mep")
    assert (vogt.political_group, vogt.national_party) == ("EPP", "Union Demo")
    assert vogt.committee_list == ["LIBE", "DROI"]
    novak = meps[2]
    assert (novak.country, novak.political_group, novak.national_party) == (
        "CZ",
        "Greens/EFA",
        "Ukázková strana",
    )
    assert novak.committee_list == ["DROI"]


async def test_separate_imports_merge_on_the_ep_id(db: Settings) -> None:
    first = await import_files([XML], settings=db, now=TODAY)
    assert first.created == 3
    assert await Contact.filter(email__isnull=True).count() == 3  # the list has no addresses
    second = await import_files([JSONLD], settings=db, now=TODAY)
    assert (second.created, second.updated) == (0, 3)
    assert await Contact.all().count() == 3
    assert await Contact.filter(email__isnull=True).count() == 0
    third = await import_files([XML, JSONLD], settings=db, now=TODAY)
    assert (third.created, third.updated, third.unchanged) == (0, 0, 3)


def test_auto_detection() -> None:
    assert detect(XML.read_bytes(), "x.dat") == "ep-xml"
    assert detect(JSONLD.read_bytes(), "x.json") == "ep-json"
    assert detect(b'[{"email": "a@example.org"}]', "x.json") == "json"
    assert detect(b'[{"identifier": "1", "givenName": "A"}]', "x.json") == "ep-json"
    assert detect(b"email,name\n", "x.txt") == "csv"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"<meps><mep><id>1</id></mep>", "not valid XML"),
        (b"<people/>", "not <meps>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY e "x">]><meps>&e;</meps>',
            "refused XML",
        ),
    ],
)
def test_bad_xml_is_refused(data: bytes, needle: str) -> None:
    with pytest.raises(ImportFileError, match=needle):
        read_ep_xml(data, file="bad.xml")


def test_mep_without_id_is_a_rejected_row() -> None:
    rows = read_ep_xml(b"<meps>\n<mep><fullName>X</fullName></mep>\n</meps>", file="f").rows
    assert [(r.line, r.error) for r in rows] == [(2, "<mep> without <id>")]


def test_group_names() -> None:
    assert group_name("Group of the Greens/European Free Alliance") == "Greens/EFA"
    assert group_name("  Non-attached   Members ") == "NI"
    assert group_name("Some New Group") == "Some New Group"


def test_json_ld_rows_carry_the_line_of_their_identifier() -> None:
    result = read_ep_json(JSONLD.read_bytes(), file="ep.jsonld", today=date(2026, 11, 28))
    lines = JSONLD.read_text(encoding="utf-8").splitlines()
    for row in result.rows:
        assert f'"identifier": "{row.values["ep_id"]}"' in lines[row.line - 1]


@pytest.mark.parametrize(("full", "expected"), [
    ("Anneliese VOGT", ("Anneliese", "Vogt", "Anneliese Vogt")),
    ("Petr DVOŘÁK", ("Petr", "Dvořák", "Petr Dvořák")),
    ("Sophia in 't VELD", ("Sophia", "in 't Veld", "Sophia in 't Veld")),
    ("Ursula von der LEYEN", ("Ursula", "von der Leyen", "Ursula von der Leyen")),
    ("David McALLISTER", ("David", "McAllister", "David McAllister")),
    ("Jean-Marie O'NEILL", ("Jean-Marie", "O'Neill", "Jean-Marie O'Neill")),
    ("Ana SÁNCHEZ-GARCÍA", ("Ana", "Sánchez-García", "Ana Sánchez-García")),
    ("Maria Luisa DE LA CRUZ", ("Maria Luisa", "De La Cruz", "Maria Luisa De La Cruz")),
    ("Anna Novak", ("", "", "Anna Novak")),
    ("  Odd   spacing  ", ("", "", "Odd spacing")),
])
def test_the_eps_capitalised_surname_becomes_a_name_to_greet(
        full: str, expected: tuple[str, str, str]) -> None:
    # the letter says "Dear Petr Dvořák", not "Dear Petr DVOŘÁK"
    assert split_full_name(full) == expected
