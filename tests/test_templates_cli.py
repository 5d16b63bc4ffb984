"""`outreach templates list / preview / check / copy`."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from outreach.letters import ASKS
from tests.helpers_letters import SAMPLES, seed_workspace

MEP = SAMPLES[0]["email"]
MINISTRY = SAMPLES[2]["email"]
POLISH = SAMPLES[6]["email"]


def test_list_json_names_letters_languages_asks_fields(cli) -> None:
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"mep", "government", "follow-up"} <= set(rows)
    for row in rows.values():
        assert {"name", "languages", "asks", "fields"} <= set(row)
        assert "en" in row["languages"]
        assert {"honorific", "last_name", "kind"} <= set(row["fields"])
    assert rows["government"]["asks"] == ["caucus", "risk-assessment", "funding"]
    assert set(rows["mep"]["asks"]) == set(ASKS)
    plain = cli("templates", "list")
    assert plain.exit_code == 0
    assert "government" in plain.stdout


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_preview_eml_is_the_whole_message(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    result = cli("templates", "preview", "mep", "--to", MEP, "--format", "eml")
    assert result.exit_code == 0, result.stderr
    parsed = _parse(result.stdout_bytes)
    assert parsed["To"].addresses[0].addr_spec == MEP
    assert parsed["Date"] is not None
    assert parsed["Message-ID"].startswith("<outreach.c0.t1.")
    assert parsed["MIME-Version"] == "1.0"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    assert str(text.get_content()).startswith("Dear Ms Novak,")
    assert "Dear Ms Novak," in str(html.get_content())
    # the same Message-ID every time: it comes from the installation key
    again = _parse(cli("templates", "preview", "mep", "--to", MEP, "--format", "eml")
                   .stdout_bytes)
    assert again["Message-ID"] == parsed["Message-ID"]


def test_preview_text_and_html_for_a_ministry(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    text = cli("templates", "preview", "government", "--to", MINISTRY, "--lang", "en")
    assert text.exit_code == 0, text.stderr
    assert "Subject: " in text.stdout
    assert "Message-ID: <outreach." in text.stdout
    assert "Dear Minister," in text.stdout
    assert "European Union, Germany" in text.stdout
    html = cli("templates", "preview", "government", "--to", MINISTRY, "--format", "html",
               "--lang", "en")
    assert html.stdout.startswith("<!DOCTYPE html>")
    assert "<li>" in html.stdout


def test_preview_says_when_english_replaces_a_missing_language(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    result = cli("templates", "preview", "mep", "--to", POLISH)
    assert result.exit_code == 0
    assert "no 'pl' version" in result.stderr
    assert "Dear Mr Kowalski," in result.stdout


def test_preview_with_asks_and_follow_up(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    one = cli("templates", "preview", "mep", "--to", MEP, "--ask", "caucus")
    assert "caucus of democratic states" in one.stdout
    assert "compensation fund" not in one.stdout
    follow = cli("templates", "preview", "follow-up", "--to", MEP)
    assert follow.exit_code == 0, follow.stderr
    assert "Subject: Re: Protecting human rights" in follow.stdout


def test_preview_errors_are_one_line(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    unknown = cli("templates", "preview", "mep", "--to", "nobody@example.org")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: --to: no contact")
    assert cli("templates", "preview", "nope", "--to", MEP).exit_code == 1
    bad_ask = cli("templates", "preview", "mep", "--to", MEP, "--ask", "peace")
    assert bad_ask.exit_code == 1
    assert "unknown ask" in bad_ask.stderr
    assert cli("templates", "preview", "mep", "--to", MEP, "--format", "pdf").exit_code == 2


def test_check_passes_over_the_samples_for_every_ask(cli, workspace: Path) -> None:
    seed_workspace(workspace)
    result = cli("templates", "check")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 failed" in result.stderr
    for ask in ASKS:
        assert cli("templates", "check", "--ask", ask).exit_code == 0
    listed = json.loads(cli("templates", "check", "--json").stdout)
    fallbacks = {(row["letter"], row["contact"]) for row in listed}
    assert ("mep", POLISH) in fallbacks
    assert all(row["result"] == "fallback" for row in listed)


def test_check_reports_a_missing_field_with_template_and_line(cli, workspace: Path) -> None:
    no_org = {**SAMPLES[1], "organisation": "", "language": "en"}
    seed_workspace(workspace, [SAMPLES[0], no_org])
    assert cli("templates", "copy", "mep").exit_code == 0
    body = workspace / "templates" / "mep" / "en" / "body.md"
    source = body.read_text() + "\nP.S. {{ contact.organisation }}\n"
    body.write_text(source)
    line = source.count("\n")
    fine = cli("templates", "check", "mep", "--where", "country=SI")
    assert fine.exit_code == 0, fine.stdout + fine.stderr
    result = cli("templates", "check", "mep", "--json")
    assert result.exit_code == 1
    failed = [row for row in json.loads(result.stdout) if row["result"] == "failed"]
    assert [row["contact"] for row in failed] == [no_org["email"]]
    assert failed[0]["error"].startswith(f"mep/en/body.md:{line}: ")
    assert "organisation" in failed[0]["error"]
    plain = cli("templates", "check", "mep")
    assert plain.exit_code == 1
    assert f"FAIL mep {no_org['email']}: mep/en/body.md:{line}" in plain.stdout


def test_copy_puts_an_editable_letter_beside_the_config(cli, workspace: Path) -> None:
    result = cli("templates", "copy", "government")
    assert result.exit_code == 0, result.stderr
    copied = workspace / "templates" / "government" / "en" / "subject.txt"
    copied.write_text("A local subject\n")
    again = cli("templates", "copy", "government")
    assert again.exit_code == 1
    assert "--force" in again.stderr
    rows = {r["name"]: r for r in json.loads(cli("templates", "list", "--json").stdout)}
    assert rows["government"]["local"] is True
    assert rows["mep"]["local"] is False
    seed_workspace(workspace)
    shown = cli("templates", "preview", "government", "--to", MINISTRY, "--lang", "en")
    assert "Subject: A local subject" in shown.stdout
    assert cli("templates", "copy", "nope").exit_code == 1
    everything = cli("templates", "copy", "--force")
    assert everything.exit_code == 0
    assert (workspace / "templates" / "_partials" / "en" / "asks" / "caucus.md").is_file()


@pytest.mark.sqlite_only
def test_name_with_header_injection_and_template_syntax(cli, workspace: Path) -> None:
    evil = {**SAMPLES[0], "name": "Anna\r\nBcc: x@example.org", "last_name": "{{ 7*7 }}"}
    seed_workspace(workspace, [evil])
    result = cli("templates", "preview", "mep", "--to", MEP, "--format", "eml")
    assert result.exit_code == 0, result.stderr
    head = result.stdout_bytes.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head
    parsed = _parse(result.stdout_bytes)
    assert parsed["Bcc"] is None
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "Dear Ms {{ 7*7 }}," in str(body.get_content())
