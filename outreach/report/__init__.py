"""``outreach report``: the funnel, response rates, responsiveness, stances and follow-ups due.

:func:`build_report` reads the ledger and the replies (a handful of queries, see
:mod:`outreach.report.queries`) and computes every figure in one pass
(:mod:`outreach.report.compute`); :func:`render_report` gives it as a text table,
CSV, JSON or a self-contained HTML page.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from outreach.errors import InputError
from outreach.report.compute import BREAKDOWNS, DEFAULT_AFTER, DEFAULT_LIMIT, Options, compute
from outreach.report.formats import FORMATS, to_csv, to_json, to_table
from outreach.report.queries import contact_names, load_dataset, recent_replies

__all__ = ["BREAKDOWNS", "DEFAULT_AFTER", "DEFAULT_LIMIT", "FORMATS", "build_report",
           "fill_names", "render_report"]


@contextmanager
def _no_gc() -> Iterator[None]:
    """Hundreds of thousands of small rows, none cyclic: the cycle collector's passes over
    them cost a quarter of the time and free nothing, so it waits until the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _by(by: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for item in by:
        for name in item.split(","):
            folded = name.strip().lower().replace("political-group", "group")
            if folded not in BREAKDOWNS:
                raise InputError(f"unknown breakdown {name.strip()!r} "
                                 f"(one of {', '.join(BREAKDOWNS)})", place="--by")
            if folded not in out:
                out.append(folded)
    return tuple(out) or ("country",)


async def fill_names(report: dict[str, Any]) -> dict[str, Any]:
    """Put the names and addresses into the rows of targets the report lists."""
    rows = [*report["responsiveness"], *report["follow_ups_due"]]
    names = await contact_names(sorted({r["contact"] for r in rows}))
    for row in rows:
        row["name"], row["email"] = names.get(row["contact"], ("", ""))
    return report


async def build_report(
    campaigns: list[str], *, by: list[str] | tuple[str, ...] = ("country",),
    after: timedelta = DEFAULT_AFTER, now: datetime | None = None, limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The report over the named campaigns (every campaign when none is named)."""
    with _no_gc():
        data = await load_dataset(list(campaigns))
        report = compute(data, Options(by=_by(by), after=after, now=now, limit=limit))
    return await fill_names(report)


async def render_report(
    campaigns: list[str], *, format: str = "table", by: list[str] | tuple[str, ...] = (),
    after: timedelta = DEFAULT_AFTER, now: datetime | None = None, limit: int = DEFAULT_LIMIT,
    show_time: Callable[[str], str] | None = None,
) -> str:
    """The report as text in ``format`` (table, csv, json or html).

    ``show_time`` formats the times of the table and the HTML page for their reader
    (see ``cell``); CSV and JSON keep ISO 8601.
    """
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r} (one of {', '.join(FORMATS)})",
                         place="--format")
    if limit < 0:
        raise InputError("give 0 (every row) or more", place="--limit")
    wanted = _by(by)
    if format == "html":  # the page always charts countries and groups
        wanted = tuple(dict.fromkeys(("country", "group", *wanted)))
    with _no_gc():
        data = await load_dataset(list(campaigns))
        report = compute(data, Options(by=wanted, after=after, now=now, limit=limit))
    await fill_names(report)
    if format == "json":
        return to_json(report)
    if format == "csv":
        return to_csv(report)
    if format == "html":
        from outreach.report.html import render_html

        return render_html(report, await recent_replies(data.campaigns), show_time=show_time)
    return to_table(report, show_time=show_time)
