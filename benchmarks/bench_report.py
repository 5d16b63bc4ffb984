"""`outreach report` at scale: 100,000 contacts, their letters, replies and stances.

Run from the repository root::

    python benchmarks/bench_report.py [--contacts 100000] [--repeat 5] [--write]

A fresh workspace (``outreach init``) is filled with bulk inserts (sqlite3,
one transaction): the contacts, one campaign with six asks and a letter to
each contact, its stored message included (``--message-bytes``, 5,000 by default, so
the rows are as long as real ones) (92 % sent, 3 % refused by the relay, the rest planned or
skipped), replies (10 % of the letters answered by a person, 15 %
auto-replied, 5 % bounced) and stances (one or two per replying target).
Then the real command runs as a child process (``python -m outreach report
--by country --by group --format F --out FILE``) for each format, ``--repeat``
times, interleaved; the medians are reported beside ``outreach --version``
(the CLI's start-up alone). The goal (issue #6): the whole command in ≤ 2 s.
``--write`` replaces this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parent.parent
NAME = "bench_report"
FORMATS = ("json", "csv", "table", "html")
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "SE", "PT", "GB", "CH", "NO", "UA"]
KINDS = ["mep", "government", "ministry", "permanent-representation", "national-mp"]
GROUPS = ["EPP", "S&D", "Renew", "Greens/EFA", "ECR", "The Left", "PfE", "NI", ""]
COMMITTEES = ["DROI", "LIBE", "AFET", "JURI", "PETI", "FEMM"]
ASKS = ["caucus", "risk-assessment", "funding", "appeals-body", "compensation-fund",
        "transparency"]
STANCES = ["supports", "open", "undecided", "opposes", "no-answer"]


def ts(when: datetime) -> str:
    """A timestamp as Tortoise stores it in SQLite."""
    return when.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")


def fill(db: Path, contacts: int, message_bytes: int, seed: int = 6) -> dict[str, int]:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=40)
    conn = sqlite3.connect(db)
    counts = {"contacts": contacts, "letters": 0, "replies": 0, "stances": 0}
    with conn:
        conn.execute(
            "INSERT INTO campaign (id, name, template, asks, audience, from_address, reply_to, "
            "state, pacing, pause_reason, created_at, updated_at) VALUES "
            "(1, 'big', 'mep', ?, '{}', '', '', 'sending', '{}', '', ?, ?)",
            (json.dumps(ASKS), ts(start), ts(start)))
        people, letters, replies, stances = [], [], [], []
        message = rnd.randbytes(message_bytes)  # stored letters make the rows long
        for i in range(1, contacts + 1):
            lang = rnd.choice(["de", "en", "fr", "it", "es", "pl"])
            people.append((
                i, f"person{i}@example.org", f"Person {i}", rnd.choice(KINDS),
                rnd.choice(COUNTRIES), lang, rnd.choice(GROUPS),
                json.dumps(rnd.sample(COMMITTEES, rnd.randint(0, 2))), ts(start), ts(start)))
            roll = rnd.random()
            state = ("sent" if roll < 0.92 else "failed" if roll < 0.95 else
                     "planned" if roll < 0.98 else "skipped")
            sent_at = start + timedelta(minutes=i % 20_000) if state == "sent" else None
            letters.append((i, 1, i, f"person{i}@example.org", "example.org", lang,
                            "Interpol reform", message, f"<m{i}@bench>", f"t{i}", state,
                            ts(start), ts(sent_at) if sent_at else None, ts(start), ts(start)))
            if sent_at is None:
                continue
            answer = rnd.random()
            kinds = []
            if answer < 0.10:
                kinds.append("reply")
            elif answer < 0.25:
                kinds.append("auto-reply")
            elif answer < 0.30:
                kinds.append("hard-bounce")
            for kind in kinds:
                received = sent_at + timedelta(hours=rnd.uniform(1, 240))
                replies.append((len(replies) + 1, f"<r{i}@bench>", kind, i, 1, i,
                                f"person{i}@example.org", "Re: Interpol reform",
                                "Thank you.", ts(received), ts(received)))
                if kind == "reply":
                    for ask in rnd.sample(ASKS, rnd.randint(1, 2)):
                        stances.append((i, 1, ask, rnd.choice(STANCES), ts(received)))
        conn.executemany(
            "INSERT INTO contact (id, email, name, kind, country, language, political_group, "
            "committees, first_name, last_name, honorific, role, organisation, national_party, "
            "tags, notes, source_file, created_at, updated_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', '', '', '[]', '', '', ?, ?)", people)
        conn.executemany(
            "INSERT INTO delivery (id, campaign_id, contact_id, recipient, domain, language, "
            "subject, message, message_id, token, state, scheduled_at, sent_at, attempts, "
            "smtp_text, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '', ?, ?)",
            letters)
        conn.executemany(
            "INSERT INTO reply (id, message_id, kind, contact_id, campaign_id, delivery_id, "
            "from_address, subject, body, received_at, created_at, matched_by, "
            "failed_address, dsn_status, return_date, opt_out_request, reviewed, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'token', '', '', '', 0, 0, '')", replies)
        conn.executemany(
            "INSERT INTO stance (contact_id, campaign_id, ask, stance, recorded_at, source, "
            "note, recorded_by) VALUES (?, ?, ?, ?, ?, 'reply', '', 'bench')", stances)
    conn.close()
    counts.update(letters=len(letters), replies=len(replies), stances=len(stances))
    return counts


def outreach(work: Path, *args: str) -> tuple[float, float]:
    """Run ``python -m outreach ARGS`` in ``work``: (wall seconds, child CPU seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "outreach", *args], cwd=work, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system)


