"""Fakes and probes for the bad-input catalogue (tests/test_errors_catalogue.py): mail
servers on loopback (aiosmtpd with AUTH, a tiny IMAP speaker, a plain-text listener) and
dumps of the database to compare before and after a command."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import socketserver
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from outreach.db import sqlite_path

# --- local fake servers ------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A port of ``host`` with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Accepting:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK queued"


@contextmanager
def smtp_with_auth(*, accept: bool) -> Iterator[int]:
    """aiosmtpd on loopback offering AUTH (no TLS: loopback is allowed plain)."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        return AuthResult(success=accept, handled=False)

    controller = Controller(Accepting(), hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


class ImapRefusingLogin(socketserver.StreamRequestHandler):
    """Enough IMAP for a client to log in and be refused."""

    def handle(self) -> None:
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
        for raw in self.rfile:
            words = raw.decode("latin-1").split()
            if len(words) < 2:
                continue
            tag, command = words[0], words[1].upper()
            if command == "CAPABILITY":
                self.wfile.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                self.wfile.write(f"{tag} OK done\r\n".encode())
            elif command == "LOGIN":
                self.wfile.write(f"{tag} NO [AUTHENTICATIONFAILED] bad credentials\r\n".encode())
            elif command == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} BAD unknown\r\n".encode())


class PlainGreeting(socketserver.StreamRequestHandler):
    """A plain-text IMAP greeting to whoever connects (a TLS client sees garbage)."""

    def handle(self) -> None:
        self.wfile.write(b"* OK plain IMAP, no TLS here\r\n")
        self.request.settimeout(2)
        try:
            self.request.recv(4096)
        except OSError:
            pass


@contextmanager
def tcp_server(handler: type[socketserver.BaseRequestHandler]) -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# --- the database before and after -------------------------------------------------------


def _rows_digest(tables: dict[str, list[Any]]) -> dict[str, tuple[int, str]]:
    out = {}
    for name, rows in tables.items():
        text = "\n".join(sorted(repr(tuple(row)) for row in rows))
        out[name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return out


def dump_database(url: str) -> object:
    """Row count and a hash of the rows of every table (or the file's bytes if SQLite
    cannot read it, or "absent")."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            return "absent"
        try:
            connection = sqlite3.connect(path)
            try:
                names = [r[0] for r in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
                return _rows_digest({n: connection.execute(f'SELECT * FROM "{n}"').fetchall()
                                     for n in names})
            finally:
                connection.close()
        except sqlite3.DatabaseError:
            return ("bytes", hashlib.sha256(path.read_bytes()).hexdigest())
    return asyncio.run(_dump_postgres(url))


async def _dump_postgres(url: str) -> object:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        names = [r[0] for r in await connection.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name")]
        tables = {n: [tuple(r) for r in await connection.fetch(f'SELECT * FROM "{n}"')]
                  for n in names}
    finally:
        await connection.close()
    return _rows_digest(tables)


# --- what is stored --------------------------------------------------------------------


def stored_bytes(url: str, workspace: Path) -> bytes:
    """Everything the project keeps: the database (every byte of a SQLite file, every row
    of a PostgreSQL one) and every file in the workspace (outbox, logs, previews)."""
    chunks = [p.read_bytes() for p in sorted(workspace.rglob("*")) if p.is_file()]
    if sqlite_path(url) is None:
        chunks.append(asyncio.run(_postgres_text(url)).encode())
    return b"\n".join(chunks)


async def _postgres_text(url: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        names = [r[0] for r in await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
        rows = [repr(tuple(r)) for n in names
                for r in await connection.fetch(f'SELECT * FROM "{n}"')]
        return "\n".join(rows)
    finally:
        await connection.close()


# --- an address off loopback --------------------------------------------------------------


def outward_address() -> str:
    """This machine's address on its outward interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return "127.0.0.1"
        return str(sock.getsockname()[0])


@contextmanager
def plain_smtp(host: str) -> Iterator[int]:
    controller = Controller(Accepting(), hostname=host, port=free_port(host))
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()
