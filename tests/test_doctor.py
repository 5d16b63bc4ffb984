"""`outreach doctor` and the preflight of `campaign send`: each misconfiguration of the
catalogue is reported with its fix, against the real Postfix + Dovecot (mailstack)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Mailstack

from outreach.cli.doctor import symbols
from outreach.config import load_settings
from outreach.doctor import Status
from outreach.models import Campaign, Delivery
from tests.helpers_doctor import (
    SENDER,
    checks_named,
    dkim_key,
    doctor,
    in_database,
    planned_campaign,
)
from tests.helpers_errors import dump_database, free_port

PASSWORD_ENV = "OUTREACH_SMTP_PASSWORD"


def relay_env(stack: Mailstack, **extra: str) -> dict[str, str]:
    """The submission port (STARTTLS, AUTH), trusted through SSL_CERT_FILE, right password."""
    return {"OUTREACH_SMTP_URL": stack.submission_url, PASSWORD_ENV: stack.password,
            "SSL_CERT_FILE": str(stack.tls_cert), "OUTREACH_SENDER_ADDRESS": SENDER, **extra}


# --- the catalogue -------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_clean_configuration_is_all_ticks(cli: Any, workspace: Path, mailstack: Mailstack
                                          ) -> None:
    key = dkim_key(workspace)
    env = relay_env(mailstack, OUTREACH_IMAP_URL=mailstack.imaps_url,
                    OUTREACH_IMAP_PASSWORD=mailstack.password,
                    OUTREACH_DKIM_KEY_FILE=str(key), OUTREACH_DKIM_SELECTOR="s1",
                    OUTREACH_DKIM_DOMAIN="example.com")
    code, checks = doctor(cli, env=env)
    assert code == 0, checks
    assert {c["status"] for c in checks.values()} == {"ok"}, checks
    assert "AUTH accepted" in checks["relay"]["message"]
    assert "TLS valid" in checks["relay"]["message"]
    assert "'INBOX' present" in checks["mailbox"]["message"]
    text = cli("doctor", env=env)
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 6, lines
    assert all(line.startswith("✓ ") for line in lines), lines


@pytest.mark.sqlite_only
def test_wrong_relay_port(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    port = free_port()
    code, checks = doctor(cli, env=relay_env(
        mailstack, OUTREACH_SMTP_URL=f"smtp://127.0.0.1:{port}"))
    relay = checks["relay"]
    assert code == 1
    assert relay["status"] == "fail"
    assert relay["place"] == f"127.0.0.1:{port}"
    assert relay["message"].startswith("cannot connect")
    assert "host and port in [smtp] url" in relay["fix"]


@pytest.mark.sqlite_only
def test_bad_tls_untrusted_certificate(cli: Any, workspace: Path, mailstack: Mailstack
                                       ) -> None:
    env = relay_env(mailstack)
    env["SSL_CERT_FILE"] = str(Path(__file__).parent / "fixtures" / "sending" / "tls-cert.pem")
    code, checks = doctor(cli, env=env)
    relay = checks["relay"]
    assert code == 1, relay
    assert relay["status"] == "fail", relay
    assert "certificate is not valid" in relay["message"]
    assert relay["place"] == "127.0.0.1:1587"
    assert "certificate" in relay["fix"]


@pytest.mark.sqlite_only
def test_bad_tls_implicit_tls_on_a_plain_port(cli: Any, workspace: Path,
                                              mailstack: Mailstack) -> None:
    host, port = mailstack.host_port(mailstack.smtp_url)
    code, checks = doctor(cli, env=relay_env(
        mailstack, OUTREACH_SMTP_URL=f"smtps://{mailstack.user}@{host}:{port}"))
    relay = checks["relay"]
    assert code == 1, relay
    assert relay["status"] == "fail", relay
    assert "does not speak TLS from the start" in relay["message"]
    assert relay["place"] == f"{host}:{port}"
    assert "smtp+starttls://" in relay["fix"]


@pytest.mark.sqlite_only
def test_bad_password(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    code, checks = doctor(cli, env=relay_env(mailstack, **{PASSWORD_ENV: "not-the-password"}))
    relay = checks["relay"]
    assert code == 1, relay
    assert relay["status"] == "fail", relay
    assert relay["message"].startswith("authentication failed: 535")
    assert "OUTREACH_SMTP_PASSWORD" in relay["fix"]
    assert "not-the-password" not in str(checks)


@pytest.mark.sqlite_only
def test_missing_password_is_named(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    env = relay_env(mailstack)
    del env[PASSWORD_ENV]
    code, checks = doctor(cli, env=env)
    assert code == 1
    assert checks["relay"]["fix"] == "set OUTREACH_SMTP_PASSWORD in the environment"


@pytest.mark.sqlite_only
def test_missing_imap_folder(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    url = mailstack.imaps_url.rsplit("/", 1)[0] + "/NoSuchFolder"
    code, checks = doctor(cli, env=relay_env(mailstack, OUTREACH_IMAP_URL=url,
                                             OUTREACH_IMAP_PASSWORD=mailstack.password))
    box = checks["mailbox"]
    assert code == 1, box
    assert box["status"] == "fail", box
    assert box["message"].startswith("folder 'NoSuchFolder' not found")
    assert box["place"] == "127.0.0.1:1993"
    assert "create the folder" in box["fix"]


@pytest.mark.sqlite_only
def test_imap_login_refused(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    code, checks = doctor(cli, env=relay_env(mailstack, OUTREACH_IMAP_URL=mailstack.imaps_url,
                                             OUTREACH_IMAP_PASSWORD="wrong"))
    assert code == 1
    assert checks["mailbox"]["message"].startswith("login refused")
    assert "OUTREACH_IMAP_PASSWORD" in checks["mailbox"]["fix"]


@pytest.mark.sqlite_only
def test_mismatched_dkim_domain(cli: Any, workspace: Path, mailstack: Mailstack) -> None:
    key = dkim_key(workspace)
    code, checks = doctor(cli, env=relay_env(
        mailstack, OUTREACH_DKIM_KEY_FILE=str(key), OUTREACH_DKIM_SELECTOR="s1",
        OUTREACH_DKIM_DOMAIN="other-coalition.example"))
    dkim = checks["dkim"]
    assert code == 1, dkim
    assert dkim["status"] == "fail", dkim
    assert dkim["place"] == "[dkim] domain"
    assert "'other-coalition.example'" in dkim["message"]
    assert "'example.com'" in dkim["message"]
    assert "[dkim] domain = 'example.com'" in dkim["fix"]


@pytest.mark.sqlite_only
def test_unreadable_dkim_key_names_the_file(cli: Any, workspace: Path) -> None:
    code, checks = doctor(cli, env={"OUTREACH_DKIM_KEY_FILE": "keys/absent.pem",
                                    "OUTREACH_DKIM_SELECTOR": "s1"})
    assert code == 1
    assert checks["dkim"]["place"].endswith("keys/absent.pem")


@pytest.mark.sqlite_only
def test_placeholder_sender(cli: Any, workspace: Path) -> None:
    code, checks = doctor(cli)  # the workspace's config: capture relay, placeholder sender
    assert code == 1
    assert checks["relay"]["status"] == "ok"
    assert checks["relay"]["message"].startswith("capture: nothing leaves this machine")
    sender = checks["sender"]
    assert sender["status"] == "fail"
    assert sender["place"] == "[sender] address"
    assert "example.org placeholder" in sender["message"]
    assert str(workspace / "outreach.toml") in sender["fix"]
    invalid = doctor(cli, env={"OUTREACH_SENDER_ADDRESS": "campaign@@coalition"})[1]
    assert "not a valid address" in invalid["sender"]["message"]


@pytest.mark.sqlite_only
def test_broken_config_names_file_and_line(cli: Any, workspace: Path) -> None:
    path = workspace / "outreach.toml"
    lines = path.read_text().splitlines()
    lines.insert(3, "[smtp")
    path.write_text("\n".join(lines) + "\n")
    code, checks = doctor(cli)
    assert code == 1
    assert checks["configuration"]["place"] == f"{path.name}:4" or \
        checks["configuration"]["place"].endswith("outreach.toml:4"), checks
    text = cli("doctor")
    assert text.stdout.startswith("✗ configuration: ")
    assert "\n    fix: correct " in text.stdout


def test_database_missing_and_schema_behind(cli: Any, workspace: Path, backend: str) -> None:
    code, checks = doctor(cli)
    assert checks["database"]["status"] == "ok"
    if backend == "sqlite":
        (workspace / "outreach.db").unlink()
        code, checks = doctor(cli)
        assert checks["database"]["status"] == "fail"
        assert "outreach init" in checks["database"]["fix"]
        assert not (workspace / "outreach.db").exists()  # the doctor created nothing
    else:
        async def behind() -> None:
            from tortoise import connections
            await connections.get("default").execute_query(
                "DELETE FROM tortoise_migrations WHERE name LIKE '0003%'")

        in_database(workspace, behind)
        code, checks = doctor(cli)
        assert checks["database"]["status"] == "fail"
        assert checks["database"]["fix"] == "run `outreach db upgrade`"
    assert code == 1


def test_ascii_fallback_when_the_terminal_cannot_print_ticks() -> None:
    assert symbols("utf-8")[Status.OK] == "✓"
    plain = symbols("ascii")
    assert plain[Status.OK].strip() == "ok"
    assert plain[Status.FAIL].strip() == "FAIL"
    assert all(mark.isascii() for mark in plain.values())
    assert symbols("latin-1")[Status.FAIL].strip() == "FAIL"


# --- a campaign ----------------------------------------------------------------------------


def test_campaign_checks_pass_then_missing_letter_body_fails(cli: Any, workspace: Path
                                                              ) -> None:
    planned_campaign(cli, workspace)
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    assert [r["status"] for r in rows[:3]] == ["ok", "ok", "ok"], rows
    assert "schedule fits" in rows[2]["message"]
    assert "sending takes about" in rows[2]["message"]

    async def drop_body() -> None:
        first = await Delivery.filter(recipient="paul.roux@example.org").first()
        assert first is not None
        await Delivery.filter(id=first.id).update(message=None)

    in_database(workspace, drop_body)
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    failed = [r for r in rows if r["status"] == "fail"]
    assert len(failed) == 1
    assert "1 stored letters are incomplete" in failed[0]["message"]
    assert "paul.roux@example.org has no message" in failed[0]["message"]
    assert failed[0]["fix"] == "render them again: `outreach campaign plan c1 --rerender`"


def test_unknown_and_draft_campaigns(cli: Any, workspace: Path) -> None:
    code, checks = doctor(cli, "--campaign", "nosuch")
    assert code == 1
    assert checks["campaign"]["message"] == "no campaign named 'nosuch' (none yet)"
    planned_campaign(cli, workspace)
    assert cli("campaign", "create", "c2", "-t", "mep", "-a", "caucus").exit_code == 0
    rows = checks_named(cli, "campaign c2", "--campaign", "c2")
    assert rows[0]["status"] == "fail"
    assert "`outreach campaign plan c2`" in rows[0]["fix"]


def test_schedule_outside_window_fails(cli: Any, workspace: Path) -> None:
    planned_campaign(cli, workspace, "--window", "09:00-17:00")
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    assert all(r["status"] != "fail" for r in rows), rows

    async def at_night() -> None:  # 03:00 in Stockholm, Paris and Prague
        night = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0) + \
            timedelta(days=2)
        await Delivery.all().update(scheduled_at=night)

    in_database(workspace, at_night)
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    failed = [r for r in rows if r["status"] == "fail"]
    assert len(failed) == 1, rows
    assert "3 letters are scheduled outside the window 09:00-17:00" in failed[0]["message"]


def test_schedule_absurdly_long_fails_and_says_how_long(cli: Any, workspace: Path) -> None:
    planned_campaign(cli, workspace)

    async def far() -> None:
        later = datetime.now(UTC) + timedelta(days=200)
        await Delivery.filter(recipient="jan.novak@example.org").update(scheduled_at=later)

    in_database(workspace, far)
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    failed = [r for r in rows if r["status"] == "fail"]
    assert len(failed) == 1, rows
    assert "the schedule is too long" in failed[0]["message"], rows
    assert "sending takes about 200 days" in failed[0]["message"]


def test_suppressed_targets_and_language_fallbacks_are_warnings(cli: Any, workspace: Path
                                                               ) -> None:
    planned_campaign(cli, workspace)
    assert cli("contacts", "opt-out", "paul.roux@example.org").exit_code == 0
    rows = checks_named(cli, "campaign c1", "--campaign", "c1")
    warnings = [r for r in rows if r["status"] == "warn"]
    assert not [r for r in rows if r["status"] == "fail"], rows
    texts = " | ".join(r["message"] for r in warnings)
    assert "1 letters to send go to suppressed addresses (e.g. paul.roux@example.org)" in texts
    assert "1 letters are in English for want of their language (sv: 1)" in texts
    # the preflight shows warnings and goes ahead
    sent = cli("campaign", "send", "c1", "--yes", "--once")
    assert sent.exit_code == 0, sent.stderr
    assert "warning: campaign c1: 1 letters to send go to suppressed" in sent.stderr


# --- campaign send's preflight -------------------------------------------------------------


def test_send_refuses_on_a_failed_check_and_force_goes_ahead(cli: Any, workspace: Path
                                                             ) -> None:
    planned_campaign(cli, workspace)

    async def far() -> None:
        later = datetime.now(UTC) + timedelta(days=200)
        await Delivery.filter(recipient="jan.novak@example.org").update(scheduled_at=later)

    in_database(workspace, far)
    url = load_settings(workspace / "outreach.toml").database_url
    before = dump_database(url)
    for args in (("--yes", "--once"), ("--yes",), ("--proof", "me@example.com")):
        refused = cli("campaign", "send", "c1", *args)
        if args[0] == "--proof":  # a proof needs no schedule: it goes
            assert refused.exit_code == 0, refused.stderr
            continue
        assert refused.exit_code == 1
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert refused.stderr.startswith("error: campaign c1: the schedule is too long")
        assert "--force sends anyway" in refused.stderr
    assert dump_database(url) != before  # the proof's audit line, nothing else
    forced = cli("campaign", "send", "c1", "--yes", "--once", "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert "warning: --force: sending despite a failed check" in forced.stderr
    assert '"sent": 2' in forced.stdout


def test_send_refuses_an_unreachable_relay_without_touching_the_campaign(
    cli: Any, workspace: Path
) -> None:
    planned_campaign(cli, workspace)
    url = load_settings(workspace / "outreach.toml").database_url
    before = dump_database(url)
    port = free_port()
    result = cli("campaign", "send", "c1", "--yes", "--once",
                 env={"OUTREACH_SMTP_URL": f"smtp://127.0.0.1:{port}"})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: 127.0.0.1:{port}: cannot connect")
    assert result.stderr.count("\n") == 1
    assert dump_database(url) == before

    async def state() -> str:
        return (await Campaign.get(name="c1")).state

    assert in_database(workspace, state) == "planned"
