"""What a reader hands the importer: rows with their place in the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawRow:
    """One record as read: canonical column → raw value, or the reason it is unreadable.

    ``line`` is the line an editor shows (the header is line 1). ``ep`` marks
    rows from the European Parliament's files, which merge on ``ep_id``.
    """

    file: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    ep: bool = False

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class ReadResult:
    """The rows of one file and any remarks about the file as a whole."""

    file: str
    format: str
    rows: list[RawRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
