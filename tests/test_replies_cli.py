"""`outreach replies …`, `contacts stance` and `campaign follow-up` end to end: a campaign
sent to the capture server, replies of every kind imported from a Maildir, the review
queue, stances, a suppressed address skipped by a later send, a threaded follow-up."""

from __future__ import annotations

import email
import json
import mailbox
from datetime import timedelta
from pathlib import Path

from tests.helpers_replies import SENT_AT, adapted, person_reply, write_maildir

PEOPLE = [
    ("anna.berg@ep.example", "Anna", "Berg", "DE", "de"),
    ("luc.martin@ep.example", "Luc", "Martin", "FR", "fr"),
    ("bounce.me@ep.example", "Bo", "Unce", "NL", "nl"),
    ("claire.dubois@ep.example", "Claire", "Dubois", "FR", "fr"),
    ("jonas.keller@ep.example", "Jonas", "Keller", "DE", "de"),
    ("giulia.conti@ep.example", "Giulia", "Conti", "IT", "it"),
    ("silent.one@ep.example", "Sil", "Ent", "BE", "en"),
    ("silent.two@ep.example", "Sil", "Two", "IE", "en"),
]


def ok(result) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def outbox(workspace: Path) -> dict[str, list[email.message.Message]]:
    """Captured letters by recipient."""
    box = mailbox.Maildir(workspace / "outbox", create=False)
    found: dict[str, list[email.message.Message]] = {}
    for key in box.keys():
        message = email.message_from_bytes(box.get_bytes(key))
        found.setdefault(str(message["To"]).split("<")[-1].strip(">"), []).append(message)
    return found


def incoming(letters: dict[str, list[email.message.Message]]) -> list[bytes]:
    def first(addr: str) -> email.message.Message:
        return letters[addr][0]

    anna = first("anna.berg@ep.example")
    return [
        person_reply(sender="Anna Berg <anna.berg@ep.example>", subject="Re: " + anna["Subject"],
                     body="Dear all,\nI support the caucus and will raise it.\nAnna",
                     message_id="<anna.1@ep.example>", in_reply_to=anna["Message-ID"],
                     references=anna["Message-ID"]),
        # written fresh, not as a reply: found by the sender's address
        person_reply(sender="luc.martin@ep.example", subject="Votre lettre sur Interpol",
                     body="Merci, nous allons étudier votre proposition.",
                     message_id="<luc.1@ep.example>", when=SENT_AT + timedelta(days=2)),
        person_reply(sender="Someone <someone@elsewhere.example>", subject="Interpol?",
                     body="Is this the coalition? Please add me.",
                     message_id="<stranger.1@elsewhere.example>",
                     when=SENT_AT + timedelta(days=3)),
        adapted("machine/bounce-postfix-dsn.eml", {
            "j.moreau@assemblee.example.fr": "bounce.me@ep.example",
            "<outreach.c1.t7.0a1b2c3d4e5f@campaign.example.org>":
                first("bounce.me@ep.example")["Message-ID"]}),
        adapted("machine/auto-fr-absence.eml", {
            "elodie.faure@assemblee.example.fr": "claire.dubois@ep.example"}),
        adapted("machine/auto-de-abwesend.eml", {
            "markus.weber@europarl.example.eu": "jonas.keller@ep.example"}),
        adapted("machine/auto-it-precedence.eml", {
            "paolo.conti@europarl.example.eu": "giulia.conti@ep.example"}),
        b"not a message: no header at all\r\n",
    ]


