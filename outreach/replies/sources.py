"""Reading messages from files: single ``.eml`` files, mbox files, Maildir folders.

:func:`read_paths` yields one :class:`RawMessage` per message, in a stable
order, each named by where it came from (``mail/a.eml``,
``archive.mbox#12``, ``Maildir/cur/1700…``). A message that cannot be read
is yielded with ``error`` set instead of stopping the walk: one bad file never
ends an import. A path that does not exist at all is an
:class:`~outreach.errors.InputError`.

What a path is:

- a folder with ``cur``/``new`` sub-folders: a Maildir (``tmp`` is ignored);
- any other folder: every file in it (recursively, sorted), each read as below;
- a file starting with ``From `` (the mbox separator): an mbox;
- any other file: one message.
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from outreach.errors import InputError

#: a file larger than this is not read whole into memory as one message
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RawMessage:
    source: str
    data: bytes = b""
    error: str = ""


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        # parse_message caps what it parses; reading more than the cap is pointless
        return fh.read(min(size, MAX_FILE_BYTES))


def _maildir(path: Path) -> Iterator[RawMessage]:
    for sub in ("new", "cur"):
        folder = path / sub
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            yield _one_file(entry)


def _one_file(path: Path) -> RawMessage:
    try:
        return RawMessage(str(path), _read_file(path))
    except OSError as exc:
        return RawMessage(str(path), error=exc.strerror or str(exc))


def _mbox(path: Path) -> Iterator[RawMessage]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield RawMessage(str(path), error=f"cannot read as mbox: {exc}")
        return
    try:
        for number, key in enumerate(keys, start=1):
            place = f"{path}#{number}"
            try:
                yield RawMessage(place, box.get_bytes(key))
            except (OSError, KeyError, mailbox.Error) as exc:
                yield RawMessage(place, error=str(exc))
    finally:
        box.close()


def _starts_with_from(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def _file(path: Path) -> Iterator[RawMessage]:
    if _starts_with_from(path):
        yield from _mbox(path)
    else:
        yield _one_file(path)


def read_path(path: Path) -> Iterator[RawMessage]:
    """Every message under one path (see the module docstring)."""
    if not path.exists():
        raise InputError("no such file or folder", place=str(path))
    if path.is_dir():
        if _is_maildir(path):
            yield from _maildir(path)
            return
        for root, dirs, files in os.walk(path):
            dirs.sort()
            base = Path(root)
            if _is_maildir(base):
                dirs[:] = []
                yield from _maildir(base)
                continue
            for name in sorted(files):
                if not name.startswith("."):
                    yield from _file(base / name)
        return
    yield from _file(path)


def read_paths(paths: list[Path]) -> Iterator[RawMessage]:
    """Every message under each path, in order. Missing paths are refused up front."""
    for path in paths:
        if not path.exists():
            raise InputError("no such file or folder", place=str(path))
    for path in paths:
        yield from read_path(path)
