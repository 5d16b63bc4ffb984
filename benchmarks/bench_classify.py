"""Accuracy and speed of reply classification on a labelled corpus, against flufl.bounce alone.

Usage::

    python benchmarks/bench_classify.py CORPUS [--replies DIR] [--flufl-tests DIR]
        [--repeat N] [--write benchmarks/RESULTS.md] [--verbose]

CORPUS is a copy of sisimai's set-of-emails laid out as ``maildir/*.eml``,
``not/*.eml`` and ``labels.tsv`` (file, recipient, reason, status, agent: the
labels Debian's libsisimai-perl gives). ``--replies`` adds person-written
replies (default: tests/fixtures/replies/person, which must all stay replies).
``--flufl-tests`` optionally adds flufl.bounce's own test bounces: the ``tests/``
folder of its sdist (``pip download flufl.bounce --no-binary :all: --no-deps``),
with the addresses its ``test_detectors.py`` table expects.

Categories: a message labelled with a failure reason is a bounce; ``feedback``
a complaint; ``vacation`` an auto-reply; ``delivered`` a success notice (not a
bounce); ``notparsed`` a bounce whose recipient the labeller could not read.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from _results import replace_section
from flufl.bounce import all_failures

from outreach.errors import InputError
from outreach.replies import Inbound, classify, parse_message

HERE = Path(__file__).resolve().parent
DEFAULT_REPLIES = HERE.parent / "tests" / "fixtures" / "replies" / "person"
SECTION = "bench_classify"
NON_BOUNCE_REASONS = {"feedback", "vacation", "delivered"}


@dataclass
class Sample:
    name: str
    raw: bytes
    reason: str  # the labelled reason, or "person" / "not-bounce"
    recipients: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)

    @property
    def family(self) -> str:
        return re.sub(r"-\d+\.eml$", "", self.name)


def load_corpus(corpus: Path) -> list[Sample]:
    labels: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (corpus / "labels.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            labels[row["file"]].append(row)
    samples = []
    for path in sorted((corpus / "maildir").glob("*.eml")):
        rows = labels.get(path.name, [])
        reasons = {r["reason"] for r in rows} or {"unlabelled"}
        reason = next((r for r in ("feedback", "vacation", "delivered") if r in reasons), "")
        reason = reason or ("notparsed" if reasons == {"notparsed"} else sorted(reasons)[0])
        samples.append(
            Sample(
                name=path.name,
                raw=path.read_bytes(),
                reason=reason,
                recipients={r["recipient"].lower() for r in rows if "@" in r["recipient"]},
                statuses={r["status"] for r in rows if r["status"]},
            )
        )
    for path in sorted((corpus / "not").glob("*.eml")):
        samples.append(Sample(name=f"not/{path.name}", raw=path.read_bytes(), reason="not-bounce"))
    return samples


def load_dir(folder: Path, reason: str, prefix: str) -> list[Sample]:
    return [
        Sample(name=f"{prefix}/{p.name}", raw=p.read_bytes(), reason=reason)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (p.suffix in {".eml", ".msg", ".txt"} or p.suffix == "")
    ]


_FLUFL_ROW = re.compile(
    r"\(\s*'\w+',\s*'([\w.]+)',\s*\[([^\]]*)\],\s*(True|False)\s*\)", re.DOTALL
)


def load_flufl_tests(tests_dir: Path) -> list[Sample]:
    """flufl.bounce's sdist ``tests/``: data/*.txt with the DETECTORS table of test_detectors.py.

    Only rows that expect at least one address are used (the others say what one
    detector must ignore, not what the message is).
    """
    table = (tests_dir / "test_detectors.py").read_text(encoding="utf-8")
    expected: dict[str, tuple[set[str], bool]] = {}
    for name, addrs, temporary in _FLUFL_ROW.findall(table):
        found = {a.lower() for a in re.findall(r"b'([^']+)'", addrs)}
        if found:
            old = expected.get(name, (set(), False))
            expected[name] = (old[0] | found, old[1] or temporary == "True")
    return [
        Sample(
            name=f"flufl/{name}",
            raw=(tests_dir / "data" / name).read_bytes(),
            reason="flufl-bounce",
            recipients=addrs,
            statuses={"4.0.0" if temporary else "5.0.0"},
        )
        for name, (addrs, temporary) in sorted(expected.items())
        if (tests_dir / "data" / name).exists()
    ]


#: why a family of corpus messages is missed (checked by reading them); printed next to misses
FAMILY_NOTES = {
    "lhost-fml": "fml mailing-list software refusing a non-member's post: plain text from the "
    "list's admin address, no mail-system signal, so it stays a reply (by design: a message "
    "that may be a person's is never silently called a bounce)",
    "lhost-kddi": "Japanese-only carrier notices (subject メールエラー通知, sender no-reply@): no "
    "signal in the languages we read, so they stay replies",
    "lhost-sendmail-14": "a person forwarding a bounce (\"Fwd: Returned mail\"): kept as a reply "
    "on purpose",
    "lhost-exim-03": "anonymisation left X-Failed-Recipients and the text naming different "
    "addresses; we trust the header, the label the text",
    "lhost-office365-04": "the label takes a mailto: variant of the address that differs from the "
    "one in the report",
    "lhost-postfix-50": "a bounce of a bounce: the label is the recipient inside the enclosed "
    "bounce; we report the address the outer notice failed to reach",
    "not/rb-issue-368-bug.eml": "a postmaster's \"reject reason: Mailbox full\" notice sent to a "
    "bounces+ address: a bounce by its own text (flufl.bounce agrees), though the corpus files "
    "it under not/",
    "hard/soft": "notices with no status code of their own (the labeller's x.0.9xx codes are its "
    "own inventions): the labels call an expired message 4.0.947 for Exim but 5.0.947 for Gmail "
    "and v5sendmail; we follow the code in the notice, else its words (a full mailbox and "
    "\"will keep trying\" are soft, the rest hard)",
}


def run_ours(samples: list[Sample]) -> dict[str, Inbound | None]:
    out: dict[str, Inbound | None] = {}
    for s in samples:
        try:
            out[s.name] = classify(parse_message(s.raw, source=s.name))
        except InputError:
            out[s.name] = None
    return out


def run_flufl(samples: list[Sample]) -> dict[str, tuple[set[str], set[str]]]:
    out = {}
    for s in samples:
        msg = message_from_bytes(s.raw, policy=policy.compat32)
        try:
            temporary, permanent = all_failures(msg)
        except Exception:
            temporary, permanent = frozenset(), frozenset()

        def text(values: frozenset[bytes]) -> set[str]:
            return {v.decode("utf-8", "replace").lower().strip("<>") for v in values}

        out[s.name] = (text(temporary), text(permanent))
    return out


def timed(
    funcs: list[Callable[[list[Sample]], object]], samples: list[Sample], repeat: int
) -> list[float]:
    """Median messages/second of each function, the runs interleaved (a, b, a, b, …) so that
    a change in the machine's load affects both alike."""
    rates: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeat):
        for func, found in zip(funcs, rates, strict=True):
            start = time.perf_counter()
            func(samples)
            found.append(len(samples) / (time.perf_counter() - start))
    return [statistics.median(r) for r in rates]


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f}%)" if whole else "0/0"


