"""`outreach contacts …` end to end: samples, reports, exit codes, round trip, erasure."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from outreach.resources import shipped_contacts

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
SAMPLES = sorted(str(p) for p in shipped_contacts().glob("sample-*.csv"))


def listed(cli, *args: str) -> list[dict]:
    result = cli("contacts", "list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_samples_import_and_list(cli) -> None:
    result = cli("contacts", "import", *SAMPLES)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "created 32, updated 0, unchanged 0, rejected 0"
    everyone = listed(cli)
    assert len(everyone) == 32
    assert {c["kind"] for c in everyone} == {"mep", "ministry", "permanent-representation"}
    assert all(c["email"].endswith("example.org") for c in everyone)
    first = everyone[0]
    assert list(first) == [
        "id",
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
        "status",
        "suppressed",
    ]
    droi = listed(cli, "--committee", "DROI")
    assert len(droi) == 5
    assert all("DROI" in c["committees"] for c in droi)
    de_fr_mep = listed(cli, "--where", "country=DE", "--where", "country=France", "--kind", "mep")
    assert sorted(c["email"] for c in de_fr_mep) == [
        "anneliese.vogt@example.org",
        "matthieu.laurent@example.org",
    ]
    assert len(listed(cli, "--search", "justice", "--country", "Germany")) == 1
    again = cli("contacts", "import", *SAMPLES)
    assert again.stdout.strip() == "created 0, updated 0, unchanged 32, rejected 0"


def test_bad_where_is_one_line_and_exit_2(cli) -> None:
    result = cli("contacts", "list", "--where", "colour=blue")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "unknown field 'colour'" in result.stderr
    assert "country" in result.stderr


def test_show_gives_profile_and_timeline(cli) -> None:
    cli("contacts", "import", *SAMPLES)
    cli("contacts", "tag", "priority", "giulia.ferraro@example.org")
    cli("contacts", "opt-out", "giulia.ferraro@example.org", "--reason", "asked us to stop")
    result = cli("contacts", "show", "giulia.ferraro@example.org", "--json")
    assert result.exit_code == 0, result.stderr
    profile = json.loads(result.stdout)
    assert profile["status"] == "opt-out"
    assert profile["suppressed"] is True
    assert profile["suppression_note"] == "asked us to stop"
    assert [e["kind"] for e in profile["timeline"]] == [
        "contacts.import",
        "contacts.tag",
        "contacts.opt-out",
    ]
    assert profile["timeline"][0]["summary"].startswith("created from ")
    text = cli("contacts", "show", "ep:990003")
    assert text.exit_code == 0
    assert "tagged priority" in text.stdout
    assert "opted out: asked us to stop" in text.stdout
    assert cli("contacts", "show", str(profile["id"])).exit_code == 0
    missing = cli("contacts", "show", "nobody@example.org")
    assert missing.exit_code == 1
    assert missing.stderr == "error: nobody@example.org: no such contact\n"


def test_bad_file_report_and_exit_codes(cli, workspace: Path) -> None:
    path = workspace / "bad.csv"
    path.write_bytes(
        b"email,name,country\n"
        b"ok@example.org,Ok,DE\n"
        b"bad@,Bad,DE\n"
        b"ok@example.org,Twice,DE\n"
        b"x@example.org,X,Atlantis\n"
        b",Nobody,DE\n"
        b"y@example.org,Y\n"
        b"z@example.org,Z\xe9,DE\n"
        b"w@example.org,W,FR\n"
    )
    strict = cli("contacts", "import", "--strict", "bad.csv")
    assert strict.exit_code == 1
    assert "nothing imported (--strict, 6 rejected)" in strict.stdout
    assert listed(cli) == []
    result = cli("contacts", "import", "bad.csv")
    assert result.exit_code == 1
    assert result.stdout.strip() == "created 2, updated 0, unchanged 0, rejected 6"
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"bad.csv:{n}" for n in (3, 4, 5, 6, 7, 8)
    ]
    assert [c["email"] for c in listed(cli)] == ["ok@example.org", "w@example.org"]
    unreadable = cli("contacts", "import", str(workspace / "nope.csv"))
    assert unreadable.exit_code == 1
    assert unreadable.stderr == "error: " + str(workspace / "nope.csv") + ": no such file\n"


def test_dry_run_and_json_report(cli) -> None:
    result = cli("contacts", "import", "--dry-run", "--json", *SAMPLES)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["created"] == 32
    assert report["written"] is False
    assert listed(cli) == []


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_export_import_export_is_identical(cli, workspace: Path, suffix: str) -> None:
    cli("contacts", "import", *SAMPLES)
    cli("contacts", "import", str(FIXTURES / "ep-full-list.xml"))  # EP contacts without address
    cli("contacts", "tag", "wave-1", "--where", "country=DE")
    cli("contacts", "opt-out", "aoife.byrne@example.org", "--reason", "by letter; 2 May")
    cli("contacts", "opt-out", "stranger@example.org")  # on the list without being a contact
    first = workspace / f"first.{suffix}"
    assert cli("contacts", "export", str(first)).exit_code == 0
    # a fresh database in another folder
    other = workspace / "fresh"
    other.mkdir()
    shutil.copy(workspace / "outreach.toml", other / "outreach.toml")
    config = str(other / "outreach.toml")
    assert cli("--config", config, "init").exit_code == 0
    imported = cli("--config", config, "contacts", "import", str(first))
    assert imported.exit_code == 0, imported.stderr
    second = workspace / f"second.{suffix}"
    assert cli("--config", config, "contacts", "export", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    again = cli("--config", config, "contacts", "list", "--json", "--where", "suppressed=yes")
    assert [c["email"] for c in json.loads(again.stdout)] == ["aoife.byrne@example.org"]
    text = first.read_text(encoding="utf-8")
    assert "stranger@example.org" in text
    assert "by letter; 2 May" in text


def test_export_needs_a_known_format(cli, workspace: Path) -> None:
    result = cli("contacts", "export", str(workspace / "out.txt"))
    assert result.exit_code == 1
    assert "add --format" in result.stderr
    assert cli("contacts", "export", "--format", "json", str(workspace / "o.txt")).exit_code == 0
    assert json.loads((workspace / "o.txt").read_text()) == []


def test_tag_and_untag(cli) -> None:
    cli("contacts", "import", *SAMPLES)
    tagged = cli("contacts", "tag", "hot", "--where", "committee=LIBE", "ep:990001")
    assert tagged.stdout.strip() == "tagged 7 contact(s)"
    assert len(listed(cli, "--tag", "hot")) == 7
    untagged = cli("contacts", "untag", "hot", "--where", "country=DE")
    assert untagged.stdout.strip() == "untagged 1 contact(s)"
    assert len(listed(cli, "--tag", "hot")) == 6
    assert cli("contacts", "tag", "hot").exit_code == 2


@pytest.mark.sqlite_only
def test_erase_leaves_no_trace_in_the_database_file(cli, workspace: Path) -> None:
    cli("contacts", "import", *SAMPLES)
    target = "katarzyna.nowicka@example.org"
    name = "Katarzyna Nowicka"
    cli("contacts", "tag", "to-erase", target)
    cli("contacts", "opt-out", target, "--reason", "please forget me")
    # a letter and a reply that mention the person
    db = sqlite3.connect(workspace / "outreach.db")
    contact_id = db.execute("SELECT id FROM contact WHERE email = ?", (target,)).fetchone()[0]
    db.execute(
        "INSERT INTO campaign (name, template, asks, audience, from_address, reply_to, state,"
        " pacing, pause_reason, created_at, updated_at) VALUES ('c', 't', '[]', '{}', '', '',"
        " 'draft', '{}', '', '2026-01-01', '2026-01-01')"
    )
    db.execute(
        "INSERT INTO delivery (campaign_id, contact_id, recipient, domain, language, subject,"
        " message, message_id, token, state, scheduled_at, attempts, smtp_text, created_at,"
        " updated_at) VALUES (1, ?, ?, 'example.org', 'pl', ?, ?, '<m1@example.org>', 't1',"
        " 'sent', '2026-01-01', 1, '', '2026-01-01', '2026-01-01')",
        (contact_id, target, f"Dear {name}", f"To: {name} <{target}>".encode()),
    )
    db.execute(
        "INSERT INTO reply (message_id, kind, contact_id, matched_by, from_address, subject,"
        " body, received_at, failed_address, dsn_status, return_date, opt_out_request,"
        " reviewed, source, created_at) VALUES ('<r1@example.org>', 'reply', ?, 'address', ?,"
        " 'Re: Interpol', ?, '2026-01-02', '', '', '', 0, 0, '', '2026-01-02')",
        (contact_id, target, f"Regards, {name}"),
    )
    db.commit()
    db.close()
    capture = workspace / "outbox" / "new"
    capture.mkdir(parents=True, exist_ok=True)
    (capture / "1.eml").write_text(f"To: {target}\n\nDear {name}\n")
    refused = cli("contacts", "erase", target, input="n\n")
    assert refused.exit_code == 1
    result = cli("contacts", "erase", target, "--yes")
    assert result.exit_code == 0, result.stderr
    assert str(capture / "1.eml") in result.stdout
    data = b"".join(p.read_bytes() for p in workspace.glob("outreach.db*") if p.is_file()).lower()
    for needle in (target, name, "katarzyna", "nowicka", "please forget me"):
        assert needle.lower().encode() not in data, needle
    db = sqlite3.connect(workspace / "outreach.db")
    assert db.execute("SELECT count(*) FROM delivery WHERE contact_id IS NULL").fetchone() == (1,)
    assert db.execute("SELECT email, reason FROM suppression").fetchall() == [(None, "erased")]
    db.close()
    again = cli("contacts", "import", SAMPLES[0])
    assert again.exit_code == 1
    assert "erased and is on the do-not-contact list" in again.stderr
    assert cli("contacts", "show", target).exit_code == 1


def test_large_import_without_a_terminal_prints_no_control_characters(cli, workspace: Path) -> None:
    rows = "".join(f"p{i}@example.org,Person {i},DE\n" for i in range(1500))
    (workspace / "many.csv").write_text("email,name,country\n" + rows)
    result = cli("contacts", "import", "many.csv")
    assert result.exit_code == 0
    assert result.stdout == "created 1500, updated 0, unchanged 0, rejected 0\n"
    assert "\x1b" not in result.stderr
    assert "\r" not in result.stderr
