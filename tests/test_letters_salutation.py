"""Greetings by language, honorific, role and kind, with neutral forms."""

from __future__ import annotations

import pytest

from outreach.letters.salutation import parse_honorific, salutation


def greet(language: str, honorific: str = "", role: str = "", kind: str = "other",
          first: str = "Alex", last: str = "Novak") -> str:
    return salutation(language=language, honorific=honorific, role=role, kind=kind,
                      first_name=first, last_name=last, name=f"{first} {last}".strip())


@pytest.mark.parametrize(
    ("language", "honorific", "role", "kind", "expected"),
    [
        ("en", "Ms", "", "mep", "Dear Ms Novak,"),
        ("en", "Mr.", "", "national-mp", "Dear Mr Novak,"),
        ("en", "Dr", "", "other", "Dear Dr Novak,"),
        ("en", "Prof.", "", "other", "Dear Professor Novak,"),
        ("en", "Ms", "Minister of Justice", "ministry", "Dear Minister,"),
        ("en", "", "Permanent Representative", "permanent-representation", "Dear Ambassador,"),
        ("en", "", "", "mep", "Dear Alex Novak,"),
        ("en", "Mx", "", "mep", "Dear Alex Novak,"),
        ("fr", "Mme", "Ministre de la Justice", "ministry", "Madame la Ministre,"),
        ("fr", "M.", "Minister of the Interior", "ministry", "Monsieur le Ministre,"),
        ("fr", "Ms", "", "mep", "Madame la Députée,"),
        ("fr", "Mr", "", "mep", "Monsieur le Député,"),
        ("fr", "Mr", "Ambassador", "permanent-representation", "Monsieur l'Ambassadeur,"),
        ("fr", "Ms", "", "other", "Madame,"),
        ("fr", "", "", "mep", "Madame la Députée, Monsieur le Député,"),
        ("fr", "", "", "other", "Madame, Monsieur,"),
        ("fr", "", "Ministre", "ministry", "Madame la Ministre, Monsieur le Ministre,"),
        ("de", "Frau", "", "mep", "Sehr geehrte Frau Novak,"),
        ("de", "Herr Dr.", "", "other", "Sehr geehrter Herr Dr. Novak,"),
        ("de", "Frau", "Bundesministerin des Innern", "ministry", "Sehr geehrte Frau Ministerin,"),
        ("de", "Mr", "Botschafter", "permanent-representation", "Sehr geehrter Herr Botschafter,"),
        ("de", "", "", "mep", "Guten Tag Alex Novak,"),
        ("de", "", "Minister of Justice", "ministry",
         "Sehr geehrte Frau Ministerin, sehr geehrter Herr Minister,"),
        ("it", "", "Minister of Justice", "ministry", "Gentile Ministra, gentile Ministro,"),
        ("es", "", "Permanent Representative", "permanent-representation",
         "Estimada Sra. Embajadora, estimado Sr. Embajador:"),
        ("en", "", "Secretary of State for Justice", "ministry", "Dear Minister,"),
        ("en", "", "Home Secretary", "ministry", "Dear Minister,"),
        ("de", "Frau", "Federal Councillor for Foreign Affairs", "ministry",
         "Sehr geehrte Frau Ministerin,"),
        ("en", "Ms", "Deputy Permanent Representative", "permanent-representation",
         "Dear Ms Novak,"),
        ("de", "Dr", "", "mep", "Guten Tag Dr. Alex Novak,"),
        ("it", "Sig.ra", "", "mep", "Gentile On. Novak,"),
        ("it", "", "", "national-mp", "Gentile On. Novak,"),
        ("it", "Ms", "Ministra dell'Interno", "ministry", "Gentile Ministra,"),
        ("it", "Mr", "", "other", "Gentile Sig. Novak,"),
        ("it", "Dott.ssa", "", "other", "Gentile Dott.ssa Novak,"),
        ("it", "", "", "other", "Gentile Alex Novak,"),
        ("es", "Sra.", "", "mep", "Estimada Sra. Novak:"),
        ("es", "Mr", "", "mep", "Estimado Sr. Novak:"),
        ("es", "Sra.", "Ministra de Justicia", "ministry", "Estimada Sra. Ministra:"),
        ("es", "Dra.", "", "other", "Estimada Dra. Novak:"),
        ("es", "", "", "mep", "Estimado/a Alex Novak:"),
    ],
)
def test_salutation(language: str, honorific: str, role: str, kind: str, expected: str) -> None:
    assert greet(language, honorific, role, kind) == expected


def test_no_name_at_all_gets_the_formal_collective_form() -> None:
    got = {lang: greet(lang, first="", last="") for lang in ("en", "fr", "de", "it", "es")}
    assert got == {"en": "Dear colleagues,", "fr": "Madame, Monsieur,",
                   "de": "Sehr geehrte Damen und Herren,", "it": "Gentili Signore e Signori,",
                   "es": "A quien corresponda:"}


def test_a_ministry_as_an_organisation_is_not_a_minister() -> None:
    assert greet("en", "", "Ministry of Justice", "ministry", "", "") == "Dear colleagues,"


def test_an_office_is_not_greeted_by_its_name() -> None:
    got = salutation(language="de", honorific="", role="Justice and Home Affairs counsellor",
                     kind="permanent-representation", first_name="", last_name="",
                     name="Permanent Representation of Germany to the EU")
    assert got == "Sehr geehrte Damen und Herren,"
    office_of_minister = salutation(language="fr", honorific="", role="Minister of Justice",
                                    kind="ministry", first_name="", last_name="",
                                    name="Office of the Minister")
    assert office_of_minister == "Madame la Ministre, Monsieur le Ministre,"


def test_honorific_parsing() -> None:
    assert parse_honorific("Frau Prof. Dr.").gender == "f"
    assert parse_honorific("Frau Prof. Dr.").professor
    assert parse_honorific("Sr.").gender == "m"
    assert parse_honorific("Dr").gender == ""
    assert parse_honorific("").gender == ""


@pytest.mark.parametrize(("kind", "expected"), [
    ("mep", "Dear Member of the European Parliament,"),
    ("national-mp", "Dear Member of Parliament,"),
    ("permanent-representation", "Dear colleagues,"),
])
def test_an_office_without_a_name_is_never_dear_sir_or_madam(kind: str, expected: str) -> None:
    # "Dear Sir or Madam" costs 2.0 points with SpamAssassin (DEAR_SOMETHING)
    assert greet("en", "", "", kind, "", "") == expected
