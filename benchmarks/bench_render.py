"""CPU cost of building one letter, and proof that every built letter parses back.

Usage::

    python benchmarks/bench_render.py [--letters N] [--repeat R] [--write benchmarks/RESULTS.md]

Builds N letters (default 600) for varied synthetic targets (names with accents,
every kind, every country of the reference data, each shipped letter and
language, all asks) with the shipped templates, R times (default 5), and reports
the median CPU time per letter (``time.process_time``): the whole path, from the
contact to the message bytes (context, Jinja, Markdown, MIME). Side by side, in the
same run, the cost of the MIME assembly alone against the standard library's
``EmailMessage`` (default policy) and the compat32 ``MIMEMultipart`` classes for the
same parts. Every letter of the first round is parsed back with
``email.message_from_bytes(policy=default)`` and its headers and both parts are
compared with what was rendered; any difference fails the run (exit 1), as does a
median above the 1.5 ms budget.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from datetime import date
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from types import SimpleNamespace

from _results import replace_section

from outreach import refdata
from outreach.config import Settings
from outreach.letters import ASKS, Library, Rendered, markdown, mime
from outreach.resources import shipped_templates

SECTION = "bench_render"
BUDGET_MS = 1.5
FIRST = ["Anna", "Jürgen", "Zoë", "Łukasz", "María José", "Søren", "Ioana", "Chloé", "Paolo"]
LAST = ["Novak", "Müller", "García-Pérez", "Ó Súilleabháin", "Rossi", "Kowalski", "Dubois"]
HONORIFICS = ["Ms", "Mr", "Dr", "", "Frau", "M.", "Sra.", "Prof."]
KINDS = [("mep", "Member"), ("mep", "Chair of DROI"), ("ministry", "Minister of Justice"),
         ("government", ""), ("permanent-representation", "Permanent Representative"),
         ("national-mp", "Member of Parliament"), ("other", "")]
COMMITTEES = [[], ["DROI"], ["LIBE", "AFET"], ["DROI", "LIBE"]]


def targets(n: int, start: int = 0) -> list[SimpleNamespace]:
    """n distinct targets; every one has a surname of its own, so no greeting repeats."""
    countries = [c.code for c in refdata.countries()]
    combos = itertools.cycle(itertools.product(FIRST, LAST, HONORIFICS))
    out = []
    for i in range(start, start + n):
        first, last, hon = next(combos)
        last = f"{last}-{i}"
        kind, role = KINDS[i % len(KINDS)]
        country = countries[i % len(countries)]
        out.append(SimpleNamespace(
            id=i, email=f"target{i}@example.org", name=f"{first} {last}", first_name=first,
            last_name=last, honorific=hon, role=role, kind=kind, organisation="Parliament",
            country=country, language=refdata.default_language(country),
            political_group="", national_party="", committees=COMMITTEES[i % len(COMMITTEES)],
        ))
    return out


def build_all(lib: Library, people: list[SimpleNamespace], settings: Settings) -> tuple[
        float, list[tuple[SimpleNamespace, str, Rendered]]]:
    letters = lib.letters()
    out = []
    previous = {"sent_on": date(2026, 11, 16), "subject": "Interpol reform"}
    start = time.process_time()
    for i, person in enumerate(people):
        letter = letters[i % len(letters)]
        mid = f"<outreach.c1.t{person.id}.0123456789ab@example.org>"
        r = letter.render(person, asks=list(ASKS), settings=settings, message_id=mid,
                          previous=previous if letter.spec.follow_up else None,
                          in_reply_to="<outreach.c0.t1.0123456789ab@example.org>"
                          if letter.spec.follow_up else None)
        out.append((person, mid, r))
    return time.process_time() - start, out


def check_round_trip(built: list[tuple[SimpleNamespace, str, Rendered]],
                     settings: Settings) -> list[str]:
    problems = []
    for person, mid, r in built:
        parsed = message_from_bytes(r.message, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        got_to = parsed["To"].addresses[0]
        checks = {
            "Message-ID": (parsed["Message-ID"], mid),
            "Subject": (parsed["Subject"], r.subject),
            "To name": (got_to.display_name, person.name),
            "To addr": (got_to.addr_spec, person.email),
            "From": (parsed["From"].addresses[0].addr_spec, settings.sender.address),
            "MIME-Version": (parsed["MIME-Version"], "1.0"),
            "Content-Language": (parsed["Content-Language"], r.language),
        }
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        if text is None or html is None:
            problems.append(f"{person.email}: missing part")
            continue
        checks["text"] = (str(text.get_content()).replace("\r\n", "\n"), r.text)
        checks["html"] = (str(html.get_content()).replace("\r\n", "\n"), r.html)
        long_line = max(len(line) for line in r.message.split(b"\r\n"))
        checks["line length <= 998"] = (long_line <= 998, True)
        checks["defects"] = ([d for p in parsed.walk() for d in p.defects], [])
        for name, (got, want) in checks.items():
            if got != want:
                problems.append(f"{person.email}: {name}: {str(got)[:80]!r} != {str(want)[:80]!r}")
    return problems


def mime_only(built: list[tuple[SimpleNamespace, str, Rendered]], settings: Settings,
              way: str) -> float:
    sender = settings.sender
    start = time.process_time()
    for person, mid, r in built:
        if way == "outreach":
            mime.build(from_name=sender.name, from_address=sender.address,
                       to_name=person.name, to_address=person.email, subject=r.subject,
                       message_id=mid, text=r.text, html=r.html, language=r.language)
        elif way == "EmailMessage(default)":
            msg = EmailMessage(policy=policy.SMTP)
            msg["From"] = Address(sender.name, addr_spec=sender.address)
            msg["To"] = Address(person.name, addr_spec=person.email)
            msg["Subject"] = r.subject
            msg["Message-ID"] = mid
            msg.set_content(r.text, cte="quoted-printable")
            msg.add_alternative(r.html, subtype="html", cte="quoted-printable")
            msg.as_bytes()
        else:
            outer = MIMEMultipart("alternative")
            outer["From"] = mime.address(sender.name, sender.address)
            outer["To"] = mime.address(person.name, person.email)
            outer["Subject"] = mime._encode(r.subject, "Subject")
            outer["Message-ID"] = mid
            outer.attach(MIMEText(r.text, "plain", "utf-8"))
            outer.attach(MIMEText(r.html, "html", "utf-8"))
            outer.as_bytes()
    return time.process_time() - start



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    settings = Settings()
    lib = Library([shipped_templates()])
    people = targets(args.letters)
    languages = {x.name: x.languages for x in lib.letters()}

    cold, built = build_all(lib, people, settings)  # first round: compiles and fills caches
    problems = check_round_trip(built, settings)
    # every round writes to other people: personal paragraphs are never cached
    runs = [build_all(lib, targets(args.letters, (k + 1) * args.letters), settings)[0]
            for k in range(args.repeat)]
    per_letter = [1000 * t / len(people) for t in runs]
    # the same, parsing each letter's Markdown whole (no block cache), for comparison
    block_render = markdown.render
    markdown.render = markdown.render_whole
    try:
        whole = statistics.median(
            1000 * build_all(lib, targets(args.letters, (k + 100) * args.letters), settings)[0]
            / len(people) for k in range(max(1, args.repeat // 2)))
    finally:
        markdown.render = block_render
    ways = ["outreach", "compat32 MIMEMultipart", "EmailMessage(default)"]
    mime_ms = {w: statistics.median(1000 * mime_only(built, settings, w) / len(built)
                                    for _ in range(args.repeat)) for w in ways}
    fell_back = sum(1 for _, _, r in built if r.fell_back)
    median = statistics.median(per_letter)
    versions = ", ".join(f"{k}: {'/'.join(v)}" for k, v in languages.items())
    lines = [
        f"- letters built per round: {len(people)}, to people not written to before in the "
        f"run ({versions}; all six asks; every country of the reference data, so "
        f"{fell_back} fell back to English)",
        f"- whole build (context + Jinja + Markdown + MIME), median of {args.repeat} rounds: "
        f"**{median:.3f} ms CPU per letter** (budget {BUDGET_MS} ms; rounds: "
        f"{', '.join(f'{x:.3f}' for x in per_letter)})",
        f"- the same with the Markdown parsed whole for every letter (no block cache): "
        f"{whole:.3f} ms per letter",
        f"- first round, cold caches (template compilation included): "
        f"{1000 * cold / len(people):.3f} ms per letter",
        "- MIME assembly alone for the same parts, median ms per letter: "
        + "; ".join(f"{w} {ms:.3f}" for w, ms in mime_ms.items())
        + f" (ratio EmailMessage/outreach: {mime_ms[ways[2]] / mime_ms[ways[0]]:.1f}x)",
        f"- round trip: {len(built)} letters parsed back with "
        f"email.message_from_bytes(policy=default); headers (Message-ID, Subject, To, From, "
        f"MIME-Version, Content-Language), text and HTML parts, line lengths, defects "
        f"compared: {len(problems)} differences",
        f"- Python {sys.version.split()[0]}",
    ]
    body = "\n".join(lines)
    print(body)
    for p in problems[:20]:
        print("  " + p, file=sys.stderr)
    if args.write:
        command = "python benchmarks/bench_render.py " + " ".join(sys.argv[1:])
        replace_section(SECTION, f"## Building letters\n\n```\n{command.strip()}\n```\n\n{body}",
                        Path(args.write))
    if problems or median > BUDGET_MS:
        sys.exit(1)


if __name__ == "__main__":
    main()
