"""A minimal, fast SMTP sink for the sending benchmarks (not a mail server).

Usage::

    python benchmarks/smtp_sink.py [--delay-ms 10] [--ids FILE]

Listens on 127.0.0.1 on a free port, prints ``PORT`` on the first line of
standard output, and accepts everything: EHLO (advertising PIPELINING), MAIL,
RCPT, DATA, RSET, NOOP, QUIT. Pipelined commands are answered in order, in one
write. With ``--delay-ms`` every reply waits that long (a slow relay). With
``--ids`` each accepted message's Message-ID is appended to FILE (one per line).
On SIGTERM it prints the number of messages accepted and exits. It is a plain
``asyncio.Protocol`` (no streams) so that it costs the benchmark as little CPU
as possible: aiosmtpd tops out near 1,000 messages a second on this machine,
too slow to measure a sender against.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from typing import Any

MESSAGE_ID = re.compile(rb"(?im)^message-id:\s*(<[^>]*>)")
EHLO = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250 SMTPUTF8\r\n"
END = b"\r\n.\r\n"


class Counter:
    def __init__(self, ids_path: str | None) -> None:
        self.count = 0
        self.ids = open(ids_path, "ab", buffering=0) if ids_path else None

    def accept(self, data: bytes) -> None:
        self.count += 1
        if self.ids is not None:
            head = data[: data.find(b"\r\n\r\n")]
            match = MESSAGE_ID.search(head)
            self.ids.write((match.group(1) if match else b"-") + b"\n")


class Session(asyncio.Protocol):
    def __init__(self, counter: Counter, delay: float) -> None:
        self.counter = counter
        self.delay = delay
        self.buffer = bytearray()
        self.in_data = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.send(b"220 sink ESMTP\r\n")

    def send(self, data: bytes) -> None:
        if not data:
            return
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._write, data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = bytearray()
        quit_ = False
        while True:
            if self.in_data:
                end = self.buffer.find(END)
                if end < 0:
                    break
                self.counter.accept(bytes(self.buffer[: end + 2]))
                del self.buffer[: end + len(END)]
                self.in_data = False
                out += b"250 2.0.0 OK\r\n"
                continue
            eol = self.buffer.find(b"\r\n")
            if eol < 0:
                break
            verb = bytes(self.buffer[:4]).upper()
            del self.buffer[: eol + 2]
            if verb in (b"EHLO", b"HELO"):
                out += EHLO if verb == b"EHLO" else b"250 sink\r\n"
            elif verb == b"DATA":
                out += b"354 end with <CRLF>.<CRLF>\r\n"
                self.in_data = True
                if self.buffer.startswith(b".\r\n"):  # an empty message
                    self.buffer[:0] = b"\r\n"
            elif verb == b"QUIT":
                out += b"221 bye\r\n"
                quit_ = True
                break
            else:  # MAIL, RCPT, RSET, NOOP
                out += b"250 OK\r\n"
        self.send(bytes(out))
        if quit_:
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self.transport.close)
            else:
                self.transport.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--ids")
    args = parser.parse_args()
    counter = Counter(args.ids)
    delay = args.delay_ms / 1000
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(counter, delay), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()
    sys.stdout.write(f"{counter.count}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
