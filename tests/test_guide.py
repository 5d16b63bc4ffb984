"""The user guide cannot drift from the code.

``test_first_campaign_replays`` runs every ``$ outreach …`` line of
docs/guide/first-campaign.md, in order, in a fresh folder, against the test mail stack
(Postfix's submission port as the relay, Dovecot over IMAPS as the reply mailbox), and
checks each exit code and the output lines the guide shows beneath the command. Between
the real send and ``replies fetch`` a target "answers" by mail, as a person would.

``test_every_command_in_the_guides_exists`` checks that every ``outreach …`` the guides
mention is a command whose ``--help`` works, and that every full command line in their
code blocks parses (options and arguments known to the command).

How the guide is written for this (see its last section):
- commands sit in ```console blocks as ``$ outreach …`` (a trailing ``\\`` continues the
  line; ``NAME=value outreach …`` sets a variable for that command);
- the lines under a command are output it must print (stdout or stderr), compared with
  runs of spaces collapsed; ``…`` stands for any text; ``(exit status N)`` is the exit
  status expected instead of 0;
- ``$NAME`` in a command is an environment variable the guide asks the reader to set.
"""

from __future__ import annotations

import asyncio
import csv
import email.utils
import html.parser
import os
import shlex
import shutil
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import Mailstack
from helpers_guide import (
    VARIABLE,
    Step,
    argv_of,
    command_lines,
    expected_pattern,
    mentions,
    normalise,
    parse_steps,
)
from helpers_mailstack import imap_close, imap_login, send_plain, token
from typer.testing import CliRunner

from outreach.cli import LAZY, app, load_command

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "docs" / "guide"
FIRST = GUIDES / "first-campaign.md"
#: the files the guide has the reader copy from the clone into the campaign folder
EXAMPLE_FILES = ("contacts/example-meps.xml", "contacts/example-meps.jsonld")
#: the address of the guide's sender and of the target who answers (as in the guide)
SENDER = "campaign@example.com"
ANSWERING = "elise.moreau@example.org"


# --- the "human" who answers ---------------------------------------------------------


def message_ids(workspace: Path, env: dict[str, str], campaign: str) -> dict[str, str]:
    """recipient → Message-ID of each letter of ``campaign`` (from its preview)."""
    folder = workspace.parent / f"ids-{campaign}"
    done = subprocess.run(
        [sys.executable, "-m", "outreach", "campaign", "preview", campaign, "--out",
         str(folder)], cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with open(folder / "schedule.csv", encoding="utf-8", newline="") as fh:
        return {row["recipient"]: row["message_id"] for row in csv.DictReader(fh)}


async def _wait_and_copy(stack: Mailstack, folder: str, searches: list[tuple[str, ...]],
                         copy: list[bool], timeout: float = 30.0) -> None:
    """Wait until each search finds a message in INBOX; copy those marked into ``folder``."""
    client = await imap_login(stack)
    try:
        deadline = time.monotonic() + timeout
        found: list[str] = []
        for criteria in searches:
            while True:
                response = await client.search(*criteria)
                numbers = response.lines[0].decode().split() if response.lines else []
                if numbers:
                    found.append(numbers[-1])
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"no mail in INBOX for {criteria} within {timeout:.0f} s")
                await asyncio.sleep(0.2)
                await client.noop()
        picked = [n for n, wanted in zip(found, copy, strict=True) if wanted]
        if picked:
            assert (await client.copy(",".join(picked), folder)).result == "OK"
    finally:
        await imap_close(client)


async def _folder(stack: Mailstack, folder: str, *, create: bool) -> None:
    client = await imap_login(stack)
    try:
        if create:
            assert (await client.create(folder)).result == "OK"
        else:
            await client.delete(folder)
    finally:
        await imap_close(client)


