"""The bad-input catalogue (docs/errors.md): every case fails on one line, names its place,
exits 1 (usage errors: Typer's message, exit 2), shows no traceback and changes nothing
in the database. Also: passwords never reach the database, --json output or messages.

The mail servers are local fakes started here (aiosmtpd with AUTH, a tiny IMAP speaker,
a plain TCP listener), so the catalogue runs without the Postfix + Dovecot harness.
"""

from __future__ import annotations

import socketserver
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import outreach.db
from outreach.config import load_settings
from tests.helpers_errors import (
    ImapRefusingLogin,
    PlainGreeting,
    dump_database,
    free_port,
    outward_address,
    plain_smtp,
    smtp_with_auth,
    stored_bytes,
    tcp_server,
)

SECRET = "Zq9-interpol-Pw-4417"


# --- the cases ---------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a case's setup may use and leave behind."""

    workspace: Path
    cli: Any
    monkeypatch: pytest.MonkeyPatch
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    #: run after the command, before the database is compared (release a lock)
    cleanup: list[Callable[[], object]] = field(default_factory=list)
    #: context managers (servers) kept open around the command
    servers: list[Any] = field(default_factory=list)

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def ok(self, *args: str) -> None:
        result = self.cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)

    def serve(self, manager: Any) -> int:
        self.servers.append(manager)
        return int(manager.__enter__())

    @property
    def db_file(self) -> Path:
        return self.workspace / "outreach.db"


CONTACTS = (
    "email,name,kind,country,language\n"
    "anna.berg@example.org,Anna Berg,mep,SE,en\n"
    "paul.roux@example.org,Paul Roux,mep,FR,en\n"
)


def with_contacts(c: Ctx) -> None:
    c.write("targets.csv", CONTACTS)
    c.ok("contacts", "import", "targets.csv")


def with_planned_campaign(c: Ctx) -> None:
    with_contacts(c)
    c.ok("campaign", "create", "c1", "-t", "mep", "-a", "caucus")
    c.ok("campaign", "plan", "c1", "--rate", "6000/min", "--per-domain", "36000/h")


def draft_campaign(c: Ctx, name: str, *, body: str | None = None) -> None:
    if body is None:
        with_contacts(c)
    else:
        copied_letter(c, body)
    c.ok("campaign", "create", name, "-t", "mep", "-a", "caucus")


def copied_letter(c: Ctx, body: str) -> None:
    with_contacts(c)
    c.ok("templates", "copy", "mep")
    c.write("templates/mep/en/body.md", body)


def locked(c: Ctx) -> None:
    with_contacts(c)
    c.monkeypatch.setattr(outreach.db, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(c.db_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE contact SET notes = notes")

    def release() -> None:
        holder.execute("ROLLBACK")
        holder.close()

    c.cleanup.append(release)


def newer_schema(c: Ctx) -> None:
    connection = sqlite3.connect(c.db_file)
    with connection:
        connection.execute("INSERT INTO tortoise_migrations (app, name, applied_at) "
                           "VALUES ('models', '0099_from_the_future', '2030-01-01 00:00:00')")
    connection.close()


def read_only(c: Ctx) -> None:
    """The database file cannot be written (root ignores modes: make it immutable)."""
    import os
    import subprocess

    with_contacts(c)
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(c.db_file)], capture_output=True)
        if done.returncode != 0:
            pytest.skip("running as root without chattr +i: cannot make a read-only file")
        c.cleanup.append(lambda: subprocess.run(["chattr", "-i", str(c.db_file)], check=True))
        return
    for suffix in ("", "-wal", "-shm"):
        target = Path(str(c.db_file) + suffix)
        if target.exists():
            target.chmod(0o444)
    c.workspace.chmod(0o555)
    c.cleanup.append(lambda: c.workspace.chmod(0o755))


def smtp_auth_refused(c: Ctx) -> None:
    with_planned_campaign(c)
    port = c.serve(smtp_with_auth(accept=False))
    c.env.update(OUTREACH_SMTP_URL=f"smtp://campaign@127.0.0.1:{port}",
                 OUTREACH_SMTP_PASSWORD=SECRET)
    c.args = ["campaign", "send", "c1", "--yes", "--once"]


def smtp_port_closed(c: Ctx) -> None:
    with_planned_campaign(c)
    port = free_port()
    c.env.update(OUTREACH_SMTP_URL=f"smtp://127.0.0.1:{port}")
    c.args = ["campaign", "send", "c1", "--proof", "me@example.org"]


