"""Reference data (countries) and the ``--where`` selection grammar."""

from __future__ import annotations

import json
import zoneinfo

import pytest
from tortoise.expressions import Q

from outreach import refdata, selection
from outreach.errors import SelectionError
from outreach.models import Contact, Suppression, dump_list
from outreach.selection import (
    FieldRequest,
    Selection,
    known_fields,
    parse_where,
    register_field,
    select_contacts,
)

# --- refdata ---------------------------------------------------------------------------


def test_council_of_europe_has_46_members_27_in_the_eu() -> None:
    members = refdata.countries()
    assert len(members) == 46
    assert len({c.code for c in members}) == 46
    assert sum(c.eu for c in members) == 27
    assert refdata.country("RU") is None
    for c in members:
        zoneinfo.ZoneInfo(c.timezone)  # every zone exists
        assert c.languages
        assert all(len(lang) == 2 for lang in c.languages)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("de", "DE"),
        (" Germany ", "DE"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("EL", "GR"),
        ("Greece", "GR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Moldova", "MD"),
        ("the Netherlands", "NL"),
        ("Canada", "CA"),
        ("Atlantis", None),
        ("XX", None),
        ("EU", None),
        ("", None),
    ],
)
def test_normalise_country(value: str, code: str | None) -> None:
    assert refdata.normalise_country(value) == code


def test_default_language() -> None:
    assert refdata.default_language("BE") == "nl"
    assert refdata.default_language("at") == "de"
    assert refdata.default_language("IE") == "en"
    assert refdata.default_language("CA") == "en"
    assert refdata.default_language("") == "en"
    assert refdata.is_eu("FR")
    assert not refdata.is_eu("CH")


# --- parsing ---------------------------------------------------------------------------


def test_parse_groups_and_normalises() -> None:
    sel = parse_where(["Country=Germany", "country=fr", "kind=MEP", "committee=droi", "country=DE"])
    assert sel.where == (("committee", ("DROI",)), ("country", ("DE", "FR")), ("kind", ("mep",)))
    assert sel.describe() == "committee=DROI and country=DE|FR and kind=mep"
    assert parse_where(sel.to_args()) == sel
    assert parse_where([]).describe() == "everyone"
    assert not parse_where([])


def test_json_round_trip() -> None:
    sel = parse_where(["political-group=Greens/EFA", "tag=a=b", "search=Zoë"])
    data = sel.to_json()
    assert data == {"political_group": ["Greens/EFA"], "search": ["Zoë"], "tag": ["a=b"]}
    assert Selection.from_json(json.dumps(data)) == sel
    assert Selection.from_json(data) == sel


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        (["colour=blue"], "unknown field 'colour'; known fields: "),
        (["country"], "expected FIELD=VALUE"),
        (["country="], "needs a value"),
        (["country=Atlantis"], "unknown country 'Atlantis'"),
        (["kind=senator"], "unknown kind 'senator'"),
        (["id=abc"], "not a number"),
        (["suppressed=maybe"], "expected yes or no"),
    ],
)
def test_parse_errors_name_the_problem(items: list[str], needle: str) -> None:
    with pytest.raises(SelectionError) as info:
        parse_where(items)
    assert needle in str(info.value)
    if "known fields" in needle:
        listed = str(info.value).split("known fields: ", 1)[1].split(", ")
        assert {"committee", "country", "email", "tag", "search"} <= set(listed)


def test_from_json_refuses_garbage() -> None:
    with pytest.raises(SelectionError):
        Selection.from_json("[1, 2]")
    with pytest.raises(SelectionError):
        Selection.from_json({"country": "DE"})


# --- querying --------------------------------------------------------------------------


async def _people() -> dict[str, Contact]:
    rows = [
        ("anna@example.org", "Anna Berg", "mep", "DE", "EPP", ["DROI", "LIBE"], ["caucus"]),
        ("bruno@example.org", "Bruno Roux", "mep", "FR", "Renew", ["AFET"], []),
        ("carla@example.org", "Carla Neri", "ministry", "IT", "", [], ["100%_sure"]),
        ("dora@example.org", "Dora Weiss", "mep", "AT", "Greens/EFA", ["LIBE"], ['say "hi"']),
    ]
    out = {}
    for email, name, kind, country, group, committees, tags in rows:
        out[email.split("@")[0]] = await Contact.create(
            email=email,
            name=name,
            kind=kind,
            country=country,
            political_group=group,
            committees=dump_list(committees),
            tags=dump_list(tags),
            organisation="Ministry of Justice" if kind == "ministry" else "European Parliament",
        )
    return out


async def _names(items: list[str]) -> list[str]:
    return [c.name.split()[0] for c in await select_contacts(parse_where(items))]


async def test_and_across_fields_or_within(db) -> None:
    await _people()
    assert await _names([]) == ["Anna", "Bruno", "Carla", "Dora"]
    assert await _names(["country=DE", "country=France", "kind=mep"]) == ["Anna", "Bruno"]
    assert await _names(["country=DE", "country=IT", "kind=mep"]) == ["Anna"]
    assert await _names(["committee=libe"]) == ["Anna", "Dora"]
    assert await _names(["committee=LIBE", "committee=AFET"]) == ["Anna", "Bruno", "Dora"]
    assert await _names(["political_group=greens/efa"]) == ["Dora"]
    assert await _names(["search=ministry"]) == ["Carla"]
    assert await _names(["search=BRUNO@"]) == ["Bruno"]
    assert await _names(["email=Anna@Example.org"]) == ["Anna"]


async def test_list_elements_match_whole_items_with_awkward_characters(db) -> None:
    await _people()
    assert await _names(["tag=100%_sure"]) == ["Carla"]
    assert await _names(["tag=100"]) == []
    assert await _names(["tag=%"]) == []
    assert await _names(['tag=say "hi"']) == ["Dora"]
    assert await _names(["committee=LIB"]) == []


async def test_id_and_suppressed(db) -> None:
    people = await _people()
    assert await _names([f"id={people['bruno'].id}", f"id=#{people['carla'].id}"]) == [
        "Bruno",
        "Carla",
    ]
    await Suppression.create(email="bruno@example.org", email_hash="x" * 64, reason="opt-out")
    assert await _names(["suppressed=yes"]) == ["Bruno"]
    assert await _names(["suppressed=no", "kind=mep"]) == ["Anna", "Dora"]


async def test_registered_fields_and_prefixes(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection, "_FIELDS", dict(selection._FIELDS))  # keep the registry clean
    people = await _people()
    seen: list[FieldRequest] = []

    async def by_stance(request: FieldRequest) -> set[int]:
        seen.append(request)
        return {people["anna"].id, people["dora"].id}

    async def by_status(request: FieldRequest) -> Q:
        if request.campaign is None:
            raise SelectionError("needs a campaign", place="status")
        return Q(id=0)

    register_field("stance.", by_stance, prefix=True, normalise=str.lower)
    register_field("status", by_status)
    assert "stance.…" in known_fields()
    sel = parse_where(["stance.caucus=SUPPORT", "kind=mep", "country=AT"])
    assert [c.name for c in await select_contacts(sel)] == ["Dora Weiss"]
    assert seen[0].field == "stance.caucus"
    assert seen[0].values == ("support",)
    with pytest.raises(SelectionError, match="unknown field"):
        parse_where(["stance.=x"])
    with pytest.raises(SelectionError, match="needs a campaign"):
        await select_contacts(parse_where(["status=sent"]))
