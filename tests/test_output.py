"""Output that fits a terminal and a script: --json everywhere, no control characters off a
terminal, NO_COLOR, --quiet, local times, and the run log (outreach-runs.jsonl)."""

from __future__ import annotations

import email
import json
import mailbox
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from outreach.cli import LAZY, load_command
from tests.helpers_replies import person_reply, write_maildir

#: (address, first name, last name, country, language): the people the run log must not name
PEOPLE = [
    ("hanna.lindqvist@ep.example", "Hanna", "Lindqvist", "SE", "sv"),
    ("pieter.janssens@ep.example", "Pieter", "Janssens", "BE", "nl"),
    ("marta.kowalczyk@ep.example", "Marta", "Kowalczyk", "PL", "pl"),
    ("ioana.popescu@ep.example", "Ioana", "Popescu", "RO", "ro"),
    ("erase.me@ep.example", "Erasmus", "Forgotten", "IE", "en"),
]
#: control characters other than newline and tab (C0, DEL, C1)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: an SGR sequence: colour or another text style
SGR = re.compile(r"\x1b\[[0-9;]*m")
#: what makes rich treat a pipe as a terminal; cleared so the non-TTY tests are non-TTY
NO_FORCING = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": None,
              "OUTREACH_QUIET": None}


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return str(result.stdout)


def write_people(workspace: Path) -> Path:
    rows = ["email,first_name,last_name,name,kind,country,language"] + [
        f"{e},{f},{last},{f} {last},mep,{c},{lang}" for e, f, last, c, lang in PEOPLE]
    path = workspace / "people.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def replies_box(workspace: Path) -> Path:
    """A Maildir with one reply to each captured letter (Message-ID threading)."""
    box = mailbox.Maildir(workspace / "outbox", create=False)
    letters = [email.message_from_bytes(box.get_bytes(k)) for k in box.keys()]
    assert letters
    messages = [
        person_reply(sender=str(m["To"]), subject="Re: " + str(m["Subject"]),
                     body="Thank you, I support the caucus.", message_id=f"<r{n}@ep.example>",
                     in_reply_to=str(m["Message-ID"]))
        for n, m in enumerate(letters)
    ]
    return write_maildir(workspace / "Maildir", messages)


def populate(cli, workspace: Path, env: dict[str, str | None] | None = None) -> list:
    """The long steps, in order: import, plan, send --once (capture), replies import, report.

    Returns each CliRunner result."""
    steps = [
        ("contacts", "import", str(write_people(workspace))),
        ("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
         "--where", "kind=mep"),
        ("campaign", "plan", "meps", "--rate", "6000/min", "--per-domain", "36000/h"),
        ("campaign", "send", "meps", "--yes", "--once"),
    ]
    results = []
    for args in steps:
        results.append(cli(*args, env=env))
        ok(results[-1])
    results.append(cli("replies", "import", str(replies_box(workspace)), env=env))
    ok(results[-1])
    results.append(cli("report", env=env))
    ok(results[-1])
    return results


# --- --json on every command that has it --------------------------------------------------


def json_commands() -> set[str]:
    """'noun sub' (or 'noun') of every command with a --json option, from the command tree."""
    found: set[str] = set()
    for noun in LAZY:
        command = load_command(noun)
        subs = getattr(command, "commands", None) or {"": command}
        for name, sub in subs.items():
            if any("--json" in getattr(p, "opts", ()) for p in sub.params):
                found.add(f"{noun} {name}".strip())
    return found


#: the commands a script most needs: these must have --json (the audit of issue #9)
MUST_HAVE_JSON = {
    "contacts import", "contacts list", "contacts show", "contacts tag", "contacts untag",
    "contacts opt-out", "contacts export", "contacts erase", "contacts stance",
    "templates list", "templates check", "templates copy",
    "campaign create", "campaign plan", "campaign preview", "campaign send", "campaign status",
    "campaign list", "campaign pause", "campaign resume", "campaign cancel",
    "campaign follow-up", "replies import", "replies fetch", "replies list", "replies show",
    "replies assign", "replies set", "replies purge", "replies review", "report", "db status",
    "db upgrade", "demo", "worker", "doctor",
}
#: covered by other tests: fetch needs an IMAP server (tests/test_replies_imap.py)
NOT_RUN_HERE = {"replies fetch"}
#: doctor exits 1 when a check fails: the sample workspace keeps the placeholder sender
EXIT_CODES = {"doctor": {0, 1}}


