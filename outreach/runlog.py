"""The run log: one JSON line per ``campaign send`` and ``replies fetch``.

Each run appends one object to ``outreach-runs.jsonl`` beside the SQLite
database file (for PostgreSQL: beside ``outreach.toml``), so a campaigner can
show the coalition what was done when. A line holds when the run started and
finished (ISO 8601, UTC), the command, the campaign, the outcome (``ok``,
``paused``, ``error`` or ``interrupted``), the counts, the errors (message and
place), the duration, the version, the host and the campaigner. It holds no
personal data: no addresses, names, subjects or reply text (e-mail addresses in
error messages are replaced by ``<address>``).

The line is written when the run ends however it ends (an error, SIGTERM,
Ctrl-C), with one ``write`` on a file opened ``O_APPEND``, so concurrent runs
never interleave their lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outreach import __version__
from outreach.config import Settings
from outreach.errors import OutreachError

FILE_NAME = "outreach-runs.jsonl"
OUTCOMES = ("ok", "paused", "error", "interrupted")
_ADDRESS = re.compile(r"[^\s<>()\[\]'\",;:]+@[^\s<>()\[\]'\",;:]+")


def log_path(settings: Settings) -> Path:
    """Beside the SQLite file, else beside outreach.toml (or in the working folder)."""
    url = settings.database_url
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        return Path(url[len("sqlite://"):]).parent / FILE_NAME
    folder = settings.path.parent if settings.path is not None else settings.base_dir
    return folder / FILE_NAME


def scrub(text: str) -> str:
    """``text`` without e-mail addresses."""
    return _ADDRESS.sub("<address>", text)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Run:
    """What one run did; the caller fills ``counts`` and may set ``outcome``."""

    command: str
    campaign: str | None = None
    outcome: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    started: str = field(default_factory=_now)

    def error(self, message: str, place: str | None = None) -> None:
        """Note an error (addresses are removed)."""
        self.errors.append({"message": scrub(message), "place": scrub(place or "")})

    def record(self, *, seconds: float, actor: str) -> dict[str, Any]:
        return {
            "started": self.started, "finished": _now(), "command": self.command,
            "campaign": self.campaign, "outcome": self.outcome, "counts": dict(self.counts),
            "errors": list(self.errors), "duration_seconds": round(seconds, 3),
            "version": __version__, "host": socket.gethostname(), "campaigner": actor,
        }


def append(path: Path, record: dict[str, Any]) -> None:
    """One line, one ``write`` on an ``O_APPEND`` file: lines of concurrent runs never mix."""
    line = (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@contextmanager
def recording(settings: Settings, *, command: str, campaign: str | None = None) -> Iterator[Run]:
    """Record the run in the body; the line is written however the body ends.

    An :class:`OutreachError` is noted with its place (outcome ``error``), other
    exceptions by their type (``error``), Ctrl-C and cancellation as
    ``interrupted``; each is raised again. A log that cannot be written does not
    fail the run.
    """
    run = Run(command=command, campaign=campaign)
    started = time.monotonic()
    try:
        yield run
    except OutreachError as exc:
        run.outcome = "error"
        run.error(exc.message, exc.place)
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        run.outcome = "interrupted"
        raise
    except Exception as exc:
        run.outcome = "error"
        run.error(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        save(settings, run, seconds=time.monotonic() - started)


def save(settings: Settings, run: Run, *, seconds: float) -> None:
    """Append ``run``'s line beside the database; a log that cannot be written is skipped
    (it is a record, not a reason for the run to fail)."""
    try:
        append(log_path(settings), run.record(seconds=seconds, actor=settings.actor))
    except OSError:
        pass