async def in_process(work: Path) -> tuple[float, float]:
    """The queries and the arithmetic alone, in this process: (load s, compute s)."""
    from outreach.config import load_settings
    from outreach.db import open_db
    from outreach.report import _no_gc
    from outreach.report.compute import Options, compute
    from outreach.report.queries import load_dataset

    settings = load_settings(work / "outreach.toml")
    async with open_db(settings.database_url):
        with _no_gc():  # as the command runs them
            t0 = time.perf_counter()
            data = await load_dataset([])
            t1 = time.perf_counter()
            compute(data, Options(by=("country", "group")))
            t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--message-bytes", type=int, default=5000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {f: [] for f in (*FORMATS, "--version")}
    cpus: dict[str, list[float]] = {f: [] for f in walls}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "outreach", "init"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        counts = fill(work / "outreach.db", args.contacts, args.message_bytes)
        fill_seconds = time.perf_counter() - t0
        for _ in range(args.repeat):  # interleaved: every format sees the same load
            for fmt in FORMATS:
                out = work / f"report.{fmt}"
                wall, cpu = outreach(work, "report", "--by", "country", "--by", "group",
                                     "--format", fmt, "--out", str(out))
                walls[fmt].append(wall)
                cpus[fmt].append(cpu)
                sizes[fmt] = out.stat().st_size
            wall, cpu = outreach(work, "--version")
            walls["--version"].append(wall)
            cpus["--version"].append(cpu)
        loads = [asyncio.run(in_process(work)) for _ in range(3)]
        check = json.loads((work / "report.json").read_text(encoding="utf-8"))
    med = {k: statistics.median(v) for k, v in walls.items()}
    lines = [
        f"Command: `python benchmarks/bench_report.py --contacts {args.contacts} "
        f"--repeat {args.repeat} --message-bytes {args.message_bytes}"
        + (" --write`" if args.write else "`"),
        "",
        f"Data (bulk-inserted in {fill_seconds:.1f} s): {counts['contacts']:,} contacts, "
        f"one campaign with six asks and {counts['letters']:,} letters (each with a stored "
        f"message of {args.message_bytes:,} bytes, as after planning), "
        f"{counts['replies']:,} replies (person, auto, bounce), {counts['stances']:,} stances. "
        f"The report saw {check['letters']['sent']:,} sent, {check['letters']['replied']:,} "
        f"replied, {check['responsiveness_total']:,} targets in the responsiveness table and "
        f"{check['follow_ups_due_total']:,} follow-ups due (each list cut at the default "
        f"`--limit 100` rows).",
        "",
        "| `outreach report --by country --by group --format F --out FILE` | median wall | "
        "median CPU | less the start-up | output | goal |",
        "|---|---|---|---|---|---|",
    ]
    for fmt in FORMATS:
        lines.append(f"| `--format {fmt}` | {med[fmt]:.2f} s | "
                     f"{statistics.median(cpus[fmt]):.2f} s | {med[fmt] - med['--version']:.2f} s "
                     f"| {sizes[fmt] / 1e6:.1f} MB | ≤ 2 s "
                     f"{'met' if med[fmt] <= 2 else 'MISSED'} |")
    lines += [
        f"| for comparison, `outreach --version` (CLI start-up) | {med['--version']:.2f} s | "
        f"{statistics.median(cpus['--version']):.2f} s | — | — | — |",
        "",
        f"In process (median of 3): reading (the queries and building the rows) "
        f"{statistics.median(x[0] for x in loads):.2f} s, the arithmetic "
        f"{statistics.median(x[1] for x in loads):.2f} s; the rest of the command's time is "
        f"the CLI's start-up (the `--version` line) and writing the file.",
        "",
        "Runs (s): " + "; ".join(f"{k} {', '.join(f'{x:.2f}' for x in v)}"
                                 for k, v in walls.items()) + ".",
        f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end "
        f"(other jobs share it); Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(NAME, f"## Reports\n\n{text}")



if __name__ == "__main__":
    main()