def json_script(workspace: Path) -> list[tuple[Any, ...]]:
    """One invocation of each --json command, in an order where each makes sense."""
    people = str(write_people(workspace))
    return [
        ("db", "status"),
        ("db", "upgrade"),
        ("doctor",),
        ("contacts", "import", people),
        ("contacts", "list"),
        ("contacts", "show", PEOPLE[0][0]),
        ("contacts", "tag", "caucus-friends", PEOPLE[0][0]),
        ("contacts", "untag", "caucus-friends", PEOPLE[0][0]),
        ("contacts", "stance", PEOPLE[1][0], "--ask", "caucus=supports"),
        ("contacts", "opt-out", "nobody@elsewhere.example"),
        ("contacts", "export", "contacts.json"),
        ("contacts", "erase", PEOPLE[-1][0], "--yes"),
        ("templates", "list"),
        ("templates", "check", "mep", "--where", "kind=mep"),
        ("templates", "copy", "mep"),
        ("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
         "--where", "kind=mep"),
        ("campaign", "plan", "meps", "--rate", "6000/min", "--per-domain", "36000/h"),
        ("campaign", "preview", "meps", "--out", "pv"),
        ("campaign", "send", "meps", "--yes", "--once"),
        ("campaign", "status", "meps"),
        ("campaign", "list"),
        ("campaign", "follow-up", "meps", "--after", "0d", "--template", "mep"),
        ("campaign", "create", "later", "--template", "mep", "--ask", "caucus"),
        ("campaign", "plan", "later", "--start", "2030-01-15T09:00:00+00:00"),
        ("campaign", "pause", "later"),
        ("campaign", "resume", "later"),
        ("campaign", "cancel", "later"),
        ("replies", "import", lambda: str(replies_box(workspace))),  # after the send
        ("replies", "list"),
        ("replies", "show", "1"),
        ("replies", "review", "--no-interactive"),
        ("replies", "set", "1", "--stance", "caucus=supports"),
        ("replies", "assign", "2", "--contact", PEOPLE[1][0]),
        ("replies", "purge", "--older-than", "3650d"),
        ("report",),
        ("worker", "--until-idle", "--poll", "0.05"),
        ("demo", "--dir", str(workspace / "demo")),
    ]


def test_every_listing_and_result_has_json(cli, workspace: Path) -> None:
    have = json_commands()
    assert MUST_HAVE_JSON - have == set(), "commands without --json"
    script = json_script(workspace)
    ran: set[str] = set()
    for step in script:
        args = tuple(a() if callable(a) else a for a in step)
        result = cli(*args, "--json", env=NO_FORCING)
        assert result.exit_code in EXIT_CODES.get(args[0], {0}), (args, result.stdout,
                                                                  result.stderr)
        key = " ".join(a for a in args[:2] if not a.startswith("-") and "/" not in a)
        key = key if key in have else args[0]
        ran.add(key)
        try:
            json.loads(result.stdout)  # valid JSON, and nothing else on stdout
        except ValueError as exc:
            pytest.fail(f"outreach {' '.join(args)} --json: {exc}: {result.stdout[:300]!r}")
        assert not CONTROL.search(result.stdout)
    missing = have - ran - NOT_RUN_HERE
    # a command given --json later must be added to the script above
    assert missing <= {"init"}, f"add to json_script: {sorted(missing)}"