def smtp_port_closed_send(c: Ctx) -> None:
    """The preflight refuses to start: the campaign stays planned, nothing is written."""
    with_planned_campaign(c)
    c.env.update(OUTREACH_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    c.args = ["campaign", "send", "c1", "--yes", "--once"]


def imap_env(c: Ctx, url: str) -> None:
    c.env.update(OUTREACH_IMAP_URL=url, OUTREACH_IMAP_PASSWORD=SECRET)


def imap_port_closed(c: Ctx) -> None:
    imap_env(c, f"imap://campaign@127.0.0.1:{free_port()}/INBOX")


def imap_tls_mismatch(c: Ctx) -> None:
    port = c.serve(tcp_server(PlainGreeting))
    imap_env(c, f"imaps://campaign@127.0.0.1:{port}/INBOX")


def imap_bad_login(c: Ctx) -> None:
    port = c.serve(tcp_server(ImapRefusingLogin))
    imap_env(c, f"imap://campaign@127.0.0.1:{port}/INBOX")


def no_setup(c: Ctx) -> None:
    pass


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    #: what stderr must contain (the place, at least)
    place: str
    setup: Callable[[Ctx], object] = no_setup
    env: tuple[tuple[str, str], ...] = ()
    code: int = 1
    sqlite_only: bool = False


def case(id: str, args: str, place: str, setup: Callable[[Ctx], object] = no_setup, *,
         env: dict[str, str] | None = None, code: int = 1, sqlite_only: bool = False) -> Any:
    item = Case(id, tuple(args.split()), place, setup, tuple((env or {}).items()), code,
                sqlite_only)
    return pytest.param(item, id=id)


def _file(name: str, content: str | bytes, *, then: Callable[[Ctx], object] = no_setup
          ) -> Callable[[Ctx], object]:
    def setup(c: Ctx) -> None:
        then(c)
        c.write(name, content)
    return setup


def _config(text: str) -> Callable[[Ctx], object]:
    def setup(c: Ctx) -> None:
        path = c.workspace / "outreach.toml"
        path.write_text(path.read_text() + text)
    return setup


def _body(text: str) -> Callable[[Ctx], object]:
    return lambda c: copied_letter(c, text)


def _delete_db(c: Ctx) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(c.db_file) + suffix).unlink(missing_ok=True)


def _garbage_db(c: Ctx) -> None:
    _delete_db(c)
    c.db_file.write_bytes(b"this is not a database\n" * 200)


