"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script.

Nothing on the page is fetched: no script, no font, no image, no link to another
site; a Content-Security-Policy (``default-src 'none'``) forbids them anyway. Every
value — names, subjects, reply text — goes through :func:`escape`, so a reply
that contains markup shows it as text, and a control character (a terminal escape,
which HTML does not allow either) shows as U+FFFD. The page prints on A4 (charts kept whole).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from outreach.report.formats import STANCE_COLUMNS, Section, cell, sections
from outreach.report.queries import ReplyExcerpt
from outreach.report.svg import Series, bar_chart

#: turns an ISO time into the reader's (see :func:`outreach.report.formats.cell`)
ShowTime = Callable[[str], str] | None

#: C0 and C1 controls but tab and newline (ESC starts a terminal escape sequence)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``text`` as HTML text: markup escaped, control characters replaced by U+FFFD."""
    return html.escape(_CONTROL.sub("\ufffd", text))


STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d1d1d; background: #fff; margin: 0 auto; max-width: 1100px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 2px solid #4e79a7; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.meta { color: #555; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { max-width: 750px; display: block; margin: .5rem 0 1rem; }
.reply { border-left: 3px solid #59a14f; padding: .2rem .7rem; margin: .6rem 0;
         white-space: pre-wrap; overflow-wrap: anywhere; }
