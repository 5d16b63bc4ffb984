"""`outreach report`: every figure of a campaign with known outcomes (tests/helpers_report.py),
and the CSV and text table agreeing with the JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from outreach.config import Settings
from outreach.db import open_db
from outreach.errors import InputError, NotFoundError
from outreach.report import build_report, render_report
from outreach.report.formats import sections
from tests.helpers_report import build_known

ALL_BY = ["country", "group", "kind", "committee", "language"]
COUNT_KEYS = ("targeted", "sent", "bounced", "auto_replied", "replied")


def counts(*values: Any) -> dict[str, Any]:
    """targeted, sent, bounced, auto_replied, replied, response_rate, median hours."""
    return dict(zip((*COUNT_KEYS, "response_rate", "median_hours_to_first_reply"), values,
                    strict=True))


def stance_row(ask: str, key: str, **found: int) -> dict[str, Any]:
    row: dict[str, Any] = {"ask": ask, "key": key}
    for column in ("supports", "open", "undecided", "opposes", "no-answer", "none"):
        row[column] = found.get(column.replace("-", "_"), 0)
    return row


def responsive(who: str, kind: str, country: str, group: str, *values: Any) -> dict[str, Any]:
    keys = ("sent", "bounced", "auto_replied", "replied", "response_rate",
            "median_hours_to_first_reply")
    return {"name": f"Contact {who}",
            "email": f"{who}@example.org", "kind": kind, "country": country, "group": group,
            **dict(zip(keys, values, strict=True))}


EXPECTED_BREAKDOWNS = {
    "country": [
        {"key": "BE", **counts(2, 1, 0, 0, 0, 0.0, None)},
        {"key": "DE", **counts(4, 4, 2, 1, 2, 0.5, 7.5)},
        {"key": "FR", **counts(3, 3, 1, 1, 0, 0.0, None)},
        {"key": "IT", **counts(2, 1, 0, 0, 1, 1.0, 30.0)},
    ],
    "group": [
        {"key": "EPP", **counts(6, 6, 1, 2, 3, 0.5, 10.0)},
        {"key": "Renew", **counts(2, 1, 1, 0, 0, 0.0, None)},
        {"key": "S&D", **counts(1, 1, 1, 0, 0, 0.0, None)},
        {"key": "", **counts(2, 1, 0, 0, 0, 0.0, None)},
    ],
    "kind": [
        {"key": "government", **counts(1, 1, 0, 0, 0, 0.0, None)},
        {"key": "mep", **counts(9, 7, 3, 1, 3, 0.4286, 10.0)},
        {"key": "ministry", **counts(1, 1, 0, 1, 0, 0.0, None)},
    ],
    "committee": [
        {"key": "AFET", **counts(1, 1, 0, 0, 1, 1.0, 30.0)},
        {"key": "DROI", **counts(2, 2, 1, 0, 1, 0.5, 10.0)},
        {"key": "LIBE", **counts(2, 2, 1, 0, 1, 0.5, 10.0)},
        {"key": "", **counts(7, 5, 1, 2, 1, 0.2, 5.0)},
    ],
    "language": [
        {"key": "de", **counts(4, 4, 2, 1, 2, 0.5, 7.5)},
        {"key": "en", **counts(3, 2, 1, 0, 0, 0.0, None)},
        {"key": "fr", **counts(2, 2, 0, 1, 0, 0.0, None)},
        {"key": "it", **counts(2, 1, 0, 0, 1, 1.0, 30.0)},
    ],
}
EXPECTED_STANCES = {
    "country": [
        stance_row("caucus", "BE", opposes=1, none=1),
        stance_row("caucus", "DE", supports=1, none=2),
        stance_row("caucus", "FR", none=3),
        stance_row("caucus", "IT", supports=2),
        stance_row("funding", "BE", none=2),
        stance_row("funding", "DE", none=3),
        stance_row("funding", "FR", opposes=1, none=2),
        stance_row("funding", "IT", open=1, none=1),
    ],
    "group": [
        stance_row("caucus", "EPP", supports=2, opposes=1, none=2),
        stance_row("caucus", "Renew", supports=1, none=1),
        stance_row("caucus", "S&D", none=1),
        stance_row("caucus", "", none=2),
        stance_row("funding", "EPP", open=1, none=4),
        stance_row("funding", "Renew", none=2),
        stance_row("funding", "S&D", none=1),
        stance_row("funding", "", opposes=1, none=1),
    ],
}
EXPECTED_RESPONSIVENESS = [
    responsive("a", "mep", "DE", "EPP", 1, 0, 0, 1, 1.0, 10.0),
    responsive("g", "mep", "IT", "EPP", 1, 0, 0, 1, 1.0, 30.0),
    responsive("j", "mep", "DE", "EPP", 2, 1, 1, 1, 0.5, 5.0),
    responsive("b", "mep", "DE", "S&D", 1, 1, 0, 0, 0.0, None),
    responsive("c", "ministry", "FR", "EPP", 1, 0, 1, 0, 0.0, None),
    responsive("d", "government", "FR", "", 1, 0, 0, 0, 0.0, None),
    responsive("e", "mep", "FR", "Renew", 1, 1, 0, 0, 0.0, None),
    responsive("h", "mep", "BE", "EPP", 1, 0, 0, 0, 0.0, None),
]


async def test_every_figure_of_a_known_campaign(db: Settings) -> None:
    known = await build_known()
    report = await build_report([], by=ALL_BY, now=known.now)
    assert report["letters"] == counts(11, 9, 3, 2, 3, 0.3333, 10.0)
    assert report["funnel"] == [
        {"ask": "caucus", "targeted": 11, "sent": 9, "bounced": 3, "auto_replied": 2,
         "replied": 3, "supports": 2},
        {"ask": "funding", "targeted": 10, "sent": 8, "bounced": 3, "auto_replied": 2,
         "replied": 2, "supports": 0},
    ]
    assert report["breakdowns"] == EXPECTED_BREAKDOWNS
    assert [{k: v for k, v in r.items() if k != "contact"}
            for r in report["responsiveness"]] == EXPECTED_RESPONSIVENESS
    assert [r["contact"] for r in report["responsiveness"]] == [
        known.people[r["name"][-1]].id for r in EXPECTED_RESPONSIVENESS]
    assert report["stances"] == EXPECTED_STANCES
    assert report["after_days"] == 14
    assert (report["responsiveness_total"], report["follow_ups_due_total"]) == (8, 2)
    assert report["follow_ups_due"] == [
        {"campaign": "c1", "contact": known.people[who].id, "name": f"Contact {who}",
         "email": f"{who}@example.org", "country": "FR",
         "sent_at": known.sent.isoformat(), "days_since": 30}
        for who in "cd"
    ]
    c1, c2 = report["campaigns"]
    assert (c1["name"], c1["asks"], c1["letters"], c1["sent"]) == (
        "c1", ["caucus", "funding"], 10, 8)
    assert c1["first_sent_at"] == known.sent.isoformat()
    assert c1["last_sent_at"] == (known.now - timedelta(days=2)).isoformat()
    assert [x["language"] for x in c1["languages"]] == ["de", "en", "fr", "it"]
    assert [x["letters"] for x in c1["languages"]] == [3, 3, 2, 2]
    assert (c2["name"], c2["letters"], c2["sent"]) == ("c2", 1, 1)


async def test_one_campaign_and_a_shorter_wait(db: Settings) -> None:
    known = await build_known()
    report = await build_report(["c1"], by=["country"], now=known.now)
    # c2's letter and reply are left out; c1's letter to j is still followed up by c2
    assert report["letters"] == counts(10, 8, 3, 2, 2, 0.25, 20.0)
    assert [r["key"] for r in report["breakdowns"]["country"]] == ["BE", "DE", "FR", "IT"]
    assert report["breakdowns"]["country"][1] == {"key": "DE", **counts(3, 3, 2, 1, 1,
                                                                          0.3333, 10.0)}
    assert [r["contact"] for r in report["follow_ups_due"]] == [
        known.people["c"].id, known.people["d"].id]
    # waiting one day: h's letter (two days old) is due too
    shorter = await build_report(["c1"], after=timedelta(days=1), now=known.now)
    assert [r["email"] for r in shorter["follow_ups_due"]] == [
        "c@example.org", "d@example.org", "h@example.org"]
    # --limit: the lists of targets are cut, their totals say how long they are
    cut = await build_report(["c1"], limit=2, now=known.now)
    assert cut["responsiveness_total"] == 8  # a b c d e g h j: each had a letter sent
    assert cut["follow_ups_due_total"] == 2
    assert [(r["name"], r["email"]) for r in cut["responsiveness"]] == [
        ("Contact a", "a@example.org"), ("Contact g", "g@example.org")]
    cut = await build_report(["c1"], limit=1, after=timedelta(days=1), now=known.now)
    assert [r["name"] for r in cut["follow_ups_due"]] == ["Contact c"]
    assert cut["follow_ups_due_total"] == 3
    with pytest.raises(NotFoundError, match="no campaign named 'nope'"):
        await build_report(["nope"])
    with pytest.raises(InputError, match="unknown breakdown"):
        await build_report([], by=["party"])


def _csv_rows(text: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["section"], []).append(row)
    return out


def _shown(column: str, value: Any) -> str:
    """How the text table shows a JSON value (written independently of the code)."""
    if value is None:
        return "-"
    if column == "response_rate":
        return f"{value * 100:.1f}%"
    if column == "key" and value == "":
        return "(none)"
    if column.endswith("_at"):
        return str(value)[:16].replace("T", " ")
    return str(value)


async def test_csv_and_table_agree_with_json(db: Settings) -> None:
    known = await build_known()
    report = json.loads(await render_report([], format="json", by=ALL_BY, now=known.now))
    assert report["breakdowns"] == EXPECTED_BREAKDOWNS
    text_csv = await render_report([], format="csv", by=ALL_BY, now=known.now)
    table = await render_report([], format="table", by=ALL_BY, now=known.now)
    from_csv = _csv_rows(text_csv)
    parts = sections(report)
    assert {p.name for p in parts if p.rows} == set(from_csv)
    checked = 0
    blocks = {b.split(" ==\n", 1)[0]: b for b in table.split("== ")[1:]}
    for part in parts:
        csv_rows = from_csv.get(part.name, [])
        assert len(csv_rows) == len(part.rows), part.name
        lines = [" ".join(line.split()) for line in blocks[part.title].splitlines()[2:]
                 if line.strip()]
        if part.rows:
            assert len(lines) == len(part.rows), part.name
        for row, got, line in zip(part.rows, csv_rows, lines, strict=False):
            for column in part.columns:
                value = row[column]
                assert got[column] == ("" if value is None else str(value)), (part.name, column)
                checked += 1
            shown = " ".join(_shown(c, row[c]) for c in part.columns)
            assert line == " ".join(shown.split()), part.name
    assert checked > 300
    # the CSV numbers read back equal the JSON numbers
    de = next(r for r in from_csv["by-country"] if r["key"] == "DE")
    assert (int(de["replied"]), float(de["response_rate"]),
            float(de["median_hours_to_first_reply"])) == (2, 0.5, 7.5)


def _seed(settings: Settings) -> None:
    async def body() -> None:
        async with open_db(settings.database_url):
            await build_known()

    asyncio.run(body())


def test_report_command_formats_and_errors(cli: Any, settings: Settings,
                                           workspace: Path) -> None:
    _seed(settings)
    result = cli("report", "--format", "json", "--by", "country", "--by", "group")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["breakdowns"] == {k: EXPECTED_BREAKDOWNS[k] for k in ("country", "group")}
    assert data["letters"]["sent"] == 9
    result = cli("report", "c1", "--by", "kind,language", "--format", "csv", "--out",
                 str(workspace / "r.csv"))
    assert result.exit_code == 0, result.stderr
    rows = _csv_rows((workspace / "r.csv").read_text(encoding="utf-8"))
    assert {"by-kind", "by-language"} <= set(rows)
    assert "by-country" not in rows
    result = cli("report", "c1", "c2")
    assert result.exit_code == 0
    assert re.search(r"^caucus\s+11\s+9\s+3\s+2\s+3\s+2$", result.stdout, re.MULTILINE)
    result = cli("report", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: campaign: no campaign named 'nope'")
    result = cli("report", "--format", "pdf")
    assert result.exit_code == 2
    assert "unknown format" in result.stderr
    result = cli("report", "--by", "party")
    assert result.exit_code == 1
    assert "error: --by: unknown breakdown" in result.stderr
    result = cli("report", "--limit", "1")
    assert result.exit_code == 0
    assert "Responsiveness (who answers, who does not): the first 1 of 8 (--limit 0 for all)" \
        in result.stdout
    result = cli("report", "--after", "soon")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --after:")