CASES = [
    # contact files
    case("csv-missing-file", "contacts import nowhere.csv", "nowhere.csv"),
    case("csv-empty", "contacts import empty.csv", "empty.csv", _file("empty.csv", "")),
    case("csv-no-email-column", "contacts import t.csv", "t.csv:1",
         _file("t.csv", "name,kind\nAnna,mep\n")),
    case("csv-bad-address", "contacts import t.csv", "t.csv:2",
         _file("t.csv", "email,name\nnot-an-address,Anna\n")),
    case("csv-strict-one-bad-row", "contacts import --strict t.csv", "t.csv:3",
         _file("t.csv", "email,name\nok@example.org,Ok\nbad@@example.org,Bad\n")),
    case("csv-not-utf8", "contacts import t.csv", "t.csv:2",
         _file("t.csv", b"email,name\n\xff\xfeab@example.org,x\n")),
    case("json-syntax", "contacts import t.json", "t.json:1",
         _file("t.json", '[{"email": "a@example.org",}]')),
    case("json-not-a-list", "contacts import t.json", "t.json",
         _file("t.json", '{"email": "a@example.org"}')),
    case("xml-malformed", "contacts import --format ep-xml t.xml", "t.xml:1",
         _file("t.xml", "<meps><mep><id>1</mep></meps>")),
    case("import-unknown-format", "contacts import --format xls t.csv", "--format",
         _file("t.csv", CONTACTS), code=2),
    # templates
    case("template-unknown-letter", "templates preview nosuch --to anna.berg@example.org",
         "nosuch", with_contacts),
    case("template-syntax", "templates preview mep --to anna.berg@example.org",
         "mep/en/body.md:1", _body("{{ salutation }\n\nText\n")),
    case("template-undefined-name", "templates preview mep --to anna.berg@example.org",
         "mep/en/body.md:3", _body("{{ salutation }}\n\n{{ nowhere.field }}\n")),
    case("template-bad-letter-toml", "templates check mep", "mep/letter.toml",
         _file("templates/mep/letter.toml", "asks = [\n",
               then=lambda c: copied_letter(c, "{{ salutation }}\n"))),
    case("campaign-unknown-template", "campaign create c2 -t nosuch -a caucus", "nosuch"),
    case("plan-with-broken-template", "campaign plan c2", "mep/en/body.md:1",
         lambda c: draft_campaign(c, "c2", body="{% if %}\n")),
    # configuration
    case("config-not-toml", "contacts list", "outreach.toml", _config("[smtp\n")),
    case("config-unknown-section", "contacts list", "outreach.toml",
         _config("[extra]\nx = 1\n")),
    case("config-password-in-file", "contacts list", "outreach.toml",
         lambda c: (c.workspace / "outreach.toml").write_text(
             f'[smtp]\npassword = "{SECRET}"\n')),
    case("config-file-missing", "--config absent.toml contacts list", "absent.toml"),
    case("config-env-wrong-type", "campaign send c1 --yes", "OUTREACH_SMTP_CONCURRENCY",
         env={"OUTREACH_SMTP_CONCURRENCY": "many"}),
    case("config-smtp-password-in-url", "campaign send c1 --yes", "[smtp] url",
         env={"OUTREACH_SMTP_URL": f"smtp://me:{SECRET}@127.0.0.1:25"}),
    case("config-smtp-scheme", "campaign send c1 --yes", "[smtp] url",
         env={"OUTREACH_SMTP_URL": "ftp://relay.example.org"}),
    case("config-imap-missing", "replies fetch", "[imap] url"),
    case("config-imap-password-in-url", "replies fetch", "[imap] url",
         env={"OUTREACH_IMAP_URL": f"imaps://me:{SECRET}@127.0.0.1/INBOX"}),
    case("config-imap-no-password", "replies fetch", "127.0.0.1:993",
         env={"OUTREACH_IMAP_URL": "imaps://me@127.0.0.1/INBOX"}),
    case("config-pacing-window", "campaign plan c1", "[pacing] window",
         lambda c: draft_campaign(c, "c1"),
         env={"OUTREACH_PACING_WINDOW": "25:00-26:00"}),
    # command-line arguments
    case("where-unknown-field", "contacts list --where colour=red", "--where", code=2),
    case("where-no-equals", "contacts list --where country", "--where", code=2),
    case("unknown-ask", "campaign create c2 -t mep -a world-peace", "--ask"),
    case("unknown-campaign", "campaign send nosuch --yes", "campaign"),
    case("unknown-contact", "contacts show nobody@example.org", "nobody@example.org"),
    case("since-not-a-date", "replies fetch --since yesterday", "--since",
         env={"OUTREACH_IMAP_URL": "imaps://me@127.0.0.1/INBOX"}),
    case("usage-unknown-option", "contacts list --colour", "--colour", code=2),
    case("usage-missing-argument", "campaign create", "name", code=2),
    case("usage-limit-zero", "campaign send c1 --limit 0", "--limit", code=2),
    # the database
    case("db-missing", "contacts list", "outreach.db", _delete_db, sqlite_only=True),
    case("db-not-a-database", "contacts list", "outreach.db", _garbage_db, sqlite_only=True),
    case("db-newer-version", "contacts list", "outreach.db", newer_schema,
         sqlite_only=True),
    case("db-locked", "contacts tag x anna.berg@example.org", "outreach.db", locked,
         sqlite_only=True),
    case("db-read-only", "contacts tag x anna.berg@example.org", "outreach.db",
         read_only, sqlite_only=True),
    case("db-server-unreachable", "contacts list", "127.0.0.1:1",
         env={"OUTREACH_DATABASE_URL": f"postgres://me:{SECRET}@127.0.0.1:1/outreach"}),
    # SMTP
    case("smtp-auth-refused", "", "127.0.0.1:", smtp_auth_refused),
    case("smtp-port-closed", "", "127.0.0.1:", smtp_port_closed),
    case("smtp-port-closed-send", "", "127.0.0.1:", smtp_port_closed_send),
    # IMAP
    case("imap-port-closed", "replies fetch", "127.0.0.1:", imap_port_closed),
    case("imap-tls-mismatch", "replies fetch", "127.0.0.1:", imap_tls_mismatch),
    case("imap-login-refused", "replies fetch", "127.0.0.1:", imap_bad_login),
]


#: the cases about the SQLite file itself run in their own test, marked sqlite_only
#: (the conftest reads that mark from the test function, not from a parameter)
EVERY_DATABASE = [p for p in CASES if not p.values[0].sqlite_only]
SQLITE_FILE = [p for p in CASES if p.values[0].sqlite_only]


