"""Reading docs/guide/*.md for tests/test_guide.py: the commands and the output shown.

The conventions (also in the guide's last section): commands sit in ```console blocks
as ``$ outreach …`` (a trailing ``\\`` continues the line; ``NAME=value outreach …`` sets
a variable for that command); the lines beneath are output the command prints, compared
with runs of spaces collapsed, ``…`` standing for any text; ``(exit status N)`` is the
expected exit status instead of 0; ``$NAME`` is an environment variable.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

import pytest

EXIT = re.compile(r"^\(exit status (\d+)\)$")
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@dataclass
class Step:
    line: int
    command: str
    expected: list[str] = field(default_factory=list)
    status: int = 0


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Every fenced code block: (info string, line of its first content line, lines)."""
    blocks: list[tuple[str, int, list[str]]] = []
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        opening = re.match(r"^\s*```(\S*)", lines[n])
        if not opening:
            n += 1
            continue
        start, body = n + 2, []
        n += 1
        while n < len(lines) and not lines[n].strip().startswith("```"):
            body.append(lines[n])
            n += 1
        blocks.append((opening.group(1), start, body))
        n += 1
    return blocks


def parse_steps(text: str) -> list[Step]:
    """The ``$`` commands of the ```console blocks, with their expected output."""
    steps: list[Step] = []
    for kind, start, body in fenced_blocks(text):
        if kind != "console":
            continue
        current: Step | None = None
        continued = False
        for offset, raw in enumerate(body):
            if continued and current is not None:
                current.command += " " + raw.strip().removesuffix("\\").strip()
                continued = raw.rstrip().endswith("\\")
                continue
            if raw.startswith("$ "):
                current = Step(start + offset, raw[2:].strip().removesuffix("\\").strip())
                continued = raw.rstrip().endswith("\\")
                steps.append(current)
            elif current is not None and raw.strip():
                status = EXIT.match(raw.strip())
                if status:
                    current.status = int(status.group(1))
                else:
                    current.expected.append(raw)
    return steps


def normalise(text: str) -> str:
    return " ".join(text.split())


def expected_pattern(line: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in normalise(line).split("…")]
    return re.compile("^" + ".*".join(parts) + "$")


def expand(word: str, env: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            pytest.fail(f"the guide uses ${name}, which the replay does not set")
        return env[name]

    return VARIABLE.sub(value, word)


def argv_of(command: str, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(variables set for this command, outreach's arguments)."""
    words = [expand(w, env) for w in shlex.split(command, comments=True)]
    assigned: dict[str, str] = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        assigned[name] = value
    assert words[:1] == ["outreach"], f"not an outreach command: {command}"
    return assigned, words[1:]


def mentions(text: str) -> list[tuple[int, str]]:
    """(line, words after `outreach`) of every command named in an inline code span
    (`outreach campaign send NAME`) or run in a code block."""
    found: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            continue
        # a span may wrap onto the next line: `outreach replies\nreview`
        for span in re.findall(r"`([^`]+)`?", line):
            match = re.match(r"^outreach((?: [a-z][\w-]*){0,2})", span.strip())
            if match:
                found.append((number, match.group(1).strip()))
    found += [(number, " ".join(line.split()[:2])) for number, line in command_lines(text)]
    return found


def command_lines(text: str) -> list[tuple[int, str]]:
    """Whole command lines in code blocks (``$ outreach …`` or ``outreach …``)."""
    lines: list[tuple[int, str]] = []
    for kind, start, body in fenced_blocks(text):
        if kind not in ("console", "sh", "bash", "shell"):
            continue
        joined: list[tuple[int, str]] = []
        pending = ""
        for offset, raw in enumerate(body):
            piece = raw.removeprefix("$ ") if kind == "console" else raw
            if pending:
                pending += " " + piece.strip()
            elif kind == "console" and not raw.startswith("$ "):
                continue
            else:
                pending, first = piece.strip(), start + offset
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            joined.append((first, pending))
            pending = ""
        for first, command in joined:
            words = shlex.split(command, comments=True)
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
                words.pop(0)
            if words[:1] == ["outreach"]:
                lines.append((first, shlex.join(words[1:])))
    return lines