def expected_kind(sample: Sample) -> str:
    if sample.statuses:
        first = sorted(sample.statuses)[-1][:1]  # a 5 wins over a 4
        return {"5": "hard-bounce", "4": "soft-bounce"}.get(first, "")
    return ""


def report(args: argparse.Namespace) -> str:
    corpus = Path(args.corpus)
    samples = load_corpus(corpus)
    replies = load_dir(Path(args.replies), "person", "person") if args.replies else []
    flufl_tests = load_flufl_tests(Path(args.flufl_tests)) if args.flufl_tests else []
    everything = samples + replies + flufl_tests
    ours = run_ours(everything)
    flufl = run_flufl(everything)
    lines: list[str] = []
    misses: dict[str, list[str]] = defaultdict(list)

    bounces = [s for s in samples if s.reason not in NON_BOUNCE_REASONS | {"not-bounce"}]
    with_rcpt = [s for s in bounces if s.recipients]
    found = [s for s in bounces if (i := ours[s.name]) is not None and i.is_bounce]
    right = [
        s for s in with_rcpt
        if (i := ours[s.name]) is not None and i.is_bounce
        and s.recipients <= set(i.failed_addresses)
    ]
    f_found = [s for s in bounces if flufl[s.name][0] | flufl[s.name][1]]
    f_right = [s for s in with_rcpt if s.recipients <= (flufl[s.name][0] | flufl[s.name][1])]
    for s in with_rcpt:
        i = ours[s.name]
        if s not in right:
            got = "not parsed" if i is None else f"{i.kind} {i.failed_addresses[:3]}"
            misses["bounce: wrong or missing failed address"].append(
                f"{s.name}: want {sorted(s.recipients)}, got {got}"
            )
    graded = [s for s in right if expected_kind(s)]
    agree = [s for s in graded if (i := ours[s.name]) is not None and i.kind == expected_kind(s)]
    f_graded = [s for s in f_right if expected_kind(s)]
    f_agree = [
        s for s in f_graded
        if (bool(flufl[s.name][1]) and expected_kind(s) == "hard-bounce")
        or (not flufl[s.name][1] and expected_kind(s) == "soft-bounce")
    ]
    for s in graded:
        if s not in agree:
            i = ours[s.name]
            misses["bounce: hard/soft differs from the label"].append(
                f"{s.name}: label {sorted(s.statuses)}, ours {i.kind if i else '-'} "
                f"{i.dsn_status if i else ''}"
            )
    notparsed = [s for s in bounces if s.reason == "notparsed"]

    autos = [s for s in samples if s.reason == "vacation" or s.name.startswith("rfc3834-")]
    autos_ok = [s for s in autos if (i := ours[s.name]) is not None and i.kind == "auto-reply"]
    complaints = [s for s in samples if s.reason == "feedback"]
    compl_ok = [s for s in complaints if (i := ours[s.name]) is not None and i.kind == "complaint"]
    for group, ok, want in ((autos, autos_ok, "auto-reply"), (complaints, compl_ok, "complaint")):
        for s in group:
            if s not in ok:
                i = ours[s.name]
                misses[f"{want} not recognised"].append(f"{s.name}: got {i.kind if i else '-'}")

    non_bounces = [s for s in samples if s.reason in NON_BOUNCE_REASONS | {"not-bounce"}]
    non_bounces += replies
    wrong = [s for s in non_bounces if (i := ours[s.name]) is not None and i.is_bounce]
    f_wrong = [s for s in non_bounces if flufl[s.name][0] | flufl[s.name][1]]
    for s in wrong:
        misses["non-bounce called a bounce"].append(s.name)
    person_ok = [s for s in replies if (i := ours[s.name]) is not None and i.kind == "reply"]
    for s in replies:
        if s not in person_ok:
            i = ours[s.name]
            misses["person reply not kept as a reply"].append(
                f"{s.name}: got {i.kind if i else '-'}"
            )

    repeat = args.repeat
    ours_rate, flufl_rate = timed([run_ours, run_flufl], everything, repeat)

    def goal(ok: bool) -> str:
        return "goal met" if ok else "GOAL MISSED"

    lines += [
        f"corpus: {len(samples)} messages ({len(bounces)} bounces, {len(complaints)} complaints, "
        f"{len(autos)} auto-replies, {len(non_bounces) - len(replies)} other non-bounces), "
        f"plus {len(replies)} person-written replies"
        + (f" and {len(flufl_tests)} flufl.bounce test messages" if flufl_tests else ""),
        "",
        "| measure | outreach | flufl.bounce alone |",
        "| --- | --- | --- |",
        f"| bounces found as bounces | {pct(len(found), len(bounces))} | "
        f"{pct(len(f_found), len(bounces))} |",
        f"| bounces with the right failed address (labelled recipient) | "
        f"{pct(len(right), len(with_rcpt))} — {goal(len(right) >= 0.95 * len(with_rcpt))} "
        f"(≥ 95%) | {pct(len(f_right), len(with_rcpt))} |",
        f"| hard/soft agrees with the label's status class (of right-address bounces) | "
        f"{pct(len(agree), len(graded))} | {pct(len(f_agree), len(f_graded))} |",
        f"| unlabelled bounces (`notparsed`) found as bounces | "
        f"{pct(sum(1 for s in notparsed if s in found), len(notparsed))} | "
        f"{pct(sum(1 for s in notparsed if s in f_found), len(notparsed))} |",
        f"| auto-replies recognised | {pct(len(autos_ok), len(autos))} | n/a |",
        f"| complaints (ARF) recognised | {pct(len(compl_ok), len(complaints))} | n/a |",
        f"| non-bounces called bounces (corpus non-bounces + person replies) | "
        f"{pct(len(wrong), len(non_bounces))} — {goal(not wrong)} (none) | "
        f"{pct(len(f_wrong), len(non_bounces))} |",
        f"| person replies kept as replies | {pct(len(person_ok), len(replies))} | n/a |",
        f"| speed, parse + classify (median of {repeat}, interleaved) | {ours_rate:,.0f} msg/s | "
        f"{flufl_rate:,.0f} msg/s (parse + all_failures) |",
    ]
    if flufl_tests:
        ft_right = [
            s for s in flufl_tests
            if (i := ours[s.name]) is not None and i.is_bounce
            and s.recipients <= set(i.failed_addresses)
        ]
        ft_flufl = [
            s for s in flufl_tests if s.recipients <= (flufl[s.name][0] | flufl[s.name][1])
        ]
        lines.append(
            f"| flufl.bounce's own test bounces with the right failed address | "
            f"{pct(len(ft_right), len(flufl_tests))} | {pct(len(ft_flufl), len(flufl_tests))} "
            f"(its own test suite) |"
        )
        for s in flufl_tests:
            if s not in ft_right:
                i = ours[s.name]
                misses["flufl.bounce test bounce: wrong or missing failed address"].append(
                    f"{s.name}: want {sorted(s.recipients)}, got "
                    f"{'not parsed' if i is None else f'{i.kind} {i.failed_addresses[:3]}'}"
                )
    lines.append("")
    if misses:
        lines.append("Misses, by kind and message:")
        lines.append("")
        for what, items in misses.items():
            families: dict[str, int] = defaultdict(int)
            for item in items:
                families[re.sub(r"-\d+\.eml.*$", "", item.split(":")[0])] += 1
            summary = ", ".join(f"{k} ×{v}" for k, v in sorted(families.items()))
            lines.append(f"- {what} ({len(items)}): {summary}")
            if args.verbose:
                lines += [f"    - {item}" for item in items]
        notes = [
            (key, note)
            for key, note in FAMILY_NOTES.items()
            if any(key in item for items in misses.values() for item in items)
            or (key == "hard/soft" and "bounce: hard/soft differs from the label" in misses)
        ]
        if notes:
            lines += ["", "Why (read from the messages):", ""]
            lines += [f"- {key}: {note}" for key, note in notes]
    return "\n".join(lines)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="set-of-emails folder (maildir/, not/, labels.tsv)")
    parser.add_argument("--replies", default=str(DEFAULT_REPLIES))
    parser.add_argument("--flufl-tests", default="")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", default="")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    body = report(args)
    print(body)
    if args.write:
        note = ""
        if args.flufl_tests:
            note = (
                "flufl.bounce's test messages: the `tests/` folder of its sdist, from "
                "`pip download flufl.bounce --no-binary :all: --no-deps` (Apache-2.0; not "
                "committed here).\n\n"
            )
        command = "python " + " ".join(sys.argv)
        replace_section(SECTION, f"## Reply classification\n\n```\n{command}\n```\n\n{note + body}",
                        Path(args.write))


if __name__ == "__main__":
    main()