.scroll { max-height: 40rem; overflow: auto; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .scroll { max-height: none; overflow: visible; }
  h2 { break-after: avoid; }
  .chart, tr, .reply { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .chart rect { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
NUMERIC = {"targeted", "sent", "bounced", "auto_replied", "replied", "supports", "letters",
           "response_rate", "median_hours_to_first_reply", "days_since", "contact",
           *STANCE_COLUMNS}
_NUMERIC_CLASS = ' class="n"'
STAGE_LABELS = (("targeted", "targeted"), ("sent", "sent"), ("bounced", "bounced"),
                ("auto_replied", "auto-replied"), ("replied", "replied"))


def _table(part: Section, show_time: ShowTime = None) -> str:
    if not part.rows:
        return '<p class="meta">(none)</p>'
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in part.columns)
    body = []
    for row in part.rows:
        cells = "".join(
            f"<td{_NUMERIC_CLASS if c in NUMERIC else ''}>"
            f"{escape(cell(c, row.get(c), show_time=show_time))}</td>"
            for c in part.columns)
        body.append(f"<tr>{cells}</tr>")
    wrap = ' class="scroll"' if len(part.rows) > 30 else ""
    return (f'<div{wrap}><table id="table-{escape(part.name)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _funnel_chart(report: dict[str, Any]) -> str:
    letters = report["letters"]
    labels = [label for _, label in STAGE_LABELS]
    values = [float(letters[key]) for key, _ in STAGE_LABELS]
    colours = [key for key, _ in STAGE_LABELS]
    for row in report["funnel"]:
        labels.append(f"supports {row['ask']}")
        values.append(float(row["supports"]))
        colours.append("supports")
    return bar_chart("chart-funnel", "Funnel: letters that reached each stage", labels,
                     [Series("sent", "letters", tuple(values), tuple(colours))])


def _breakdown_chart(dimension: str, rows: list[dict[str, Any]], title: str) -> str:
    labels = [cell("key", r["key"]) for r in rows]
    return bar_chart(f"chart-by-{dimension}", title, labels, [
        Series("sent", "sent", tuple(float(r["sent"]) for r in rows)),
        Series("replied", "replied", tuple(float(r["replied"]) for r in rows)),
    ])


def _stance_chart(report: dict[str, Any]) -> str:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STANCE_COLUMNS, 0))
    for row in report["stances"].get("country", []):
        for column in STANCE_COLUMNS:
            totals[row["ask"]][column] += int(row[column])
    asks = [r["ask"] for r in report["funnel"]]
    return bar_chart("chart-stances", "Stance per ask (targets, latest stance)", asks, [
        Series(column, column, tuple(float(totals[ask][column]) for ask in asks))
        for column in STANCE_COLUMNS
    ], stacked=True)


def _campaigns(report: dict[str, Any], show_time: ShowTime = None) -> str:
    items = []
    for c in report["campaigns"]:
        langs = "".join(
            f"<li>{escape(x['language'] or '?')}: {x['letters']} letter(s), for example "
            "the subject "
            f"“{escape(x['subject'])}”</li>" for x in c["languages"])
        items.append(
            f"<li><strong>{escape(c['name'])}</strong> (letter {escape(c['template'])}, "
            f"{escape(c['state'])}; asks: {escape(', '.join(c['asks']) or '-')}): "
            f"{c['letters']} letter(s), {c['sent']} sent; created "
            f"{escape(cell('created_at', c['created_at'], show_time=show_time))}, sent from "
            f"{escape(cell('first_sent_at', c['first_sent_at'], show_time=show_time))} to "
            f"{escape(cell('last_sent_at', c['last_sent_at'], show_time=show_time))}"
            f"<ul>{langs}</ul></li>")
    return f"<ul>{''.join(items)}</ul>" if items else '<p class="meta">(no campaign)</p>'


def _replies(replies: list[ReplyExcerpt], show_time: ShowTime = None) -> str:
    if not replies:
        return '<p class="meta">(no reply yet)</p>'
    out = []
    for r in replies:
        when = ""
        if r.received_at:
            stamp = r.received_at.isoformat(timespec="seconds")
            when = (show_time(stamp) if show_time
                    else r.received_at.isoformat(sep=" ", timespec="minutes"))
        out.append(
            f'<div class="reply" id="reply-{r.id}"><strong>{escape(r.contact)}</strong> '
            f"({escape(r.campaign)}, {escape(when)}) — {escape(r.subject)}\n"
            f"{escape(r.text)}</div>")
    return "".join(out)


def render_html(report: dict[str, Any], replies: list[ReplyExcerpt], *,
                show_time: ShowTime = None) -> str:
    """The whole page (see the module docstring).

    ``show_time`` writes times for the reader (their zone, named); without it they are
    UTC, and the page says so.
    """
    generated = cell("generated_at", report["generated_at"], show_time=show_time)
    if show_time is None:
        generated += " UTC"
    parts = {p.name: p for p in sections(report)}
    names = ", ".join(c["name"] for c in report["campaigns"]) or "no campaign"
    body = [
        f"<h1>Campaign report: {escape(names)}</h1>",
        f'<p class="meta">Generated {escape(generated)}. Every figure counts letters in the '
        "ledger and the replies stored; the definitions are in docs/reports.md.</p>",
        "<h2>Campaigns, letters and dates</h2>", _campaigns(report, show_time),
        "<h2>Funnel</h2>", _funnel_chart(report), _table(parts["letters"], show_time),
        _table(parts["funnel"], show_time),
        "<h2>Response by country and political group</h2>",
    ]
    for dimension, rows in report["breakdowns"].items():
        part = parts[f"by-{dimension}"]
        if dimension in ("country", "group"):
            body.append(_breakdown_chart(dimension, rows, f"{part.title}: sent and replied"))
        body.append(f"<h3>{escape(part.title)}</h3>")
        body.append(_table(part, show_time))
    body += ["<h2>Stances</h2>", _stance_chart(report)]
    for dimension in report["stances"]:
        part = parts[f"stances-by-{dimension}"]
        body += [f"<h3>{escape(part.title)}</h3>", _table(part, show_time)]
    body += [
        f"<h2>{escape(parts['responsiveness'].title)}</h2>",
        _table(parts["responsiveness"], show_time),
        f"<h2>{escape(parts['follow-ups-due'].title)}</h2>",
        _table(parts["follow-ups-due"], show_time),
        f"<h2>Latest replies ({len(replies)})</h2>", _replies(replies, show_time),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Campaign report: {escape(names)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