def test_replies_end_to_end(cli, workspace: Path) -> None:
    rows = ["email,first_name,last_name,name,kind,country,language"] + [
        f"{e},{f},{last},{f} {last},mep,{c},{lang}" for e, f, last, c, lang in PEOPLE]
    (workspace / "meps.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ok(cli("contacts", "import", "meps.csv"))
    ok(cli("campaign", "create", "meps", "--template", "mep", "--ask", "caucus", "--ask",
           "funding", "--where", "kind=mep"))
    ok(cli("campaign", "plan", "meps", "--rate", "6000/min", "--per-domain", "36000/h"))
    ok(cli("campaign", "send", "meps", "--yes"))
    # a second campaign is planned, waiting, before the bounce comes back
    ok(cli("campaign", "create", "later", "--template", "mep", "--ask", "transparency",
           "--where", "kind=mep"))
    ok(cli("campaign", "plan", "later", "--rate", "6000/min", "--per-domain", "36000/h"))
    letters = outbox(workspace)
    assert len(letters) == len(PEOPLE)
    # the auto-reply fixtures' senders, checked so a fixture change is noticed here
    for name, sender in (("auto-de-abwesend", "markus.weber@europarl.example.eu"),
                         ("auto-it-precedence", "paolo.conti@europarl.example.eu")):
        assert sender.encode() in adapted(f"machine/{name}.eml", {}), name
    box = write_maildir(workspace / "Maildir", incoming(letters))

    result = cli("replies", "import", str(box))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("7 new (3 auto-reply, 1 hard-bounce, 3 reply)")
    assert "1 unreadable" in result.stdout
    assert result.stderr.count("skipped: ") == 1
    assert "replies list --unmatched" in result.stderr
    again = cli("replies", "import", str(box))
    assert again.stdout.startswith("0 new, 7 already stored")

    listed = json.loads(ok(cli("replies", "list", "--json")))
    by_contact = {r["contact"]: r for r in listed}
    assert {k: (v["kind"], v["campaign"]) for k, v in by_contact.items()} == {
        "anna.berg@ep.example": ("reply", "meps"),
        "luc.martin@ep.example": ("reply", "meps"),
        "bounce.me@ep.example": ("hard-bounce", "meps"),
        "claire.dubois@ep.example": ("auto-reply", "meps"),
        "jonas.keller@ep.example": ("auto-reply", "meps"),
        "giulia.conti@ep.example": ("auto-reply", "meps"),
        None: ("reply", None),
    }
    for row in listed:
        assert set(row) >= {"id", "kind", "contact", "campaign", "received_at", "subject",
                            "stance"}
    queue = json.loads(ok(cli("replies", "list", "--unmatched", "--json")))
    assert [r["from"] for r in queue] == ["someone@elsewhere.example"]

    # the hard bounce suppressed the address: the waiting campaign skips it
    ok(cli("campaign", "send", "later", "--yes"))
    after = outbox(workspace)
    assert len(after["bounce.me@ep.example"]) == 1
    assert all(len(after[p[0]]) == 2 for p in PEOPLE if p[0] != "bounce.me@ep.example")
    assert json.loads(ok(cli("contacts", "list", "--where", "suppressed=yes", "--json")))[0][
        "email"] == "bounce.me@ep.example"

    # the review queue: assign, then decide
    stranger = queue[0]["id"]
    ok(cli("replies", "assign", str(stranger), "--contact", "silent.two@ep.example",
           "--campaign", "meps"))
    assert json.loads(ok(cli("replies", "list", "--unmatched", "--json"))) == []
    anna = by_contact["anna.berg@ep.example"]["id"]
    ok(cli("replies", "set", str(anna), "--stance", "caucus=supports", "--stance",
           "funding=open"))
    shown = json.loads(ok(cli("replies", "show", str(anna), "--json")))
    assert shown["stance"] == {"caucus": "supports", "funding": "open"}
    assert shown["reviewed"] is True
    bad = cli("replies", "set", str(anna), "--stance", "caucus=maybe")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: --stance: unknown stance")

    # review walks the rest (not a terminal: a list, unless --interactive)
    plain = ok(cli("replies", "review"))
    assert "suggested: open" in plain  # Luc: "nous allons étudier"
    luc = by_contact["luc.martin@ep.example"]["id"]
    first_items = [r for r in json.loads(ok(cli("replies", "list", "--unreviewed", "--json")))
                   if r["contact"] and r["kind"] == "reply"]
    assert first_items[0]["id"] == luc
    result = cli("replies", "review", "--interactive", input="maybe\nopen\n-\nq\n")
    assert result.exit_code == 0, result.stderr
    assert "our letter" in result.stdout
    assert "suggested stance: open" in result.stdout
    assert "unknown stance" in result.stderr
    assert "2 reviewed" in result.stdout
    luc_row = json.loads(ok(cli("replies", "show", str(luc), "--json")))
    assert luc_row["stance"] == {"caucus": "open", "funding": "open"}

    # a stance learnt at a meeting
    ok(cli("contacts", "stance", "silent.one@ep.example", "--ask", "caucus=opposes",
           "--source", "meeting", "--note", "said no in Strasbourg"))
    history = json.loads(ok(cli("contacts", "stance", "silent.one@ep.example", "--json")))
    assert [(h["ask"], h["stance"], h["source"]) for h in history] == [
        ("caucus", "opposes", "meeting")]
    assert cli("contacts", "stance", "silent.one@ep.example", "--ask",
               "caucus=opposes", "--source", "rumour").exit_code == 1
    mine = json.loads(ok(cli("contacts", "list", "--where", "stance.caucus=supports",
                             "--json")))
    assert [c["email"] for c in mine] == ["anna.berg@ep.example"]

    # follow-up: the targets of "meps" nobody answered in person, threaded onto the first
    result = cli("campaign", "follow-up", "meps", "--after", "0d", "--template", "follow-up")
    assert result.exit_code == 0, result.stderr
    assert "meps-follow-up" in result.stdout
    ok(cli("campaign", "plan", "meps-follow-up", "--rate", "6000/min", "--per-domain",
           "36000/h"))
    ok(cli("campaign", "send", "meps-follow-up", "--yes"))
    final = outbox(workspace)
    followed = {addr for addr, msgs in final.items() if len(msgs) == 3}
    # silent.two's reply (assigned from the queue) counts as an answer
    assert followed == {"claire.dubois@ep.example", "jonas.keller@ep.example",
                        "giulia.conti@ep.example", "silent.one@ep.example"}
    for addr in followed:
        original = letters[addr][0]["Message-ID"]
        (last,) = [m for m in final[addr] if m["In-Reply-To"]]
        assert last["In-Reply-To"] == original
        assert original in last["References"]
        subject = str(email.header.make_header(email.header.decode_header(last["Subject"])))
        assert subject.startswith("Re: ")

    # retention: texts go, kinds and stances stay
    assert ok(cli("replies", "purge", "--older-than", "0d")).startswith("7 reply text(s)")
    purged = json.loads(ok(cli("replies", "list", "--json")))
    assert all(r["purged"] for r in purged)
    assert {r["kind"] for r in purged} == {"reply", "auto-reply", "hard-bounce"}
    assert next(r for r in purged if r["id"] == anna)["stance"] == {"caucus": "supports",
                                                                   "funding": "open"}
    assert cli("replies", "purge", "--older-than", "soon").exit_code == 1
