"""Contact status for issue #6: ``status=follow-up-due``, ``contacts list --campaign``, and the
story ``contacts show`` tells (letters, bounces, follow-ups, replies, stances, opt-outs)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outreach import audit
from outreach.config import Settings
from outreach.contacts.manage import opt_out, profile
from outreach.db import open_db
from outreach.errors import SelectionError
from outreach.models import Campaign, Contact, Stance
from outreach.replies.stance import record_stances
from outreach.report.followups import due_contacts
from outreach.selection import parse_where, select_contacts
from tests.helpers_report import build_known, letter, reply


def seed(settings: Settings, body: Any) -> Any:
    async def run() -> Any:
        async with open_db(settings.database_url):
            return await body()

    return asyncio.run(run())


def listed(cli: Any, *args: str) -> list[dict[str, Any]]:
    result = cli("contacts", "list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_status_follow_up_due_and_list_in_a_campaign(cli: Any, settings: Settings) -> None:
    seed(settings, build_known)
    emails = lambda rows: [r["email"][0] for r in rows]  # noqa: E731
    # without a campaign: due in any campaign (h's letter is only two days old)
    assert emails(listed(cli, "--where", "status=follow-up-due")) == ["c", "d"]
    assert emails(listed(cli, "--where", "status=follow-up-due", "--where",
                         "status=suppressed")) == ["b", "c", "d"]
    # in one campaign: statuses read in that campaign itself
    assert emails(listed(cli, "--campaign", "c1", "--where", "status=replied")) == ["a", "g"]
    assert emails(listed(cli, "--campaign", "c2", "--where", "status=replied")) == ["j"]
    assert emails(listed(cli, "--campaign", "c1", "--where", "status=replied", "--where",
                         "stance.caucus=supports")) == ["a", "g"]
    # b's address is suppressed: that outranks everything, in every campaign
    assert emails(listed(cli, "--campaign", "c2", "--where", "status=not-contacted")) == list(
        "acdefghi")
    rows = listed(cli, "--campaign", "c1")
    assert {r["email"][0]: r["campaign_status"] for r in rows} == {
        "a": "replied", "b": "suppressed", "c": "follow-up-due", "d": "follow-up-due",
        "e": "bounced", "f": "planned", "g": "replied", "h": "sent", "i": "not-contacted",
        "j": "auto-replied"}
    assert rows[6]["stances"] == {"caucus": "supports", "funding": "open"}
    result = cli("contacts", "list", "--campaign", "c1", env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert result.stdout.count("follow-up-due") == 2
    result = cli("contacts", "list", "--campaign", "nope")
    assert result.exit_code == 1
    assert "no campaign named 'nope'" in result.stderr
    result = cli("contacts", "list", "--where", "status=overdue")
    assert result.exit_code == 2
    assert "follow-up-due" in result.stderr


async def test_follow_up_due_in_selection(db: Settings) -> None:
    known = await build_known()
    assert await due_contacts(known.c1) == {known.people["c"].id, known.people["d"].id}
    assert await due_contacts(known.c1, after=timedelta(days=1)) == {
        known.people[w].id for w in "cdh"}
    assert await due_contacts(known.c2) == set()
    # planning a follow-up of c1 reads c1; planning another campaign reads the others
    picked = await select_contacts(parse_where(["status=follow-up-due"]), campaign=known.c2)
    assert [c.email for c in picked] == ["c@example.org", "d@example.org"]
    c3 = await Campaign.create(name="c3", template="mep")
    picked = await select_contacts(parse_where(["status=follow-up-due", "status=planned"]),
                                   campaign=c3)
    assert [c.email for c in picked] == ["c@example.org", "d@example.org", "f@example.org"]
    with pytest.raises(SelectionError, match="follow-up-due"):
        parse_where(["status=late"])


async def _story() -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=30)
    target = await Contact.create(email="t@example.org", name="Target", country="DE",
                                  kind="mep")
    other = await Contact.create(email="o@example.org", name="Other", kind="mep")
    c1 = await Campaign.create(name="c1", template="mep", asks='["caucus"]')
    c2 = await Campaign.create(name="c2", template="follow-up", asks='["caucus"]',
                               follow_up_of=c1)
    await letter(c1, other, "sent", start - timedelta(hours=1))
    await letter(c1, target, "sent", start)
    await reply(c1, target, "soft-bounce", start + timedelta(hours=2))
    await letter(c2, target, "sent", start + timedelta(days=3), subject="Re: Interpol reform")
    answer = await reply(c2, target, "reply", start + timedelta(days=4))
    await audit.record("ana", "replies.receive", contact=target, campaign=c2, reply=answer.id)
    await record_stances(target, {"caucus": "undecided"}, actor="ana", campaign=c2,
                         reply=answer)
    await record_stances(target, {"caucus": "supports"}, actor="ana", source="meeting",
                         note="met in Brussels")
    first, second = await Stance.filter(contact_id=target.id).order_by("id")
    await Stance.filter(id=first.id).update(recorded_at=start + timedelta(days=4, hours=1))
    await Stance.filter(id=second.id).update(recorded_at=start + timedelta(days=10))
    await opt_out("t@example.org", reason="asked on the phone", actor="ana")
    data = await profile(target)
    assert [e["kind"] for e in data["timeline"]] == [
        "letter", "reply.soft-bounce", "letter", "reply.reply", "stance", "stance",
        "contacts.opt-out"]
    return str(answer.id)


@pytest.mark.sqlite_only
def test_contacts_show_tells_the_story_in_order(cli: Any, settings: Settings,
                                                workspace: Path) -> None:
    reply_id = seed(settings, _story)
    result = cli("contacts", "show", "t@example.org")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.split("timeline:\n", 1)[1].splitlines()
    story = [line.split("  ", 2)[2] for line in lines]
    assert story == [
        "letter sent in c1 to t@example.org: “Interpol reform” — read it: "
        "outreach campaign preview c1 → preview-c1/00002-t@example.org.eml",
        "bounced (soft) in c1 for t@example.org — read it: outreach replies show "
        f"{int(reply_id) - 1}",
        "follow-up letter (to c1) sent in c2 to t@example.org: “Re: Interpol reform” — read "
        "it: outreach campaign preview c2 → preview-c2/00001-t@example.org.eml",
        f"replied in c2: “Re: reply” — read it: outreach replies show {reply_id}",
        f"stance on caucus: undecided (from reply {reply_id})  [ana]",
        "stance on caucus: undecided → supports (from meeting): met in Brussels  [ana]",
        "opted out: asked on the phone  [ana]",
    ]
    assert "replies.receive" not in result.stdout
    assert "stance.set" not in result.stdout
    # the commands it names do show the letter and the reply
    preview = cli("campaign", "preview", "c1", "--out", str(workspace / "preview-c1"))
    assert preview.exit_code == 0, preview.stderr
    assert (workspace / "preview-c1" / "00002-t@example.org.eml").read_bytes().endswith(
        b"letter\r\n")
    shown = cli("replies", "show", reply_id)
    assert shown.exit_code == 0
    assert "Thank you for your letter." in shown.stdout