def test_json_keeps_utc_iso_times_and_tables_show_the_campaigners_zone(
        cli, workspace: Path) -> None:
    config = workspace / "outreach.toml"
    text = config.read_text(encoding="utf-8")
    assert 'timezone = ""' in text
    config.write_text(text.replace('timezone = ""', 'timezone = "Europe/Brussels"'),
                      encoding="utf-8")
    ok(cli("contacts", "import", str(write_people(workspace))))
    ok(cli("campaign", "create", "later", "--template", "mep", "--ask", "caucus"))
    planned = cli("campaign", "plan", "later", "--start", "2030-01-15T09:00:00+00:00")
    assert "from 2030-01-15 10:00 CET" in ok(planned)
    data = json.loads(ok(cli("campaign", "status", "later", "--json")))
    assert data["next_due"].startswith("2030-01-15T09:00:00")
    assert data["next_due"].endswith("+00:00")
    assert "next letter due: 2030-01-15 10:00 CET" in ok(cli("campaign", "status", "later"))
    assert "2030-01-15 10:00 CET" in ok(cli("campaign", "list"))
    # a summer date is shown in summer time
    ok(cli("campaign", "create", "summer", "--template", "mep", "--ask", "caucus"))
    assert "2030-07-01 11:00 CEST" in ok(
        cli("campaign", "plan", "summer", "--start", "2030-07-01T09:00:00+00:00"))
    timeline = ok(cli("contacts", "show", PEOPLE[0][0]))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CET", timeline), timeline
    # the HTML report names the zone too (its creation time, now: CET in winter, else CEST)
    page = ok(cli("report", "later", "--format", "html"))
    generated = re.search(r"Generated (\d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST))\.", page)
    assert generated, page[:2000]
    assert "UTC" not in generated.group(0)