def test_catalogue_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", EVERY_DATABASE)
def test_bad_input(bad: Case, cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> None:
    check_case(bad, cli, workspace, monkeypatch)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("bad", SQLITE_FILE)
def test_bad_sqlite_file(bad: Case, cli: Any, workspace: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    check_case(bad, cli, workspace, monkeypatch)


def check_case(bad: Case, cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run one case: exit code, one line naming the place, no traceback, no secret,
    and the same database dump before and after."""
    url = load_settings(workspace / "outreach.toml").database_url
    c = Ctx(workspace, cli, monkeypatch, env=dict(bad.env))
    try:
        bad.setup(c)
        before = dump_database(url)
        result = cli(*(c.args or bad.args), env=c.env or None)
        for undo in c.cleanup:
            undo()
        c.cleanup.clear()
    finally:
        for undo in c.cleanup:
            undo()
        for server in reversed(c.servers):
            server.__exit__(None, None, None)
    err = result.stderr
    assert result.exit_code == bad.code, (result.stdout, err)
    assert "Traceback" not in err + result.stdout
    assert bad.place in err, err
    assert SECRET not in err + result.stdout
    if bad.code == 1:
        assert err.endswith("\n"), err
        assert err.count("\n") == 1, err
    else:  # Typer's usage message, or our own one-line --where/--format error
        assert err.startswith(("Usage:", "error: ")), err
    assert dump_database(url) == before


# --- secrets -----------------------------------------------------------------------------


def test_passwords_never_stored_printed_or_in_json(cli: Any, workspace: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    c = Ctx(workspace, cli, monkeypatch)
    with_planned_campaign(c)
    url = load_settings(workspace / "outreach.toml").database_url
    outputs: list[str] = []

    def run(*args: str, env: dict[str, str], code: int) -> None:
        result = cli(*args, env={"OUTREACH_SMTP_PASSWORD": SECRET,
                                 "OUTREACH_IMAP_PASSWORD": SECRET, **env})
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)

    with smtp_with_auth(accept=True) as port:
        smtp = {"OUTREACH_SMTP_URL": f"smtp://campaign@127.0.0.1:{port}"}
        run("campaign", "send", "c1", "--proof", "me@example.org", env=smtp, code=0)
        run("campaign", "send", "c1", "--yes", "--once", "--json", env=smtp, code=0)
    with smtp_with_auth(accept=False) as port:
        smtp = {"OUTREACH_SMTP_URL": f"smtp://campaign@127.0.0.1:{port}"}
        run("campaign", "send", "c1", "--proof", "me@example.org", env=smtp, code=1)
    with tcp_server(ImapRefusingLogin) as port:
        imap = {"OUTREACH_IMAP_URL": f"imap://campaign@127.0.0.1:{port}/INBOX"}
        run("replies", "fetch", "--json", env=imap, code=1)
    for listing in (("campaign", "status", "c1"), ("campaign", "list"), ("contacts", "list"),
                    ("replies", "list")):
        run(*listing, "--json", env={}, code=0)
    sent = '"sent": 2'
    assert any(sent in out for out in outputs), outputs  # the sending really happened
    assert not [out for out in outputs if SECRET in out]
    assert SECRET.encode() not in stored_bytes(url, workspace)


# --- TLS off loopback --------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_plain_text_off_loopback_needs_insecure_and_warns(
    cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = outward_address()
    if host.startswith("127."):
        pytest.skip("no network interface besides loopback")
    c = Ctx(workspace, cli, monkeypatch)
    with_planned_campaign(c)
    with plain_smtp(host) as port:
        env = {"OUTREACH_SMTP_URL": f"smtp://{host}:{port}"}
        refused = cli("campaign", "send", "c1", "--proof", "me@example.org", env=env)
        assert refused.exit_code == 1
        assert refused.stderr.startswith(f"error: {host}:{port}: the relay offers no TLS")
        allowed = cli("campaign", "send", "c1", "--proof", "me@example.org", "--insecure",
                      env=env)
        assert allowed.exit_code == 0, allowed.stderr
        assert f"warning: --insecure: plain SMTP to {host}:{port}" in allowed.stderr
    server = socketserver.ThreadingTCPServer((host, 0), ImapRefusingLogin)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = int(server.server_address[1])
        env = {"OUTREACH_IMAP_URL": f"imap://me@{host}:{port}/INBOX",
               "OUTREACH_IMAP_PASSWORD": SECRET}
        refused = cli("replies", "fetch", env=env)
        assert refused.exit_code == 1
        assert refused.stderr.startswith(f"error: {host}:{port}: the server offers no STARTTLS")
        allowed = cli("replies", "fetch", "--insecure", env=env)
        # the fake refuses the login, but only after the warning
        assert allowed.exit_code == 1
        lines = allowed.stderr.splitlines()
        assert lines[0].startswith(f"warning: --insecure: plain IMAP to {host}:{port}")
        assert lines[1].startswith(f"error: {host}:{port}: login refused")
        assert SECRET not in allowed.stderr
    finally:
        server.shutdown()
        server.server_close()
