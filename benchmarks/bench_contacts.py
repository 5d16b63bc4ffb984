"""Contacts at scale: import a generated 100,000-row CSV, then list one country.

Run from the repository root::

    python benchmarks/bench_contacts.py [--rows 100000] [--repeat 3] [--write]

Each measurement runs the real command (``python -m outreach …``) in a fresh
workspace as a child process: the import's wall time, rows per second and the
child's peak resident memory, and ``outreach contacts list --country DE --json``
over the imported contacts. Medians of ``--repeat`` runs are reported. The goals
(issue #2): the import in at most 20 s with full validation, the listing in at
most 1.5 s. ``--write`` replaces this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parent.parent
NAME = "bench_contacts"
COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "SE", "PT", "GB", "CH", "NO", "UA"]
KINDS = ["mep", "government", "ministry", "permanent-representation", "national-mp", "other"]
COMMITTEES = ["DROI", "LIBE", "AFET", "JURI", "PETI", "FEMM"]
GROUPS = ["EPP", "S&D", "Renew", "Greens/EFA", "ECR", "The Left", "PfE", "NI"]


def generate(path: Path, rows: int, seed: int = 2) -> None:
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "email",
                "first_name",
                "last_name",
                "kind",
                "organisation",
                "country",
                "political_group",
                "committees",
                "tags",
                "notes",
            ]
        )
        for i in range(rows):
            first = rnd.choice(["Anna", "Zoë", "Jan", "Łukasz", "Björn", "María", "Ioana"])
            last = rnd.choice(["Berg", "Novák", "Dubois", "O'Neill", "Rossi", "Weiß"])
            writer.writerow(
                [
                    f"person{i}@{rnd.choice(['example.org', 'gov.example.org'])}",
                    first,
                    last,
                    rnd.choice(KINDS),
                    "Example organisation",
                    rnd.choice(COUNTRIES),
                    rnd.choice(GROUPS),
                    ";".join(rnd.sample(COMMITTEES, rnd.randint(0, 2))),
                    "bench",
                    "generated",
                ]
            )


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, list[float]] = {"import": [], "list": [], "--version": []}


def outreach(workdir: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Run one command; its wall time is returned, its CPU time noted in CPU."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    cpu = _child_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "outreach", *args], cwd=workdir, env=env, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if args[:2] in (("contacts", "import"), ("contacts", "list")):
        CPU[args[1]].append(_child_cpu() - cpu)
    elif args == ("--version",):
        CPU["--version"].append(_child_cpu() - cpu)
    if done.returncode != 0:
        raise SystemExit(f"outreach {' '.join(args)} failed:\n{done.stderr.decode()}")
    return elapsed, done


def peak_child_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    imports: list[float] = []
    lists: list[float] = []
    starts: list[float] = []
    peak = 0.0
    counted = 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "contacts.csv"
        generate(data, args.rows)
        for run in range(args.repeat):
            work = Path(tmp) / f"run{run}"
            work.mkdir()
            outreach(work, "init")
            seconds, _ = outreach(work, "contacts", "import", str(data))
            imports.append(seconds)
            peak = max(peak, peak_child_mib())
            for _ in range(3):
                seconds, done = outreach(work, "contacts", "list", "--country", "DE", "--json")
                lists.append(seconds)
            counted = done.stdout.count(b'"id":')
            for _ in range(3):
                seconds, _ = outreach(work, "--version")
                starts.append(seconds)
    imp = statistics.median(imports)
    lst = statistics.median(lists)
    lines = [
        f"Command: `python benchmarks/bench_contacts.py --rows {args.rows} --repeat {args.repeat}"
        + (" --write`" if args.write else "`"),
        "",
        "| measurement | median | goal |",
        "|---|---|---|",
        f"| `contacts import` of {args.rows:,} CSV rows (wall, whole command) | {imp:.2f} s "
        f"({args.rows / imp:,.0f} rows/s) | ≤ 20 s |",
        f"| peak resident memory of the import process | {peak:.0f} MiB | — |",
        f"| `contacts list --country DE --json` over {args.rows:,} contacts ({counted:,} listed) "
        f"| {lst:.2f} s | ≤ 1.5 s |",
        f"| CPU time (user + system) of the import / the listing | "
        f"{statistics.median(CPU['import']):.2f} s / {statistics.median(CPU['list']):.2f} s | — |",
        f"| for comparison, `outreach --version` (CLI start-up) | "
        f"{statistics.median(starts):.2f} s wall, "
        f"{statistics.median(CPU['--version']):.2f} s CPU | — |",
        "",
        f"Runs: import {', '.join(f'{x:.2f}' for x in imports)} s; "
        f"list {', '.join(f'{x:.2f}' for x in lists)} s. Machine: {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end (other jobs share it).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(NAME, f"## Contacts: import and list\n\n{text}")



if __name__ == "__main__":
    main()
