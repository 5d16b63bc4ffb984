"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), a CLI workspace,
the real servers (PostgreSQL, Postfix + Dovecot) and how to require them.

Every test that uses ``workspace`` (and so ``settings``, ``db`` or ``cli``) runs twice,
as ``[sqlite]`` and ``[postgres]``; mark it ``@pytest.mark.sqlite_only`` when it is about
SQLite itself. The PostgreSQL variant gets its own database on the server named by
``OUTREACH_TEST_POSTGRES_URL`` (see tests/servers/postgres.sh), dropped after the test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from outreach.cli import app
from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.setup import initialise

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: the servers' coordinates, read once: `workspace` clears OUTREACH_* from the environment
SERVER_ENV = {k: v for k, v in os.environ.items() if k.startswith("OUTREACH_TEST_") and v}

BACKENDS = ("sqlite", "postgres")
POSTGRES_HOW = "run tests/servers/postgres.sh start and export OUTREACH_TEST_POSTGRES_URL"
MAILSTACK_HOW = 'run tests/servers/mailstack.sh start and eval "$(tests/servers/mailstack.sh env)"'


def require_server(available: bool, what: str, how: str) -> None:
    """Skip a test whose server is missing, but fail under CI=true."""
    if available:
        return
    message = f"{what} is not available ({how})"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


# --- both databases ----------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: run only the [sqlite] variant of a database test"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test that reaches the `backend` fixture over both databases."""
    if "backend" not in metafunc.fixturenames:
        return
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    backends = ["sqlite"] if only_sqlite else list(BACKENDS)
    metafunc.parametrize("backend", backends, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Server markers follow the fixtures: the [postgres] variants and every test using
    `postgres_url` carry `postgres`, tests using `mailstack` carry `mailstack` (so
    `-m "not postgres and not mailstack"` selects what runs without servers)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("backend") == "postgres"
        if on_postgres or "postgres_url" in names:
            item.add_marker(pytest.mark.postgres)
        if "mailstack" in names:
            item.add_marker(pytest.mark.mailstack)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: "sqlite" or "postgres"."""
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL (a superuser that may create databases)."""
    url = SERVER_ENV.get("OUTREACH_TEST_POSTGRES_URL", "")
    require_server(bool(url), "PostgreSQL", POSTGRES_HOW)
    return url


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointing at database ``name`` instead."""
    return urlsplit(server_url)._replace(path="/" + name).geturl()


async def _postgres_admin(server_url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server_url.replace("postgresql://", "postgres://", 1))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """A database migrated once per session; each test's database is a copy of it."""
    name = f"outreach_template_{os.getpid()}"
    asyncio.run(
        _postgres_admin(
            postgres_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'
        )
    )

    async def migrate() -> None:
        async with open_db(database_url(postgres_url, name), migrate=True, check_schema=False):
            pass

    asyncio.run(migrate())
    yield name
    asyncio.run(_postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_database(postgres_url: str, postgres_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = f"outreach_test_{os.getpid()}_{next(_database_numbers)}"
    asyncio.run(
        _postgres_admin(postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    )
    yield database_url(postgres_url, name)
    # WITH (FORCE) also ends connections a failed test left open
    asyncio.run(_postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def workspace(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A folder with `outreach init` done, as the working directory."""
    values: dict[str, str] = {}
    if backend == "postgres":
        values["database_url"] = request.getfixturevalue("postgres_database")
    for key in list(os.environ):
        if key.startswith("OUTREACH_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    asyncio.run(initialise(tmp_path, values=values))
    return tmp_path


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "outreach.toml")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    """The workspace's database open in this test's event loop; yields the settings."""
    async with open_db(settings.database_url):
        yield settings


class Cli:
    """Runs `outreach …` in-process with Typer's CliRunner (from sync tests only)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        return self.runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def cli(workspace: Path) -> Cli:
    return Cli()


# --- real mail servers (tests/servers/mailstack.sh) --------------------------------------


@dataclass(frozen=True)
class Mailstack:
    """Postfix + Dovecot on loopback; every local test domain delivers to one IMAP INBOX.

    Domains: example.org, example.com, europarl.test deliver; bounce.test bounces with an
    RFC 3464 report to the envelope sender; reject.test is refused at RCPT (550);
    defer.test is deferred at RCPT (450); vacation.test answers with a Sieve auto-reply.
    Reports and auto-replies come back only to an envelope sender at a local domain.
    """

    #: smtp://127.0.0.1:2525: no auth, STARTTLS offered, accepts the test domains only
    smtp_url: str
    #: smtp+starttls://USER@127.0.0.1:1587: STARTTLS required, AUTH
    submission_url: str
    #: smtps://USER@127.0.0.1:1465: implicit TLS, AUTH
    smtps_url: str
    #: imap://USER@127.0.0.1:1143/INBOX: plain login allowed, STARTTLS offered
    imap_url: str
    #: imaps://USER@127.0.0.1:1993/INBOX
    imaps_url: str
    user: str
    password: str
    #: the self-signed certificate every TLS port presents (trust it, or go insecure)
    tls_cert: Path
    #: the harness's folder: logs in ROOT/log, the mailbox in ROOT/vmail
    root: Path

    @staticmethod
    def host_port(url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"no host:port in {url!r}")
        return parts.hostname, parts.port


MAILSTACK_VARS = {
    "smtp_url": "OUTREACH_TEST_SMTP_URL",
    "submission_url": "OUTREACH_TEST_SUBMISSION_URL",
    "smtps_url": "OUTREACH_TEST_SMTPS_URL",
    "imap_url": "OUTREACH_TEST_IMAP_URL",
    "imaps_url": "OUTREACH_TEST_IMAPS_URL",
    "user": "OUTREACH_TEST_IMAP_USER",
    "password": "OUTREACH_TEST_IMAP_PASSWORD",
    "tls_cert": "OUTREACH_TEST_TLS_CERT",
    "root": "OUTREACH_TEST_MAILSTACK_ROOT",
}


@pytest.fixture(scope="session")
def mailstack() -> Mailstack:
    """The Postfix + Dovecot harness, from the variables `mailstack.sh env` prints."""
    missing = [var for var in MAILSTACK_VARS.values() if var not in SERVER_ENV]
    require_server(not missing, "the Postfix + Dovecot mail stack", MAILSTACK_HOW)
    values = {field: SERVER_ENV[var] for field, var in MAILSTACK_VARS.items()}
    return Mailstack(
        **{k: v for k, v in values.items() if k not in {"tls_cert", "root"}},
        tls_cert=Path(values["tls_cert"]),
        root=Path(values["root"]),
    )
