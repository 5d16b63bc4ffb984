"""Many senders on PostgreSQL (issue #7), side by side in one run.

Usage::

    python benchmarks/bench_scale.py --postgres postgres://USER@HOST:PORT/postgres
        [--letters 3000] [--db-letters 5000] [--big 100000] [-k 4]
        [--write benchmarks/RESULTS.md]

``--postgres`` (default ``$OUTREACH_TEST_POSTGRES_URL``) is a server where the
benchmark may create and drop its scratch databases. Workspaces live under
``benchmarks/.work/`` (gitignored). Every sender is a real ``outreach campaign
send --yes --json`` process; the relay is ``benchmarks/smtp_sink.py`` in its own
process. Measured:

1. coordination: into a relay that waits 10 ms before each reply, one sender
   with 3K connections against three senders with K each, on the same
   campaign (planned afresh for each), wall time from the first start to the
   last exit (goal: three senders ≥ 0.9 × one);
2. SQLite against PostgreSQL, one sender with 8 connections, the same campaign,
   into the sink without delay (the ledger's cost shows);
3. with ``--big N``: N letters on PostgreSQL, plan time, three senders with 8
   connections each into the sink without delay, send time and the peak RSS of
   each sender.

Letters use the shipped ``mep`` letter with all six asks, 40 recipient domains,
no pacing (``--rate none --per-domain none``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import replace_section  # noqa: E402  (sibling scripts, not a package)
from bench_send import SinkProcess  # noqa: E402

WORK = HERE / ".work"
SECTION = "bench_scale"
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "EL", "PT", "SE", "AT", "IE", "FI", "DK"]
ASKS = ["caucus", "risk-assessment", "funding", "appeals-body", "compensation-fund",
        "transparency"]


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- scratch databases and workspaces ----------------------------------------------------


async def _admin(server: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server.replace("postgresql://", "postgres://", 1))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def pg_database(server: str, name: str) -> str:
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                       f'CREATE DATABASE "{name}"'))
    return urlsplit(server)._replace(path="/" + name).geturl()


def drop_database(server: str, name: str) -> None:
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_workspace(name: str, letters: int, database_url: str | None) -> Path:
    """A workspace (SQLite, or the given database) with ``letters`` targets and ``bench``."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    values = {"sender_address": "campaign@coalition.example"}
    if database_url:
        values["database_url"] = database_url
    code = f"""
import asyncio
from pathlib import Path
from outreach.setup import initialise
from outreach.config import load_settings
from outreach.db import open_db
from outreach.models import Contact
from outreach.campaigns.manage import create_campaign

async def main():
    folder = Path({str(folder)!r})
    await initialise(folder, values={values!r})
    settings = load_settings(folder / "outreach.toml")
    countries = {COUNTRIES!r}
    async with open_db(settings.database_url):
        rows = []
        for n in range({letters}):
            rows.append(Contact(email=f"member{{n}}@parl{{n % 40}}.example",
                name=f"Member {{n}}", first_name="Member", last_name=str(n), kind="mep",
                country=countries[n % len(countries)], organisation="European Parliament",
                committees='["LIBE"]'))
            if len(rows) == 5000:
                await Contact.bulk_create(rows); rows = []
        if rows:
            await Contact.bulk_create(rows)
        await create_campaign("bench", settings=settings, template="mep", asks={ASKS!r})
asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    return folder


# --- running senders ---------------------------------------------------------------------


def env_for(workspace: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "OUTREACH_CONFIG": str(workspace / "outreach.toml"), **(extra or {})}


def plan(workspace: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "outreach", "campaign", "plan", "bench", "--rate",
                    "none", "--per-domain", "none", "--json"], env=env_for(workspace),
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def senders(workspace: Path, port: int, connections: list[int]) -> dict[str, Any]:
    """Run one ``campaign send`` per entry of ``connections`` at once; wall time from the
    first start to the last exit, each one's JSON summary and peak RSS."""
    env = env_for(workspace, {"OUTREACH_SMTP_URL": f"smtp://127.0.0.1:{port}",
                              "OUTREACH_SMTP_BATCH_SIZE": "10"})
    started = time.perf_counter()
    procs = [psutil.Popen([sys.executable, "-m", "outreach", "campaign", "send", "bench",
                           "--yes", "--json", "-k", str(k)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for k in connections]
    peaks = [0] * len(procs)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for n, proc in enumerate(procs):
                try:
                    peaks[n] = max(peaks[n], proc.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    outputs = [proc.communicate() for proc in procs]
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    summaries = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"a sender failed: {err.decode()[-2000:]}")
        summaries.append(json.loads(out))
    counts = summaries[-1]["counts"]
    if counts["sent"] != sum(counts.values()):
        raise SystemExit(f"not everything was sent: {counts}")
    return {"wall": wall, "sent": counts["sent"], "peaks": peaks,
            "each": [s["this_run"]["sent"] for s in summaries],
            "phase": max(s["seconds"] for s in summaries)}


def reset(server: str, name: str, letters: int) -> Path:
    return make_workspace(name, letters, pg_database(server, f"bench_scale_{name}"))


# --- the three measurements ----------------------------------------------------------------


def coordination(server: str, letters: int, k: int) -> dict[str, Any]:
    sink = SinkProcess(delay_ms=10)
    try:
        log(f"coordination: 1 sender x {3 * k} connections, {letters} letters")
        ws = reset(server, "one", letters)
        plan(ws)
        one = senders(ws, sink.port, [3 * k])
        log(f"coordination: 3 senders x {k} connections")
        ws = reset(server, "three", letters)
        plan(ws)
        three = senders(ws, sink.port, [k, k, k])
    finally:
        sink.stop()
        for name in ("one", "three"):
            drop_database(server, f"bench_scale_{name}")
    return {"one": one, "three": three}


def backends(server: str, letters: int) -> dict[str, Any]:
    sink = SinkProcess()
    out: dict[str, Any] = {}
    try:
        for name, url in (("sqlite", None), ("postgres", "pg")):
            log(f"{name}: 1 sender x 8 connections, {letters} letters")
            ws = make_workspace(f"backend-{name}", letters,
                                pg_database(server, "bench_scale_backend") if url else None)
            planned = plan(ws)
            out[name] = {"plan": planned, **senders(ws, sink.port, [8])}
    finally:
        sink.stop()
        drop_database(server, "bench_scale_backend")
    return out


def big(server: str, letters: int) -> dict[str, Any]:
    sink = SinkProcess()
    try:
        log(f"big: {letters} letters on PostgreSQL")
        ws = reset(server, "big", letters)
        planned = plan(ws)
        log("big: 3 senders x 8 connections")
        sent = senders(ws, sink.port, [8, 8, 8])
    finally:
        sink.stop()
        drop_database(server, "bench_scale_big")
    shutil.rmtree(WORK / "big", ignore_errors=True)
    return {"plan": planned, **sent}


# --- report ------------------------------------------------------------------------------


def report(r: dict[str, Any], argv: list[str]) -> str:
    mib = 2**20
    c = r["coordination"]
    k = r["k"]
    one, three = c["one"], c["three"]
    rate1, rate3 = one["sent"] / one["wall"], three["sent"] / three["wall"]
    ceiling = 3 * k / (4 * 0.010)
    lines = [
        "## Many senders on PostgreSQL (issue #7)", "", "```",
        "python benchmarks/bench_scale.py " + " ".join(argv), "```", "",
        "Every sender is an `outreach campaign send --yes --json` process; the relay is "
        "`benchmarks/smtp_sink.py` in its own process; PostgreSQL on the same machine; "
        "shipped `mep` letter, six asks, 40 recipient domains, no pacing, batch 10. "
        "One run, side by side, on 2 cores shared with other work (figures are noisy).",
        "",
        f"- coordination, relay waiting 10 ms before each reply, {one['sent']} letters: "
        f"1 sender × {3 * k} connections {one['wall']:.1f} s = {rate1:.0f} letters/s; "
        f"3 senders × {k} connections {three['wall']:.1f} s = {rate3:.0f} letters/s "
        f"(shares {three['each']}) → **{rate3 / rate1:.2f}×** (goal ≥ 0.9); ceiling "
        f"{3 * k}/(4 × 10 ms) = {ceiling:.0f} letters/s; wall times include process start",
        f"- the same, send phase only (each sender's connections open to its last result, "
        f"the longest of the three): 1 sender {one['phase']:.1f} s, 3 senders "
        f"{three['phase']:.1f} s → **{one['phase'] / three['phase']:.2f}×**",
    ]
    b = r.get("backends")
    if b:
        s, p = b["sqlite"], b["postgres"]
        lines.append(
            f"- one sender × 8 connections, {s['sent']} letters, sink without delay: SQLite "
            f"plan {s['plan']:.1f} s, send phase {s['phase']:.2f} s = "
            f"{s['sent'] / s['phase']:.0f} letters/s; PostgreSQL plan {p['plan']:.1f} s, send "
            f"phase {p['phase']:.2f} s = {p['sent'] / p['phase']:.0f} letters/s → "
            f"PostgreSQL/SQLite = **{s['phase'] / p['phase']:.2f}×** (send), "
            f"{s['plan'] / p['plan']:.2f}× (plan)")
    g = r.get("big")
    if g:
        lines.append(
            f"- {g['sent']} letters on PostgreSQL: `campaign plan` {g['plan']:.0f} s "
            f"({g['sent'] / g['plan']:.0f} letters/s); 3 senders × 8 connections, sink without "
            f"delay: {g['wall']:.0f} s = {g['sent'] / g['wall']:.0f} letters/s (shares "
            f"{g['each']}); peak RSS of each sender "
            + ", ".join(f"{peak / mib:.0f}" for peak in g["peaks"]) + " MiB")
    lines.append(f"- Python {sys.version.split()[0]}")
    return "\n".join(lines)



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL", ""))
    parser.add_argument("--letters", type=int, default=3000)
    parser.add_argument("--db-letters", type=int, default=5000)
    parser.add_argument("--big", type=int, default=0)
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("--write")
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set OUTREACH_TEST_POSTGRES_URL)")
    results: dict[str, Any] = {"k": args.k}
    results["coordination"] = coordination(args.postgres, args.letters, args.k)
    if args.db_letters:
        results["backends"] = backends(args.postgres, args.db_letters)
    if args.big:
        results["big"] = big(args.postgres, args.big)
    argv = ["$OUTREACH_TEST_POSTGRES_URL" if a == args.postgres else a for a in sys.argv[1:]]
    text = report(results, argv)
    sys.stdout.write(text + "\n")
    if args.write:
        replace_section(SECTION, text, Path(args.write))


if __name__ == "__main__":
    main()