def answer_as_a_person(stack: Mailstack, folder: str, ids: dict[str, str]) -> None:
    """Check every letter reached its mailbox, then one target replies to hers.

    The letters and the reply arrive in the stack's shared INBOX; the reply is copied into
    this run's own folder (the guide's mailbox), so the fetch sees only this run's mail.
    """
    reply_to = ids[ANSWERING]
    reply = EmailMessage()
    reply["From"] = f"Élise Moreau <{ANSWERING}>"
    reply["To"] = SENDER
    reply["Subject"] = "Re: your letter on Interpol"
    reply["Date"] = email.utils.formatdate(localtime=False)
    reply["Message-ID"] = email.utils.make_msgid(domain="example.org")
    reply["In-Reply-To"] = reply_to
    reply["References"] = reply_to
    reply.set_content(
        "Dear colleagues,\n\nThank you for your letter. I support the caucus of democratic "
        "states and will raise it with our government. On funding I would like to hear more "
        "before I decide.\n\nÉlise Moreau\n")
    asyncio.run(send_plain(stack, reply, envelope_from=ANSWERING, recipients=[SENDER]))
    searches: list[tuple[str, ...]] = [("HEADER", "Message-ID", mid) for mid in ids.values()]
    searches.append(("HEADER", "In-Reply-To", reply_to))
    asyncio.run(_wait_and_copy(stack, folder, searches, [False] * len(ids) + [True]))


# --- checking what a command did ------------------------------------------------------


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html_report(path: Path, campaign: str) -> None:
    assert path.is_file(), f"the report {path} was not written"
    content = path.read_text(encoding="utf-8")
    assert content.lstrip().lower().startswith("<!doctype html"), content[:80]
    parser = _Html()
    parser.feed(content)
    parser.close()
    assert {"html", "head", "body", "title"} <= set(parser.tags), set(parser.tags)
    assert content.rstrip().endswith("</html>")
    assert campaign in "".join(parser.text), f"{campaign!r} is not named in the report"


