"""Sending speed, side by side in one run, into the same fast sink.

Usage::

    python benchmarks/bench_send.py [--letters 10000] [--slow-letters 2000]
        [--memory 100000] [--no-mailmerge] [--write benchmarks/RESULTS.md]

In a scratch workspace under ``benchmarks/.work/`` (gitignored) it imports N
synthetic targets over 40 domains, creates a campaign with the shipped ``mep``
letter and all six asks, and measures, against ``benchmarks/smtp_sink.py`` (a
minimal pipelining-capable sink in its own process):

1. ``outreach campaign plan`` (render N letters into the ledger), wall time;
2. ``outreach campaign send --yes -k 8``: the command's wall time and its send
   phase (the ``seconds`` of its ``--json`` summary: connections open to last
   result recorded);
3. a bare aiosmtplib loop over 8 connections sending the same pre-built bytes
   (the transport's ceiling: no ledger, no pacing);
4. mailmerge 2.3.0 (pinned, in its own virtual environment, created here) on the
   same recipients with the same letter text: it renders and sends one message
   per SMTP connection and records nothing;
5. a slow relay (the sink waits 10 ms before each reply): ``send -k 8`` against
   the ceiling K / (4 × 10 ms) (four replies per letter);
6. with ``--memory M``: peak RSS of ``plan`` and of ``send`` for M letters
   against N letters.

Goals (issue #4): send ≥ 0.8 × bare loop and ≥ 4 × mailmerge; plan + send ≥
2 × mailmerge; slow relay ≥ 0.8 × ceiling; peak memory for 100,000 ≤ 1.3 × that
for 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiosmtplib
import psutil
from _results import replace_section

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SECTION = "bench_send"
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "EL", "PT", "SE", "AT", "IE", "FI", "DK"]
K = 8


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def outreach(workspace: Path, *args: str, env: dict[str, str] | None = None,
             measure_memory: bool = False) -> tuple[float, str, int]:
    """Run the CLI; (wall seconds, stdout, peak RSS bytes if measured)."""
    full = {**os.environ, "OUTREACH_CONFIG": str(workspace / "outreach.toml"), **(env or {})}
    started = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-m", "outreach", *args], env=full,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    if measure_memory:
        while proc.poll() is None:
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"outreach {' '.join(args)} failed: {err.decode()}")
    return wall, out.decode(), peak


def make_workspace(name: str, letters: int) -> Path:
    """A fresh workspace with ``letters`` synthetic targets and the campaign ``bench``."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
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
    await initialise(folder, values={{"sender_address": "campaign@coalition.example"}})
    settings = load_settings(folder / "outreach.toml")
    countries = {COUNTRIES!r}
    async with open_db(settings.database_url):
        rows = []
        for n in range({letters}):
            c = countries[n % len(countries)]
            rows.append(Contact(email=f"member{{n}}@parl{{n % 40}}.example", name=f"Member {{n}}",
                first_name="Member", last_name=str(n), kind="mep", country=c,
                organisation="European Parliament", committees='["LIBE"]'))
            if len(rows) == 2000:
                await Contact.bulk_create(rows); rows = []
        if rows:
            await Contact.bulk_create(rows)
        await create_campaign("bench", settings=settings, template="mep",
            asks=["caucus", "risk-assessment", "funding", "appeals-body", "compensation-fund",
                  "transparency"])
asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    return folder


class SinkProcess:
    def __init__(self, delay_ms: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "smtp_sink.py"), "--delay-ms", str(delay_ms)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> int:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return int(out.strip().splitlines()[-1])


def load_letters(workspace: Path) -> list[tuple[str, bytes]]:
    code = f"""
import asyncio, pickle, sys
from outreach.config import load_settings
from outreach.db import open_db
from outreach.models import Delivery
async def main():
    s = load_settings({str(workspace / "outreach.toml")!r})
    async with open_db(s.database_url):
        rows = await Delivery.all().order_by("id").values_list("recipient", "message")
    sys.stdout.buffer.write(pickle.dumps([(r, bytes(m)) for r, m in rows]))
asyncio.run(main())
"""
    import pickle

    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout
    return list(pickle.loads(out))


