"""The report as sections of rows, and as JSON, CSV and a plain-text table.

Every format is built from the same :func:`sections` of the same report data, so
the figures agree by construction: JSON is the data itself; CSV is one table (one
header: ``section`` then every column of every section, empty where a column does
not apply); the text table prints each section under its title, rates as
percentages.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outreach.spreadsheet import guard

FORMATS = ("table", "csv", "json", "html")
COUNTS = ("targeted", "sent", "bounced", "auto_replied", "replied")
RATES = ("response_rate", "median_hours_to_first_reply")
STANCE_COLUMNS = ("supports", "open", "undecided", "opposes", "no-answer", "none")
TITLES = {
    "country": "country", "group": "political group", "kind": "kind of target",
    "committee": "committee", "language": "language of the letter",
}


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def sections(report: dict[str, Any]) -> list[Section]:
    """The report's tables, in reading order."""
    out = [
        Section("campaigns", "Campaigns",
                ("name", "template", "asks", "state", "created_at", "first_sent_at",
                 "last_sent_at", "letters", "sent"),
                [{**c, "asks": ";".join(c["asks"])} for c in report["campaigns"]]),
        Section("letters", "All letters", (*COUNTS, *RATES), [report["letters"]]),
        Section("funnel", "Funnel per ask", ("ask", *COUNTS, "supports"), report["funnel"]),
    ]
    for dimension, rows in report["breakdowns"].items():
        out.append(Section(f"by-{dimension}", f"By {TITLES.get(dimension, dimension)}",
                           ("key", *COUNTS, *RATES), rows))
    shown, total = len(report["responsiveness"]), report["responsiveness_total"]
    out.append(Section(
        "responsiveness", "Responsiveness (who answers, who does not)" + _of(shown, total),
        ("contact", "name", "email", "kind", "country", "group", "sent", "bounced",
         "auto_replied", "replied", *RATES), report["responsiveness"]))
    for dimension, rows in report["stances"].items():
        out.append(Section(f"stances-by-{dimension}",
                           f"Stance per ask by {TITLES.get(dimension, dimension)}",
                           ("ask", "key", *STANCE_COLUMNS), rows))
    shown, total = len(report["follow_ups_due"]), report["follow_ups_due_total"]
    out.append(Section(
        "follow-ups-due", f"Follow-ups due (sent {report['after_days']}+ days ago, no answer)"
        + _of(shown, total),
        ("campaign", "contact", "name", "email", "country", "sent_at", "days_since"),
        report["follow_ups_due"]))
    return out


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _json(value: Any, indent: str) -> str:
    """Objects key by key, lists of objects one per line, everything else on one line
    (the big lists go through the C encoder row by row: fast, and still readable)."""
    inner = indent + "  "
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        items = [f"{inner}{_ENCODE(k)}: {_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}" if items else "{}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + _ENCODE(v) for v in value) + f"\n{indent}]"
    return _ENCODE(value)


def _of(shown: int, total: int) -> str:
    return f": the first {shown} of {total} (--limit 0 for all)" if shown < total else ""


def to_json(report: dict[str, Any]) -> str:
    return _json(report, "") + "\n"


def csv_columns(parts: list[Section]) -> list[str]:
    columns: list[str] = ["section"]
    for part in parts:
        columns.extend(c for c in part.columns if c not in columns)
    return columns


def to_csv(report: dict[str, Any]) -> str:
    parts = sections(report)
    columns = csv_columns(parts)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for part in parts:
        for row in part.rows:
            values = {"section": part.name, **row}
            writer.writerow(["" if values.get(c) is None else guard(values.get(c))
                             for c in columns])
    return buffer.getvalue()


def cell(column: str, value: Any, *, show_time: Callable[[str], str] | None = None) -> str:
    """A value as the table and the HTML page print it.

    ``show_time`` turns an ISO time into the reader's (e.g. their time zone, named);
    without it a time is shown as stored, to the minute.
    """
    if value is None:
        return "-"
    if column == "response_rate":
        return f"{value * 100:.1f}%"
    if column == "key" and value == "":
        return "(none)"
    if isinstance(value, str) and column.endswith("_at"):
        return show_time(value) if show_time else value[:16].replace("T", " ")
    return str(value)


def to_table(report: dict[str, Any], *, show_time: Callable[[str], str] | None = None) -> str:
    lines: list[str] = []
    for part in sections(report):
        lines.append(f"== {part.title} ==")
        if not part.rows:
            lines.append("(none)")
            lines.append("")
            continue
        header = [c.replace("_", " ") for c in part.columns]
        body = [[_flat(cell(c, row.get(c), show_time=show_time)) for c in part.columns]
                for row in part.rows]
        widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        for r in body:
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        lines.append("")
    return "\n".join(lines)


def _flat(text: str) -> str:
    """One line, no control characters (names and e-mails come from imported files)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