def replay_env(stack: Mailstack, folder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    mailbox = urlsplit(stack.imaps_url)._replace(path="/" + folder).geturl()
    env.update({
        # the variables the guide asks the reader to set (its "Replaying this guide")
        "RELAY_URL": stack.submission_url,
        "MAILBOX_URL": mailbox,
        "OUTREACH_SMTP_PASSWORD": stack.password,
        "OUTREACH_IMAP_PASSWORD": stack.password,
        "OUTREACH_SMTP_CA_FILE": str(stack.tls_cert),
        "OUTREACH_IMAP_CA_FILE": str(stack.tls_cert),
        "OUTREACH_PACING_RATE_PER_MINUTE": "6000",
        "OUTREACH_PACING_PER_DOMAIN_PER_HOUR": "36000",
        # a stable, plain terminal for the output checks
        "COLUMNS": "120", "NO_COLOR": "1", "TZ": "UTC", "PYTHONIOENCODING": "utf-8",
    })
    return env


def run_step(step: Step, workspace: Path, env: dict[str, str]) -> str:
    assigned, args = argv_of(step.command, env)
    where = f"{FIRST.name}:{step.line}: $ {step.command}"
    if args[:1] == ["doctor"]:
        probe = subprocess.run([sys.executable, "-m", "outreach", "doctor", "--help"],
                               cwd=workspace, env=env, capture_output=True, text=True,
                               timeout=60)
        if probe.returncode != 0:
            pytest.fail(f"{where}: `outreach doctor` does not exist in this version "
                        f"(its --help exits {probe.returncode}: {probe.stderr.strip()})")
    done = subprocess.run([sys.executable, "-m", "outreach", *args], cwd=workspace,
                          env={**env, **assigned}, capture_output=True, text=True,
                          timeout=90, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == step.status, (
        f"{where}: exit status {done.returncode}, the guide says {step.status}\n{output}")
    lines = [normalise(line) for line in output.splitlines()]
    for wanted in step.expected:
        pattern = expected_pattern(wanted)
        assert any(pattern.match(line) for line in lines), (
            f"{where}: the guide shows\n  {wanted.strip()}\nbut the output was\n{output}")
    return output


def test_first_campaign_replays(mailstack: Mailstack, tmp_path: Path) -> None:
    text = FIRST.read_text(encoding="utf-8")
    steps = parse_steps(text)
    assert len(steps) >= 20, "the guide's console blocks were not found"
    for name in EXAMPLE_FILES:
        assert name in text, f"the guide does not tell the reader to copy {name}"
    workspace = tmp_path / "interpol-campaign"
    workspace.mkdir()
    for name in EXAMPLE_FILES:
        shutil.copy(ROOT / name, workspace)
    folder = f"Guide-{token()}"
    env = replay_env(mailstack, folder)
    asyncio.run(_folder(mailstack, folder, create=True))
    answered = False
    try:
        for step in steps:
            _, args = argv_of(step.command, env)
            if args[:2] == ["replies", "fetch"] and not answered:
                answer_as_a_person(mailstack, folder, message_ids(workspace, env, "spring"))
                answered = True
            run_step(step, workspace, env)
            if args[:1] == ["report"] and "--out" in args:
                check_html_report(workspace / args[args.index("--out") + 1], "spring")
    finally:
        asyncio.run(_folder(mailstack, folder, create=False))
    assert answered, "the guide never runs `outreach replies fetch`"
    ran = [argv_of(s.command, env)[1][:2] for s in steps]
    for needed in (["campaign", "send"], ["replies", "fetch"], ["replies", "set"],
                   ["campaign", "follow-up"], ["report", "spring"], ["doctor"]):
        assert any(r[: len(needed)] == needed for r in ran), f"the guide never runs {needed}"


# --- every command the guides mention exists -----------------------------------------


def _guide_files() -> list[Path]:
    return sorted(GUIDES.glob("*.md"))


@pytest.mark.parametrize("guide", _guide_files(), ids=lambda p: p.name)
def test_every_command_in_the_guides_exists(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    runner = CliRunner()
    checked: set[str] = set()
    found = mentions(text)
    assert found, f"{guide.name} mentions no outreach command"
    for number, words in found:
        parts = words.split()
        if not parts or parts[0].startswith("-"):
            continue
        noun = parts[0]
        assert noun in LAZY, f"{guide.name}:{number}: `outreach {noun}` is not a command"
        command = load_command(noun)
        path = [noun]
        subcommands = getattr(command, "commands", None)
        if subcommands and len(parts) > 1:  # a noun alone (`outreach replies`) is fine
            assert parts[1] in subcommands, (
                f"{guide.name}:{number}: `outreach {words}`: no such {noun} command")
            path.append(parts[1])
        key = " ".join(path)
        if key in checked:
            continue
        checked.add(key)
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{guide.name}:{number}: outreach {key} --help failed"
    for number, line in command_lines(text):
        args = [VARIABLE.sub("x", word) for word in shlex.split(line)]
        if not args or args[0] not in LAZY:
            continue
        # --help is acted on after parsing: an unknown option or command still fails
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (
            f"{guide.name}:{number}: outreach {line}: {result.output.strip()}")


def test_the_guide_reader() -> None:
    text = "\n".join([
        "Prose with `outreach demo`.", "", "```console",
        "$ outreach campaign plan spring \\", "    --rate 20/min", "spring: 4 letters planned",
        "$ OUTREACH_SMTP_URL=capture://x outreach doctor", "✗ sender: …", "(exit status 1)",
        "```", "```sh", "outreach report spring --format html  # a comment", "```", ""])
    first, second = parse_steps(text)
    assert (first.line, first.command, first.expected, first.status) == (
        4, "outreach campaign plan spring --rate 20/min", ["spring: 4 letters planned"], 0)
    assert (second.expected, second.status) == (["✗ sender: …"], 1)
    assert argv_of(second.command, {}) == ({"OUTREACH_SMTP_URL": "capture://x"}, ["doctor"])
    assert argv_of("outreach init --relay $RELAY_URL", {"RELAY_URL": "smtp://h"})[1] == [
        "init", "--relay", "smtp://h"]
    assert expected_pattern("✗ sender: …").match(normalise("✗ sender:   placeholder "))
    assert not expected_pattern("all checks passed").match("2 check(s) failed")
    assert [w for _, w in mentions(text)] == ["demo", "campaign plan", "doctor", "report spring"]
