"""Storing replies: matching order, the review queue, idempotency, hostile input, effects."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from pathlib import Path

from outreach.config import Settings
from outreach.models import BounceScore, Delivery, Event, Reply, Suppression
from outreach.replies.effects import SOFT_THRESHOLD, apply_effects, score_soft_bounce
from outreach.replies.sources import read_paths
from outreach.replies.store import import_paths
from tests.helpers_replies import SENT_AT, adapted, person_reply, sent_campaign, write_maildir
from tests.helpers_smtp import make_campaign

POSTFIX_FAILED = "j.moreau@assemblee.example.fr"
POSTFIX_MID = "<outreach.c1.t7.0a1b2c3d4e5f@campaign.example.org>"


async def test_each_message_lands_on_its_contact_and_campaign(db: Settings, tmp_path: Path
                                                               ) -> None:
    emails = ["a@x.example", "b@y.example", "c@z.example", "d@w.example", "e@v.example"]
    _, letters = await sent_campaign(db, emails)
    messages = [
        person_reply(sender="A <a@x.example>", subject="Re: Interpol", body="Yes, I support it.",
                     message_id="<r1@x.example>", in_reply_to=letters["a@x.example"].message_id),
        # a colleague answers from another address, to the plus-addressed Reply-To
        person_reply(sender="Office <office@y.example>", subject="Re: Interpol",
                     body="We will consider it.", message_id="<r2@y.example>",
                     to=f"replies+{letters['b@y.example'].token}@example.org"),
        person_reply(sender="c@z.example", subject="Interpol reform", body="Call me.",
                     message_id="<r3@z.example>"),
        person_reply(sender="stranger@elsewhere.example", subject="Hello", body="Who are you?",
                     message_id="<r4@elsewhere.example>"),
        adapted("machine/bounce-postfix-dsn.eml", {
            POSTFIX_FAILED: "d@w.example", POSTFIX_MID: letters["d@w.example"].message_id}),
        adapted("machine/auto-fr-absence.eml", {
            "elodie.faure@assemblee.example.fr": "e@v.example"}),
        # a reply to A's reply (a thread that grew) still finds A
        person_reply(sender="assistant@x.example", subject="Re: Re: Interpol", body="Noted.",
                     message_id="<r5@x.example>", references="<r1@x.example>"),
    ]
    report = await import_paths([write_maildir(tmp_path / "in", messages)], settings=db)
    assert report.errors == []
    assert (report.new, report.unmatched) == (7, 1)
    got = {r.message_id: r for r in await Reply.all().prefetch_related("contact", "campaign")}

    def where(mid: str) -> tuple[str | None, str | None, str, str]:
        r = got[mid]
        return (r.contact.email if r.contact else None, r.campaign.name if r.campaign else None,
                r.kind, r.matched_by)

    assert where("<r1@x.example>") == ("a@x.example", "c1", "reply", "thread")
    assert where("<r2@y.example>") == ("b@y.example", "c1", "reply", "token")
    assert where("<r3@z.example>") == ("c@z.example", "c1", "reply", "sender")
    assert where("<r4@elsewhere.example>") == (None, None, "reply", "")
    bounce = next(r for r in got.values() if r.kind == "hard-bounce")
    assert (bounce.contact.email, bounce.matched_by) == ("d@w.example", "report")
    assert bounce.delivery_id == letters["d@w.example"].id  # type: ignore[attr-defined]
    assert where("<auto.21@assemblee.example.fr>") == ("e@v.example", "c1", "auto-reply",
                                                       "sender")
    assert where("<r5@x.example>")[:2] == ("a@x.example", "c1")
    assert await Event.filter(action="replies.receive").count() == 7


async def test_import_twice_stores_each_message_once(db: Settings, tmp_path: Path) -> None:
    await sent_campaign(db, ["a@x.example"])
    box = write_maildir(tmp_path / "in", [
        person_reply(sender="a@x.example", subject="Re", body="ok", message_id=f"<m{n}@x>")
        for n in range(3)])
    first = await import_paths([box], settings=db)
    second = await import_paths([box], settings=db)
    assert (first.new, first.duplicates) == (3, 0)
    assert (second.new, second.duplicates) == (0, 3)
    assert await Reply.all().count() == 3


async def test_mbox_eml_and_folders_are_read(tmp_path: Path) -> None:
    one = person_reply(sender="a@x.example", subject="1", body="one", message_id="<1@x>")
    two = person_reply(sender="b@x.example", subject="2", body="two", message_id="<2@x>")
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(one)
    box.add(two)
    box.close()
    (tmp_path / "single.eml").write_bytes(one)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.eml").write_bytes(two)
    found = list(read_paths([tmp_path / "archive.mbox", tmp_path / "single.eml",
                             tmp_path / "folder"]))
    assert [m.source.rsplit("/", 1)[-1] for m in found] == [
        "archive.mbox#1", "archive.mbox#2", "single.eml", "x.eml"]
    assert all(not m.error for m in found)
    assert b"Subject: 2" in found[1].data


def _nested(depth: int) -> bytes:
    head = b"From: deep@x.example\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"
    parts = []
    for level in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'
                     .encode())
    inner = b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    tail = b"".join(f"\r\n--b{level}--\r\n".encode() for level in reversed(range(depth)))
    return head + b"".join(parts) + inner + tail


async def test_hostile_input_is_reported_and_skipped(db: Settings, tmp_path: Path) -> None:
    hostile = {
        "broken-mime.eml": b"From: a@x.example\r\nMessage-ID: <b1@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="nope"\r\n\r\nno parts at all\r\n',
        "wrong-charset.eml": b"From: a@x.example\r\nMessage-ID: <b2@x>\r\n"
        b"Subject: =?utf-8?q?caf=E9?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"caf\xe9 cr\xe8me\r\n",
        "unknown-charset.eml": b"From: a@x.example\r\nMessage-ID: <b3@x>\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nqapla\xff\r\n",
        "huge.eml": b"From: a@x.example\r\nMessage-ID: <b4@x>\r\nContent-Type: text/plain\r\n\r\n"
        + b"A" * (21 * 1024 * 1024),
        "nested.eml": _nested(2000),
        "no-headers.eml": b"just some words\r\nwithout any header\r\n",
        "binary.eml": bytes(range(256)) * 4,
        "empty.eml": b"",
    }
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, data in hostile.items():
        (folder / name).write_bytes(data)
    (folder / "good.eml").write_bytes(person_reply(sender="a@x.example", subject="fine",
                                                   body="fine", message_id="<good@x>"))
    report = await import_paths([folder], settings=db)
    failed = {source.rsplit("/", 1)[-1] for source, _ in report.errors}
    assert failed == {"no-headers.eml", "binary.eml", "empty.eml"}
    assert report.new == len(hostile) + 1 - len(failed)
    assert await Reply.filter(message_id="<good@x>").exists()
    huge = await Reply.get(message_id="<b4@x>")
    assert huge.body is not None
    assert len(huge.body) <= 200_000
    assert any("over the" in w for s, w in report.warnings if s.endswith("huge.eml"))


async def test_hard_bounce_suppresses_and_skips_pending_letters(db: Settings, tmp_path: Path
                                                                ) -> None:
    _, letters = await sent_campaign(db, ["d@w.example", "ok@w.example"])
    second = await make_campaign("c2")
    from outreach.campaigns.plan import plan_campaign
    from tests.helpers_replies import FAST
    from tests.helpers_smtp import tiny_renderer

    await plan_campaign("c2", settings=db, pace=FAST, renderer=tiny_renderer)
    bounce = adapted("machine/bounce-postfix-dsn.eml", {
        POSTFIX_FAILED: "d@w.example", POSTFIX_MID: letters["d@w.example"].message_id})
    report = await import_paths([write_maildir(tmp_path / "in", [bounce])], settings=db)
    assert report.suppressed == 1
    row = await Suppression.get(email="d@w.example")
    assert row.reason == "hard-bounce"
    pending = await Delivery.get(campaign_id=second.id, recipient="d@w.example")
    assert pending.state == "skipped"
    assert (await Delivery.get(campaign_id=second.id, recipient="ok@w.example")).state == \
        "planned"
    assert await Event.filter(action="replies.suppress").count() == 1


async def test_a_notice_cannot_suppress_an_address_we_never_wrote_to(db: Settings,
                                                                     tmp_path: Path) -> None:
    await sent_campaign(db, ["d@w.example"])
    bounce = adapted("machine/bounce-postfix-dsn.eml", {})
    report = await import_paths([write_maildir(tmp_path / "in", [bounce])], settings=db)
    assert report.new == 1
    assert await Suppression.all().count() == 0


async def test_soft_bounces_score_once_a_day_and_reset_after_quiet_days(db: Settings) -> None:
    day = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert await score_soft_bounce("s@x.example", day) == 1.0
    assert await score_soft_bounce("s@x.example", day + timedelta(hours=5)) == 1.0
    assert await score_soft_bounce("s@x.example", day + timedelta(days=1)) == 2.0
    assert await score_soft_bounce("s@x.example", day + timedelta(days=20)) == 1.0
    row = await BounceScore.get(email="s@x.example")
    assert row.last_bounce_at == day + timedelta(days=20)


async def test_soft_bounces_past_the_threshold_suppress(db: Settings) -> None:
    await sent_campaign(db, ["s@x.example"])
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    results = []
    for n in range(int(SOFT_THRESHOLD)):
        results.append(await apply_effects(
            kind="soft-bounce", failed=["s@x.example"], contact=None,
            received_at=start + timedelta(days=n), reply_id=n + 1, campaign_id=None,
            actor="test"))
    assert [bool(r) for r in results] == [False] * (int(SOFT_THRESHOLD) - 1) + [True]
    assert (await Suppression.get(email="s@x.example")).reason == "soft-bounces"


async def test_complaint_suppresses_the_contact(db: Settings, tmp_path: Path) -> None:
    _, letters = await sent_campaign(db, ["m@isp.example"])
    complaint = adapted("machine/complaint-arf.eml", {
        "m.girard@isp.example.net": "m@isp.example",
        "<outreach.c1.t30.d0d0d0d0d0d0@campaign.example.org>":
            letters["m@isp.example"].message_id})
    report = await import_paths([write_maildir(tmp_path / "in", [complaint])], settings=db)
    assert report.kinds == {"complaint": 1}
    reply = await Reply.get(kind="complaint")
    assert reply.contact_id is not None  # type: ignore[attr-defined]
    assert (await Suppression.get(email="m@isp.example")).reason == "complaint"
    assert reply.received_at > SENT_AT


async def test_opt_out_waits_for_the_campaigners_word(db: Settings, tmp_path: Path) -> None:
    from outreach.replies.manage import Decision, decide

    await sent_campaign(db, ["o@x.example"])
    message = person_reply(sender="o@x.example", subject="Re: Interpol",
                           body="Please remove me from your list.", message_id="<o1@x>")
    await import_paths([write_maildir(tmp_path / "in", [message])], settings=db)
    reply = await Reply.get(message_id="<o1@x>")
    assert reply.opt_out_request
    assert await Suppression.all().count() == 0
    await decide(reply.id, Decision(stances={}, confirm_opt_out=True), actor="ana")
    assert (await Suppression.get(email="o@x.example")).reason == "opt-out"
    assert (await Reply.get(id=reply.id)).reviewed
    actions = await Event.filter(actor="ana").values_list("action", flat=True)
    assert sorted(actions) == ["replies.review", "replies.suppress"]


async def test_an_overlong_message_id_is_stored_once(db: Settings, tmp_path: Path) -> None:
    long_id = "<" + "x" * 900 + "@x>"
    message = person_reply(sender="a@x.example", subject="long", body="b", message_id=long_id)
    box = write_maildir(tmp_path / "in", [message])
    assert (await import_paths([box], settings=db)).new == 1
    assert (await import_paths([box], settings=db)).duplicates == 1