def test_an_unknown_time_zone_is_one_line(cli, workspace: Path) -> None:
    config = workspace / "outreach.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'timezone = ""', 'timezone = "Europe/Atlantis"'), encoding="utf-8")
    ok(cli("campaign", "create", "x", "--template", "mep", "--ask", "caucus"))
    result = cli("campaign", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: [general] timezone: unknown time zone")
    assert result.stderr.count("\n") == 1


# --- no control characters off a terminal; NO_COLOR; --quiet ----------------------------


def test_long_commands_off_a_terminal_write_no_control_characters(cli, workspace: Path
                                                                  ) -> None:
    for result in populate(cli, workspace, env=NO_FORCING):
        for text in (result.stdout, result.stderr):
            found = CONTROL.search(text)
            assert found is None, (result.stdout, result.stderr)


@pytest.mark.sqlite_only
def test_a_forced_terminal_gets_colour_and_bars_but_no_colour_with_no_color(
        cli, workspace: Path) -> None:
    people = str(write_people(workspace))
    terminal = {**NO_FORCING, "TTY_COMPATIBLE": "1"}
    # the control: on a terminal the progress bar is drawn with styles
    coloured = cli("contacts", "import", people, env=terminal)
    ok(coloured)
    assert SGR.search(coloured.stderr), repr(coloured.stderr[:300])
    plain = {**terminal, "NO_COLOR": "1"}
    ok(cli("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
           "--where", "kind=mep", env=plain))
    results = [
        cli("contacts", "import", people, env=plain),
        cli("campaign", "plan", "meps", "--rate", "6000/min", "--per-domain", "36000/h",
            env=plain),
        cli("campaign", "send", "meps", "--yes", "--once", env=plain),
        cli("campaign", "status", "meps", env=plain),
        cli("campaign", "list", env=plain),
        cli("contacts", "list", env=plain),
        cli("report", env=plain),
    ]
    for result in results:
        ok(result)
        assert not SGR.search(result.stdout + result.stderr), repr(result.stderr[:300])
    # the empty string is not a NO_COLOR (no-color.org)
    again = cli("contacts", "import", people, env={**terminal, "NO_COLOR": ""})
    assert SGR.search(again.stderr)


def test_quiet_prints_only_the_result_and_errors(cli, workspace: Path) -> None:
    people = str(write_people(workspace))
    loud = cli("campaign", "create", "a", "--template", "mep", "--ask", "caucus", env=NO_FORCING)
    assert "next:" in loud.stderr
    quiet = cli("-q", "campaign", "create", "b", "--template", "mep", "--ask", "caucus",
                env=NO_FORCING)
    ok(quiet)
    assert quiet.stderr == ""
    imported = cli("--quiet", "contacts", "import", people, env=NO_FORCING)
    assert ok(imported).startswith("created 5")
    assert imported.stderr == ""
    ok(cli("-q", "campaign", "plan", "a", "--rate", "6000/min", "--per-domain", "36000/h",
           env=NO_FORCING))
    sent = cli("-q", "campaign", "send", "a", "--yes", "--once", env=NO_FORCING)
    assert ok(sent).startswith("a: 5 sent")
    assert sent.stderr == ""  # no "captured letters: …" note
    by_env = cli("campaign", "create", "c", "--template", "mep", "--ask", "caucus",
                 env={**NO_FORCING, "OUTREACH_QUIET": "1"})
    ok(by_env)
    assert by_env.stderr == ""
    failed = cli("-q", "campaign", "status", "nope", env=NO_FORCING)
    assert failed.exit_code == 1
    assert failed.stderr.startswith("error: ")


# --- the run log -----------------------------------------------------------------------


def log_lines(workspace: Path) -> list[dict]:
    path = workspace / "outreach-runs.jsonl"
    assert path.exists()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_each_send_and_fetch_appends_one_line_without_personal_data(cli, workspace: Path
                                                                    ) -> None:
    populate(cli, workspace, env=NO_FORCING)
    ok(cli("campaign", "send", "meps", "--yes", "--once"))  # nothing left: still a run
    # a run that fails inside (--force past the preflight: a cancelled campaign)
    ok(cli("campaign", "create", "gone", "--template", "mep", "--ask", "caucus"))
    ok(cli("campaign", "plan", "gone", "--start", "2030-01-15T09:00:00+00:00"))
    ok(cli("campaign", "cancel", "gone"))
    failed = cli("campaign", "send", "gone", "--yes", "--force")
    assert failed.exit_code == 1
    refused = cli("campaign", "send", "gone", "--yes")  # the preflight refuses: logged too
    assert refused.exit_code == 1
    fetch = cli("replies", "fetch")  # no mailbox configured: an error, logged
    assert fetch.exit_code == 1
    lines = log_lines(workspace)
    assert [(x["command"], x["campaign"], x["outcome"]) for x in lines] == [
        ("campaign send", "meps", "ok"), ("campaign send", "meps", "ok"),
        ("campaign send", "gone", "error"), ("campaign send", "gone", "refused"),
        ("replies fetch", None, "error")]
    assert any("cancelled" in e["message"] for e in lines[3]["errors"])
    first = lines[0]
    assert first["counts"] == {"sent": 5, "deferred": 0, "failed": 0, "unknown": 0,
                               "skipped": 0}
    assert lines[1]["counts"]["sent"] == 0
    assert set(first) == {"started", "finished", "command", "campaign", "outcome", "counts",
                          "errors", "duration_seconds", "version", "host", "campaigner"}
    assert first["started"].endswith("+00:00")
    assert first["finished"] >= first["started"]
    assert first["duration_seconds"] >= 0
    assert first["errors"] == []
    assert lines[2]["errors"][0]["place"] == "campaign"
    assert "cancelled" in lines[2]["errors"][0]["message"]
    assert lines[4]["errors"][0]["place"] == "[imap] url"
    text = (workspace / "outreach-runs.jsonl").read_text(encoding="utf-8").lower()
    for address, first_name, last_name, _, _ in PEOPLE:
        for private in (address, first_name.lower(), last_name.lower()):
            assert private.lower() not in text, private
    assert "@" not in text


def test_the_log_removes_addresses_from_error_messages() -> None:
    from outreach.runlog import Run

    run = Run(command="campaign send")
    run.error("550 5.1.1 <hanna.lindqvist@ep.example>: Recipient address rejected",
              "relay.example.org:587")
    assert run.errors == [{"message": "550 5.1.1 <<address>>: Recipient address rejected",
                           "place": "relay.example.org:587"}]


def test_a_terminated_send_is_logged_as_interrupted(cli, workspace: Path) -> None:
    ok(cli("contacts", "import", str(write_people(workspace))))
    ok(cli("campaign", "create", "slow", "--template", "mep", "--ask", "caucus"))
    ok(cli("campaign", "plan", "slow", "--rate", "1/min"))  # one letter, then a long wait
    env = {k: v for k, v in os.environ.items() if k not in NO_FORCING}
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach", "campaign", "send", "slow", "--yes"],
        cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        outbox = workspace / "outbox" / "new"
        while not (outbox.exists() and any(outbox.iterdir())):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no letter sent in 60 s"
            time.sleep(0.1)
        time.sleep(0.5)  # the sender now waits for its next slot
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    (line,) = log_lines(workspace)
    assert line["outcome"] == "interrupted", (out, err)
    assert line["counts"]["sent"] == 1
    assert CONTROL.search(err.decode()) is None


def test_plain_progress_lines_off_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from outreach.cli import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    bar = progress.Bar("sending", total=10, unit="letters", mode="plain")
    bar(3)
    bar.note("next slot 2026-11-28 18:05 CET")
    err = capsys.readouterr().err
    assert err.startswith("sending: 3/10 letters (")
    assert "; next slot 2026-11-28 18:05 CET\n" in err
    assert CONTROL.search(err) is None
    quiet = progress.Bar("sending", total=10, unit="letters", mode="off")
    quiet(5)
    quiet.note("next slot")
    assert capsys.readouterr().err == ""


def test_fetch_over_imap_is_logged_without_personal_data(cli, workspace: Path,
                                                         mailstack) -> None:
    import asyncio
    from urllib.parse import urlsplit

    from tests.helpers_mailstack import imap_close, imap_login, token

    ok(cli("contacts", "import", str(write_people(workspace))))
    folder = f"Runlog-{token()}"
    messages = [person_reply(sender=f"{first} {last} <{address}>", subject=f"Interpol {n}",
                             body=f"Dear coalition, {first} here.",
                             message_id=f"<runlog.{n}.{folder}@ep.example>")
                for n, (address, first, last, _, _) in enumerate(PEOPLE[:2])]

    async def mailbox(create: bool) -> None:
        client = await imap_login(mailstack)
        try:
            if create:
                assert (await client.create(folder)).result == "OK"
                for raw in messages:
                    assert (await client.append(raw, mailbox=folder)).result == "OK"
            else:
                await client.delete(folder)
        finally:
            await imap_close(client)

    url = urlsplit(mailstack.imap_url)._replace(path="/" + folder).geturl()
    env = {**NO_FORCING, "OUTREACH_IMAP_URL": url,
           "OUTREACH_IMAP_PASSWORD": mailstack.password,
           "SSL_CERT_FILE": str(mailstack.tls_cert)}
    asyncio.run(mailbox(True))
    try:
        fetched = cli("replies", "fetch", env=env)
        ok(fetched)
        assert CONTROL.search(fetched.stdout + fetched.stderr) is None
        wrong = cli("replies", "fetch", env={**env, "OUTREACH_IMAP_PASSWORD": "nope"})
        assert wrong.exit_code == 1
    finally:
        asyncio.run(mailbox(False))
    good, bad = log_lines(workspace)
    assert (good["command"], good["outcome"], bad["outcome"]) == ("replies fetch", "ok",
                                                                  "error")
    counts = good["counts"]
    assert (counts["fetched"], counts["stored"], counts["duplicates"]) == (2, 2, 0)
    assert counts["matched"] + counts["review"] == 2
    assert bad["errors"][0]["place"].endswith(":" + url.rsplit(":", 1)[1].split("/")[0])
    text = (workspace / "outreach-runs.jsonl").read_text(encoding="utf-8").lower()
    for address, first_name, last_name, _, _ in PEOPLE[:2]:
        for private in (address, first_name.lower(), last_name.lower()):
            assert private not in text, private
