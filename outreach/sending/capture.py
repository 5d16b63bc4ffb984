"""The capture transport: an embedded SMTP server on loopback that keeps every letter.

``capture://DIR`` starts an aiosmtpd server on 127.0.0.1 (a free port) in the
sender's own event loop; each message it receives is written to the Maildir
``DIR`` (relative to the config folder), with a ``Return-Path`` and
``Delivered-To`` like a real mailbox. The sender talks SMTP to it through the
same pool code as to a real relay, so a dress rehearsal exercises everything
but the internet.
"""

from __future__ import annotations

import asyncio
import mailbox
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP as SMTPServer

from outreach.errors import TransportError


class MaildirHandler:
    """aiosmtpd handler: one Maildir file per message (and per recipient)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.maildir = mailbox.Maildir(folder, create=True)
        except OSError as exc:
            raise TransportError(f"cannot create the Maildir: {exc.strerror}",
                                 place=str(folder)) from None
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or b""
        keys = []
        for rcpt in envelope.rcpt_tos:
            head = (f"Return-Path: <{envelope.mail_from}>\r\n"
                    f"Delivered-To: {rcpt}\r\n").encode()
            keys.append(self.maildir.add(head + content))
        self.count += 1
        return f"250 OK captured as {keys[0] if keys else '-'}"


@asynccontextmanager
async def capture_server(folder: Path) -> AsyncIterator[tuple[str, int]]:
    """Run the capture server in this loop; yields (host, port)."""
    handler = MaildirHandler(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTPServer(handler, hostname="outreach-capture", data_size_limit=None),
        host="127.0.0.1", port=0,
    )
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield "127.0.0.1", port
    finally:
        server.close()
        await server.wait_closed()
