"""Importing CSV and JSON contact files: validation, line numbers, upsert, strictness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.config import Settings
from outreach.contacts import fields, store, writer
from outreach.contacts.store import import_files
from outreach.errors import ImportFileError
from outreach.models import Contact, Event, Suppression, load_list

HEADER = "email,name,kind,country,committees,tags\n"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


async def run(settings: Settings, *paths: Path, **options) -> store.ImportReport:
    return await import_files(list(paths), settings=settings, **options)


def bad_file(tmp_path: Path) -> Path:
    """Good rows among seven kinds of bad ones (lines as an editor numbers them)."""
    lines = [
        HEADER.encode(),  # 1
        b"anna@example.org,Anna Berg,mep,Germany,DROI;libe,x\n",  # 2 good
        b"bad@,Bad Address,mep,DE,,\n",  # 3 bad address
        b"anna@example.org,Anna Again,mep,DE,,\n",  # 4 duplicate
        b"carl@example.org,Carl,mep,Atlantis,,\n",  # 5 unknown country
        b",No Address,mep,DE,,\n",  # 6 missing e-mail
        b"dora@example.org,Dora,mep,DE\n",  # 7 wrong column count
        b"emil@example.org,\xc9mile Caf\xe9,mep,FR,,\n",  # 8 bad encoding (Latin-1)
        b'"fay@example.org","Fay\nSecond line",mep,FR,,\n',  # 9-10 control character (newline)
        'zoë@example.org,Zoë {Ó Briain} "Z",ministry,IE,,\n'.encode(),  # 11 good
        b"\n",  # 12 blank: skipped
        b"gus@example.org,Gus,senator,DE,,\n",  # 13 unknown kind
    ]
    return write(tmp_path, "bad.csv", b"".join(lines))


EXPECTED = {
    3: "invalid e-mail address 'bad@'",
    4: "duplicate address: line 2 has it (the first wins)",
    5: "unknown country 'Atlantis'",
    6: "missing e-mail address",
    7: "wrong column count: 4 fields, the header has 6",
    8: "bad encoding (not UTF-8)",
    9: "name: control character",
    13: "unknown kind 'senator'",
}


async def test_bad_rows_are_reported_with_their_lines_and_good_rows_imported(
    db: Settings, tmp_path: Path
) -> None:
    path = bad_file(tmp_path)
    report = await run(db, path)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    got = {int(r.place.rsplit(":", 1)[1]): r.reason for r in report.rejected}
    assert sorted(got) == sorted(EXPECTED)
    for line, reason in EXPECTED.items():
        assert reason in got[line], (line, got[line])
    assert all(r.place.startswith(f"{path}:") for r in report.rejected)
    anna = await Contact.get(email="anna@example.org")
    assert anna.committee_list == ["DROI", "LIBE"]
    assert anna.country == "DE"
    assert anna.language == "de"
    assert anna.source_file == str(path)
    zoe = await Contact.get(email="zoë@example.org")
    assert zoe.name == 'Zoë {Ó Briain} "Z"'  # a name is data: kept as written
    assert zoe.language == "en"  # Ireland's default language for letters


async def test_strict_imports_nothing_and_writes_no_event(db: Settings, tmp_path: Path) -> None:
    report = await run(db, bad_file(tmp_path), strict=True)
    assert not report.written
    assert len(report.rejected) == len(EXPECTED)
    assert await Contact.all().count() == 0
    assert await Event.all().count() == 0


async def test_dry_run_writes_nothing(db: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", HEADER + "a@example.org,A,mep,DE,,\n")
    report = await run(db, path, dry_run=True)
    assert report.created == 1
    assert not report.written
    assert await Contact.all().count() == 0
    assert await Event.all().count() == 0


async def test_upsert_counts_created_updated_unchanged(db: Settings, tmp_path: Path) -> None:
    first = write(
        tmp_path, "one.csv", HEADER + "a@example.org,A,mep,DE,,\nb@example.org,B,mep,FR,,\n"
    )
    await run(db, first)
    second = write(
        tmp_path,
        "two.csv",
        "E-Mail;Full Name;Country\nA@Example.org;A;Germany\nb@example.org;Bea;FR\n"
        "c@example.org;C;AT\n",
    )
    report = await run(db, second)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    b = await Contact.get(email="b@example.org")
    assert b.name == "Bea"
    assert b.kind == "mep"
    assert b.source_file == str(second)
    events = await Event.filter(contact_id=b.id, action="contacts.import").order_by("id")
    assert [e.detail_dict["change"] for e in events] == ["created", "updated"]
    assert events[1].detail_dict["fields"] == ["name"]


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ('\ufeffemail,name\na@example.org,"Berg, Anna"\n', "comma with BOM"),
        ("email;name\na@example.org;Berg, Anna\n", "semicolon"),
        ("email\tname\r\na@example.org\tBerg, Anna\r\n", "tab, CRLF"),
        ("email|name\na@example.org|Berg, Anna\n", "pipe"),
    ],
)
async def test_csv_dialects(db: Settings, tmp_path: Path, content: str, delimiter: str) -> None:
    report = await run(db, write(tmp_path, "d.csv", content))
    assert report.created == 1, delimiter
    assert not report.rejected, delimiter
    assert (await Contact.get(email="a@example.org")).name == "Berg, Anna"


async def test_utf16_with_bom_is_read(db: Settings, tmp_path: Path) -> None:
    data = "email\tname\nz@example.org\tZoë\n".encode("utf-16")
    report = await run(db, write(tmp_path, "u16.txt", data))
    assert report.created == 1


async def test_line_numbers_count_newlines_inside_quoted_fields(
    db: Settings, tmp_path: Path
) -> None:
    content = 'email,notes\na@example.org,"one\ntwo\nthree"\nbad,x\n'
    report = await run(db, write(tmp_path, "n.csv", content))
    assert [r.place for r in report.rejected] == [f"{tmp_path / 'n.csv'}:5"]
    assert (await Contact.get(email="a@example.org")).notes == "one\ntwo\nthree"


async def test_file_in_another_encoding_is_refused(db: Settings, tmp_path: Path) -> None:
    data = "email,name\na@example.org,Émile\nb@example.org,Zoë\n".encode("latin-1")
    with pytest.raises(ImportFileError, match="not UTF-8") as info:
        await run(db, write(tmp_path, "latin.csv", data))
    assert str(tmp_path / "latin.csv") in str(info.value)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "the file is empty"),
        ("name,country\nA,DE\n", "no e-mail column"),
        ("email,mail\na@example.org,b@example.org\n", "both mean 'email'"),
    ],
)
async def test_unusable_csv_files(db: Settings, tmp_path: Path, content: str, needle: str) -> None:
    with pytest.raises(ImportFileError, match=needle):
        await run(db, write(tmp_path, "x.csv", content))
    assert await Contact.all().count() == 0


async def test_missing_file(db: Settings, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        await run(db, tmp_path / "nope.csv")


async def test_json_list_of_objects_with_lines(db: Settings, tmp_path: Path) -> None:
    content = json.dumps(
        [
            {"email": "a@example.org", "name": "A", "committees": ["droi"], "tags": "x;y"},
            {"email": "a@example.org", "name": "Again"},
            {"email": "b@example.org", "name": {"first": "B"}},
            {"e-mail": "c@example.org", "ep_id": 12345, "country": "UK"},
        ],
        indent=2,
    )
    path = write(tmp_path, "c.json", content)
    report = await run(db, path)
    assert report.created == 2
    assert [(r.place, r.reason) for r in report.rejected] == [
        (f"{path}:10", "duplicate address: line 2 has it (the first wins)"),
        (f"{path}:14", "name: expected text, not an object"),
    ]
    a = await Contact.get(email="a@example.org")
    assert a.committee_list == ["DROI"]
    assert a.tag_list == ["x", "y"]
    c = await Contact.get(email="c@example.org")
    assert (c.ep_id, c.country, c.language) == ("12345", "GB", "en")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"email": "a@example.org"}', "expected a list of objects, found an object"),
        ('["a@example.org"]', "expected a list of objects, found str"),
        ('[{"email": "a@example.org"},\n  oops]', "not JSON"),
        ('[{"email": "a@example.org"},', "not JSON"),
        ("[1, 2]", "found a number"),
    ],
)
async def test_json_that_is_not_a_list_of_objects_is_refused(
    db: Settings, tmp_path: Path, content: str, needle: str
) -> None:
    with pytest.raises(ImportFileError, match=needle):
        await run(db, write(tmp_path, "bad.json", content), format="json")
    assert await Contact.all().count() == 0


async def test_tags_option_and_language_default(db: Settings, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.csv",
        "email,country,language,tags\na@example.org,BE,,old\nb@example.org,BE,fr,\n",
    )
    await run(db, path, tags=["wave-1"])
    a = await Contact.get(email="a@example.org")
    b = await Contact.get(email="b@example.org")
    assert (a.language, a.tag_list) == ("nl", ["old", "wave-1"])
    assert (b.language, b.tag_list) == ("fr", ["wave-1"])
    # a file without a tags column adds --tag to the stored tags
    again = write(tmp_path, "u.csv", "email\na@example.org\n")
    await run(db, again, tags=["wave-2"])
    assert (await Contact.get(email="a@example.org")).tag_list == ["old", "wave-1", "wave-2"]


async def test_opt_out_survives_reimport_and_erased_address_is_refused(
    db: Settings, tmp_path: Path
) -> None:
    from outreach.contacts.erase import erase_contact
    from outreach.contacts.manage import opt_out

    path = write(tmp_path, "p.csv", HEADER + "a@example.org,A,mep,DE,,\nb@example.org,B,mep,DE,,\n")
    await run(db, path)
    await opt_out("a@example.org", reason="asked by phone", actor="tester")
    await erase_contact("b@example.org", settings=db)
    report = await run(db, path)
    assert report.unchanged == 1
    assert [r.reason for r in report.rejected] == [
        "this address was erased and is on the do-not-contact list"
    ]
    assert await Suppression.filter(email="a@example.org", reason="opt-out").exists()
    assert not await Contact.filter(email="b@example.org").exists()


async def test_a_crash_mid_import_leaves_the_database_as_it_was(
    db: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(f"p{i}@example.org,P{i},mep,DE,,\n" for i in range(30))
    await run(db, write(tmp_path, "first.csv", HEADER + "keep@example.org,K,mep,DE,,\n"))
    real = writer.insert_rows

    async def failing(conn, table, columns, values, **kw):
        if table == "event":
            raise RuntimeError("power cut")
        await real(conn, table, columns, values, **kw)

    monkeypatch.setattr(writer, "insert_rows", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        await run(db, write(tmp_path, "big.csv", HEADER + rows))
    assert await Contact.all().values_list("email", flat=True) == ["keep@example.org"]
    assert await Event.all().count() == 2  # the first import's contact and summary


async def test_lists_and_names_are_normalised(db: Settings, tmp_path: Path) -> None:
    decomposed = "Zoe\u0308"  # e + combining diaeresis
    path = write(
        tmp_path,
        "l.csv",
        f"email,name,committees,tags\na@example.org,{decomposed},droi; LIBE;DROI,b;a;b\n",
    )
    await run(db, path)
    a = await Contact.get(email="a@example.org")
    assert a.name == "Zoë"
    assert len(a.name) == 3
    assert load_list(a.committees) == ["DROI", "LIBE"]
    assert a.tag_list == ["b", "a"]


_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-."


@settings(max_examples=300, deadline=None)
@given(
    local=st.text(alphabet=_ATEXT, min_size=1, max_size=70),
    domain=st.sampled_from(["example.org", "EXAMPLE.org", "gov.example.org", "x.y", "a-.org"]),
)
def test_quick_address_check_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    try:
        expected: str | None = str(
            validate_email(address, check_deliverability=False).normalized
        ).lower()
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = fields.email(address)
    except ValueError:
        got = None
    assert got == expected


async def test_progress_is_reported_through_the_callback(db: Settings, tmp_path: Path) -> None:
    rows = "".join(f"p{i}@example.org,P,mep,DE,,\n" for i in range(1200))
    calls: list[tuple[str, int, int]] = []
    await run(db, write(tmp_path, "p.csv", HEADER + rows), progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages[0] == "reading"
    assert "checking" in stages
    assert stages[-1] == "writing"
    assert calls[-1][1:] == (1200, 1200)