async def bare_loop(port: int, letters: list[tuple[str, bytes]]) -> float:
    """8 aiosmtplib connections sending pre-built bytes (Date added per letter)."""
    from datetime import UTC, datetime

    from outreach.letters import with_date

    queue = list(reversed(letters))

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        while queue:
            recipient, message = queue.pop()
            await smtp.sendmail("campaign@coalition.example", [recipient],
                                with_date(message, datetime.now(UTC)))
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(K)))
    return time.perf_counter() - started


def mailmerge(port: int, letters: list[tuple[str, bytes]]) -> float:
    """mailmerge 2.3.0 in its own venv, the same recipients and letter text."""
    venv = WORK / "mailmerge-venv"
    exe = venv / "bin" / "mailmerge"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mailmerge==2.3.0"],
                       check=True)
    folder = WORK / "mailmerge"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    first = letters[0][1].decode("utf-8", "replace")
    head, body = first.split("\r\n\r\n", 1)
    kept = re.findall(r"(?mi)^(?:Subject|Content-Type|MIME-Version):.*(?:\r\n[ \t].*)*", head)
    (folder / "template.txt").write_text(
        "TO: {{email}}\nFROM: campaign@coalition.example\n"
        + "\n".join(k.replace("\r\n", "\n") for k in kept) + "\n\n"
        + body.replace("\r\n", "\n").replace("Member 0", "{{name}}"), encoding="utf-8")
    with (folder / "database.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "name"])
        for n, (recipient, _) in enumerate(letters):
            writer.writerow([recipient, f"Member {n}"])
    (folder / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\nratelimit = 0\n")
    started = time.perf_counter()
    subprocess.run([str(exe), "--no-limit", "--no-dry-run", "--output-format", "raw",
                    "--template", "template.txt", "--database", "database.csv",
                    "--config", "server.conf"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def plan_and_send(workspace: Path, port: int, *, memory: bool = False) -> dict[str, float]:
    plan_wall, _, plan_rss = outreach(workspace, "campaign", "plan", "bench", "--rate", "none",
                                      "--per-domain", "none", "--json", measure_memory=memory)
    env = {"OUTREACH_SMTP_URL": f"smtp://127.0.0.1:{port}", "OUTREACH_SMTP_BATCH_SIZE": "10"}
    send_wall, out, send_rss = outreach(workspace, "campaign", "send", "bench", "--yes",
                                        "-k", str(K), "--json", env=env, measure_memory=memory)
    summary = json.loads(out)
    if summary["counts"]["sent"] != sum(summary["counts"].values()):
        raise SystemExit(f"not everything was sent: {summary['counts']}")
    return {"plan": plan_wall, "send_wall": send_wall, "send": float(summary["seconds"]),
            "plan_rss": plan_rss, "send_rss": send_rss, "sent": summary["counts"]["sent"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--slow-letters", type=int, default=2_000)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--no-mailmerge", action="store_true")
    parser.add_argument("--write")
    args = parser.parse_args()
    n = args.letters
    results: dict[str, Any] = {"letters": n}

    log(f"workspace with {n} targets")
    workspace = make_workspace("send", n)
    sink = SinkProcess()
    log("plan + send (outreach)")
    ours = plan_and_send(workspace, sink.port, memory=bool(args.memory))
    results.update(ours)
    letters = load_letters(workspace)
    log("bare aiosmtplib loop")
    results["bare"] = asyncio.run(bare_loop(sink.port, letters))
    if not args.no_mailmerge:
        log("mailmerge 2.3.0")
        results["mailmerge"] = mailmerge(sink.port, letters)
    received = sink.stop()
    results["sink_received"] = received

    log(f"slow relay, {args.slow_letters} letters")
    slow_ws = make_workspace("slow", args.slow_letters)
    slow_sink = SinkProcess(delay_ms=10)
    slow = plan_and_send(slow_ws, slow_sink.port)
    log("slow relay, bare aiosmtplib loop")
    slow["bare"] = asyncio.run(bare_loop(slow_sink.port, load_letters(slow_ws)))
    slow_sink.stop()
    results["slow"] = slow

    if args.memory:
        log(f"memory: {args.memory} letters")
        big_ws = make_workspace("memory", args.memory)
        big_sink = SinkProcess()
        results["big"] = plan_and_send(big_ws, big_sink.port, memory=True)
        big_sink.stop()
        shutil.rmtree(big_ws, ignore_errors=True)

    text = report(results, sys.argv[1:])
    sys.stdout.write(text + "\n")
    if args.write:
        replace_section(SECTION, text, Path(args.write))


def report(r: dict[str, Any], argv: list[str]) -> str:
    n = r["letters"]
    rate = n / r["send"]
    bare = n / r["bare"]
    lines = [
        "## Sending (issue #4)", "", "```",
        "python benchmarks/bench_send.py " + " ".join(argv), "```", "",
        f"- {n} letters (shipped `mep` letter, all six asks, 40 recipient domains), sink: "
        "`benchmarks/smtp_sink.py` in its own process, K = 8 connections, batch 10; "
        "one run, side by side; 2-core machine shared with other work, so figures are noisy",
        f"- `campaign plan`: {r['plan']:.1f} s wall ({n / r['plan']:.0f} letters/s, "
        "including process start)",
        f"- `campaign send -k 8`: send phase {r['send']:.2f} s = **{rate:.0f} letters/s**; "
        f"whole command {r['send_wall']:.1f} s (start-up included)",
        f"- bare aiosmtplib loop, 8 connections, same bytes: {r['bare']:.2f} s = "
        f"{bare:.0f} letters/s → outreach/bare = **{rate / bare:.2f}** (goal ≥ 0.8)",
    ]
    if "mailmerge" in r:
        mm = n / r["mailmerge"]
        both = n / (r["plan"] + r["send_wall"])
        lines += [
            f"- mailmerge 2.3.0: {r['mailmerge']:.1f} s = {mm:.0f} letters/s → send/mailmerge "
            f"= **{rate / mm:.1f}** (goal ≥ 4)",
            f"- plan + send (both whole commands) {r['plan'] + r['send_wall']:.1f} s = "
            f"{both:.0f} letters/s → (plan + send)/mailmerge = **{both / mm:.1f}** (goal ≥ 2)",
        ]
    slow = r["slow"]
    ceiling = K / (4 * 0.010)
    srate = slow["sent"] / slow["send"]
    lines.append(
        f"- slow relay (10 ms before every reply), {slow['sent']} letters: {srate:.0f} letters/s "
        f"against a ceiling of K/(4 × 10 ms) = {ceiling:.0f} → **{srate / ceiling:.2f}** "
        f"(goal ≥ 0.8); the bare aiosmtplib loop on the same slow sink: "
        f"{slow['sent'] / slow['bare']:.0f} letters/s (outreach/bare = "
        f"{srate / (slow['sent'] / slow['bare']):.2f})")
    if "big" in r:
        big = r["big"]
        lines.append(
            f"- peak RSS, {big['sent']} vs {n} letters: plan {big['plan_rss'] / 2**20:.0f} vs "
            f"{r['plan_rss'] / 2**20:.0f} MiB (**{big['plan_rss'] / r['plan_rss']:.2f}×**), "
            f"send {big['send_rss'] / 2**20:.0f} vs {r['send_rss'] / 2**20:.0f} MiB "
            f"(**{big['send_rss'] / r['send_rss']:.2f}×**) (goal ≤ 1.3)")
    lines.append(f"- the sink received {r['sink_received']} messages in the main run "
                 f"(outreach + bare + mailmerge); Python {sys.version.split()[0]}")
    return "\n".join(lines)



if __name__ == "__main__":
    main()
