"""`outreach campaign …` and `outreach demo` end to end (CliRunner, capture transport)."""

from __future__ import annotations

import asyncio
import csv
import email
import json
import mailbox
from pathlib import Path

from outreach.config import load_settings
from outreach.db import open_db
from outreach.resources import shipped_contacts


def seed(workspace: Path) -> int:
    """Import the shipped sample targets into the workspace's database."""
    from outreach.contacts.store import import_files

    async def body() -> int:
        settings = load_settings(workspace / "outreach.toml")
        async with open_db(settings.database_url):
            report = await import_files(sorted(shipped_contacts().glob("sample-*.csv")),
                                        settings=settings)
            return report.created

    return asyncio.run(body())


def status(cli, name: str) -> dict:
    result = cli("campaign", "status", name, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_create_refuses_unknown_field(cli, workspace: Path) -> None:
    result = cli("campaign", "create", "x", "--template", "mep", "--ask", "caucus",
                 "--where", "colour=blue")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --where: unknown field 'colour'")
    assert result.stderr.count("\n") == 1
    assert json.loads(cli("campaign", "list", "--json").stdout) == []


def test_plan_preview_send_status(cli, workspace: Path) -> None:
    meps = seed(workspace) and 12
    result = cli("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
                 "--ask", "funding", "--where", "kind=mep")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(cli("campaign", "list", "--json").stdout)
    assert [(c["campaign"], c["state"]) for c in listed] == [("meps", "draft")]
    result = cli("campaign", "send", "meps", "--yes")
    assert result.exit_code == 1
    assert "not planned yet" in result.stderr
    result = cli("campaign", "plan", "meps", "--rate", "600/min", "--per-domain", "36000/h",
                 "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == meps
    again = json.loads(cli("campaign", "plan", "meps", "--json").stdout)
    assert again["added"] == 0
    assert again["existing"] == meps
    data = status(cli, "meps")
    assert data["campaign"] == "meps"
    assert data["total"] == meps
    assert data["counts"] == {"planned": meps, "sending": 0, "sent": 0, "deferred": 0,
                              "failed": 0, "unknown": 0, "skipped": 0}
    assert data["pacing"]["rate_per_minute"] == 600
    # preview: one .eml per letter and the schedule
    result = cli("campaign", "preview", "meps", "--out", "pv")
    assert result.exit_code == 0, result.stderr
    emls = sorted((workspace / "pv").glob("*.eml"))
    assert len(emls) == meps
    parsed = email.message_from_bytes(emls[0].read_bytes())
    assert parsed["Date"]
    assert parsed["Message-ID"].startswith("<outreach.c")
    with (workspace / "pv" / "schedule.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == meps
    # send without --yes asks first; "n" sends nothing
    result = cli("campaign", "send", "meps", input="n\n")
    assert result.exit_code == 1
    assert "nothing sent" in result.stderr
    assert status(cli, "meps")["counts"]["sent"] == 0
    result = cli("campaign", "send", "meps", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert f"{meps} sent" in result.stdout
    data = status(cli, "meps")
    assert data["counts"]["sent"] == meps
    assert data["state"] == "done"
    box = mailbox.Maildir(workspace / "outbox", create=False)
    ids = {email.message_from_bytes(box.get_bytes(k))["Message-ID"] for k in box.keys()}
    assert len(ids) == meps
    # sending again sends nothing more
    result = cli("campaign", "send", "meps", "--yes")
    assert result.exit_code == 0
    assert len(mailbox.Maildir(workspace / "outbox", create=False).keys()) == meps


def test_pause_resume_cancel(cli, workspace: Path) -> None:
    seed(workspace)
    assert cli("campaign", "create", "gov", "--template", "government", "--ask", "caucus",
               "--where", "kind=ministry").exit_code == 0
    assert cli("campaign", "pause", "gov").exit_code == 1  # a draft cannot pause
    assert cli("campaign", "plan", "gov", "--start", "2030-01-01T09:00:00+00:00").exit_code == 0
    assert cli("campaign", "pause", "gov").exit_code == 0
    assert status(cli, "gov")["state"] == "paused"
    result = cli("campaign", "send", "gov", "--yes")
    assert result.exit_code == 1
    assert "campaign resume gov" in result.stderr
    assert cli("campaign", "resume", "gov").exit_code == 0
    result = cli("campaign", "send", "gov", "--yes", "--once")  # all due in 2030
    assert result.exit_code == 0, result.stderr
    data = status(cli, "gov")
    assert data["counts"]["planned"] == data["total"] > 0
    assert cli("campaign", "cancel", "gov").exit_code == 0
    data = status(cli, "gov")
    assert data["state"] == "cancelled"
    assert data["counts"]["skipped"] == data["total"]
    assert cli("campaign", "cancel", "gov").exit_code == 1


def test_proof_goes_to_the_campaigner_not_the_ledger(cli, workspace: Path) -> None:
    seed(workspace)
    cli("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
        "--where", "kind=mep")
    result = cli("campaign", "send", "meps", "--proof", "me@coalition.example",
                 "--as", "anneliese.vogt@example.org")
    assert result.exit_code == 0, result.stderr
    box = mailbox.Maildir(workspace / "outbox", create=False)
    (key,) = box.keys()
    message = email.message_from_bytes(box.get_bytes(key))
    assert message["Delivered-To"] == "me@coalition.example"
    assert message["X-Outreach-Proof"] == "yes"
    assert message["To"] == "me@coalition.example"
    assert "[PROOF]" in message["Subject"]
    assert status(cli, "meps")["total"] == 0


def test_bad_pacing_is_one_line(cli, workspace: Path) -> None:
    cli("campaign", "create", "c", "--template", "mep", "--ask", "caucus")
    result = cli("campaign", "plan", "c", "--window", "17:00-09:00")
    assert result.exit_code == 1
    assert result.stderr == "error: --window: the window must end after it starts: " \
                            "'17:00-09:00'\n"
    result = cli("campaign", "plan", "c", "--rate", "fast")
    assert result.exit_code == 1
    assert "--rate: not a rate" in result.stderr


def test_demo_runs_in_a_fresh_folder(cli, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = cli("demo", "--dir", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "demo-meps" in result.stdout
    assert "done" in result.stdout
    emls = list((folder / "letters").glob("*.eml"))
    assert len(emls) >= 20
    assert str(folder / "letters") in result.stdout
    for path in emls:
        message = email.message_from_bytes(path.read_bytes())
        assert message["Date"]
        assert message["Message-ID"]
        assert message["Subject"]


def test_resend_unknown_is_the_campaigners_decision(cli, workspace: Path) -> None:
    from outreach.models import Delivery

    seed(workspace)
    cli("campaign", "create", "gov", "--template", "government", "--ask", "caucus",
        "--where", "kind=ministry")
    cli("campaign", "plan", "gov", "--rate", "none", "--per-domain", "none")
    assert cli("campaign", "send", "gov", "--yes").exit_code == 0
    total = status(cli, "gov")["total"]

    async def forget() -> None:
        settings = load_settings(workspace / "outreach.toml")
        async with open_db(settings.database_url):
            ids = await Delivery.all().order_by("id").limit(2).values_list("id", flat=True)
            await Delivery.filter(id__in=list(ids)).update(state="unknown")

    asyncio.run(forget())
    result = cli("campaign", "send", "gov", "--yes")
    assert result.exit_code == 0
    assert status(cli, "gov")["counts"]["unknown"] == 2  # never resent by itself
    result = cli("campaign", "send", "gov", "--yes", "--resend-unknown")
    assert result.exit_code == 0, result.stderr
    assert "2 letters of unknown fate planned again" in result.stderr
    data = status(cli, "gov")
    assert data["counts"]["sent"] == total
    assert len(mailbox.Maildir(workspace / "outbox", create=False).keys()) == total + 2


def test_plan_pacing_options_are_saved(cli, workspace: Path) -> None:
    seed(workspace)
    cli("campaign", "create", "meps", "--template", "mep", "--ask", "caucus",
        "--where", "kind=mep")
    result = cli("campaign", "plan", "meps", "--per-domain", "30/h", "--window", "09:00-17:00",
                 "--weekdays", "--start", "2030-01-07T06:00:00+00:00")
    assert result.exit_code == 0, result.stderr
    pacing = status(cli, "meps")["pacing"]
    assert pacing == {"rate_per_minute": 30.0, "per_domain_per_hour": 30.0,
                      "window": "09:00-17:00", "weekdays": True}
    assert "09:00-17:00 local time on weekdays" in result.stdout
