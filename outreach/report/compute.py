"""The figures of ``outreach report``, computed in one pass over the rows of a :class:`Dataset`.

Definitions (docs/reports.md says the same for campaigners):

- a **letter** is one row of the ledger (one contact in one campaign);
- **targeted**: every letter of the campaigns in scope, whatever its state;
- **sent**: the letter left (states ``sent``, ``unknown``, ``sending``) or the relay
  refused it (``failed``: a bounce at the door is still a sent letter);
- **bounced**: a sent letter the relay refused, or to which a bounce (hard or soft)
  came back;
- **auto-replied**: a sent letter to which an automatic answer came back;
- **replied**: a sent letter to which the person answered (a reply matched to that
  contact in that campaign);
- **supports** (per ask): a sent letter whose target's latest stance on that ask,
  from any source (reply, meeting, call, statement), is ``supports``;
- **response rate**: replied / sent (``null`` when nothing was sent);
- **time to first reply**: the first person reply's arrival minus the letter's
  ``sent_at``, in hours; the median is over the replied letters of a row;
- **responsiveness**: per target with a letter sent, the same counts; the best response
  rate first, then the most replies, then the contact number; like the list of
  follow-ups due, cut at ``Options.limit`` rows (``*_total`` gives the full length);
- **follow-up due** (``--after``, default 14 days): a letter in state ``sent`` that went
  out at least that long ago, whose target is not suppressed, has not answered
  (a person reply), did not bounce (unless an auto-reply proved the address
  works), and has no letter yet in a follow-up campaign of that campaign.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from statistics import median
from typing import Any

from outreach.report.queries import Dataset, Letter, Person, committees_of

SENT_STATES = frozenset({"sent", "unknown", "sending", "failed"})
STAGES = ("targeted", "sent", "bounced", "auto_replied", "replied")
BREAKDOWNS = ("country", "group", "kind", "committee", "language")
STANCE_COLUMNS = ("supports", "open", "undecided", "opposes", "no-answer", "none")
STANCE_BY = ("country", "group")
DEFAULT_AFTER = timedelta(days=14)
DEFAULT_LIMIT = 100
#: a letter's outcome as bits; NOT_SENT for a letter that did not leave
SENT, BOUNCED, AUTO, REPLIED = 1, 2, 4, 8
NOT_SENT = 0


@dataclass(frozen=True)
class Options:
    by: tuple[str, ...] = ("country",)
    after: timedelta = DEFAULT_AFTER
    now: datetime | None = None
    #: rows of each list of targets (responsiveness, follow-ups due); 0: every row
    limit: int = DEFAULT_LIMIT


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def tally(codes: Mapping[int, int], hours: list[float]) -> dict[str, Any]:
    """The counts of letters by outcome code, and the hours to first reply, as a row."""
    sent = bounced = auto = replied = targeted = 0
    for code, n in codes.items():
        targeted += n
        if code & SENT:
            sent += n
            bounced += n if code & BOUNCED else 0
            auto += n if code & AUTO else 0
            replied += n if code & REPLIED else 0
    return {
        "targeted": targeted, "sent": sent, "bounced": bounced, "auto_replied": auto,
        "replied": replied, "response_rate": rate(replied, sent),
        "median_hours_to_first_reply": round(median(hours), 2) if hours else None,
    }


@dataclass
class Outcomes:
    """What one pass over the letters learns (lists in the order of ``data.letters``)."""

    #: each letter's outcome code (SENT | BOUNCED | AUTO | REPLIED bits, or NOT_SENT)
    codes: list[int] = field(default_factory=list)
    #: hours from the letter to its first person reply, or None
    hours: list[float | None] = field(default_factory=list)
    #: contact id → [sent, bounced, auto-replied, replied, hours to reply or None]
    per_contact: dict[int, list[Any]] = field(default_factory=dict)
    #: campaign id → the contacts with a letter in it (any state)
    contacts_of: dict[int, set[int]] = field(default_factory=dict)
    #: campaign id → its first and last letter sent
    first: dict[int, datetime] = field(default_factory=dict)
    last: dict[int, datetime] = field(default_factory=dict)
    #: indexes of the letters whose follow-up is due (when a cutoff was given)
    due: list[int] = field(default_factory=list)


def outcomes(data: Dataset, cutoff: datetime | None = None) -> Outcomes:
    """One pass over the letters: outcomes, per-target counts, follow-ups due."""
    found = Outcomes()
    codes, hours, per_contact, contacts_of = (found.codes, found.hours, found.per_contact,
                                              found.contacts_of)
    first, last, due = found.first, found.last, found.due
    replied, bounced, auto = data.replied, data.bounced, data.auto_replied
    suppressed, followed, people = data.suppressed, data.followed_up, data.people
    for i, letter in enumerate(data.letters):
        campaign, contact, state, sent_at = (letter.campaign_id, letter.contact_id,
                                             letter.state, letter.sent_at)
        if contact is not None:
            members = contacts_of.get(campaign)
            if members is None:
                members = contacts_of[campaign] = set()
            members.add(contact)
        if state not in SENT_STATES:
            codes.append(NOT_SENT)
            hours.append(None)
            continue
        key = (campaign, contact or 0)
        code = SENT
        if state == "failed" or key in bounced:
            code |= BOUNCED
        if key in auto:
            code |= AUTO
        wait = None
        answers = replied.get(key) if contact is not None else None
        if answers:
            code |= REPLIED
            if sent_at is not None:
                wait = max(0.0, (min(answers) - sent_at).total_seconds() / 3600)
        codes.append(code)
        hours.append(wait)
        if sent_at is not None:
            if campaign not in first or sent_at < first[campaign]:
                first[campaign] = sent_at
            if campaign not in last or sent_at > last[campaign]:
                last[campaign] = sent_at
        if contact is None:
            continue
        row = per_contact.get(contact)
        if row is None:
            row = per_contact[contact] = [0, 0, 0, 0, None]
        row[0] += 1
        if code & BOUNCED:
            row[1] += 1
        if code & AUTO:
            row[2] += 1
        if code & REPLIED:
            row[3] += 1
        if wait is not None:
            row[4] = [*(row[4] or ()), wait]
        # follow-up due: see the module docstring
        if (cutoff is not None and state == "sent" and sent_at is not None
                and sent_at <= cutoff and not code & REPLIED
                and (not code & BOUNCED or code & AUTO) and contact in people
                and contact not in suppressed and key not in followed):
            due.append(i)
    return found


def _group(keys: Iterable[Any], found: Outcomes) -> dict[Any, dict[str, Any]]:
    """One row per key: ``keys`` runs parallel to the letters."""
    counts: dict[Any, Counter[int]] = defaultdict(Counter)
    for (key, code), n in Counter(zip(keys, found.codes, strict=True)).items():
        counts[key][code] += n
    waits: dict[Any, list[float]] = defaultdict(list)
    for key, wait in zip(keys if isinstance(keys, list) else list(keys), found.hours,
                         strict=True):
        if wait is not None:
            waits[key].append(wait)
    return {key: tally(codes, waits.get(key, [])) for key, codes in counts.items()}


def _key_of(dimension: str, letter: Letter, person: Person | None) -> str:
    if dimension == "language":
        return letter.language or (person.language if person else "")
    if person is None:
        return ""
    if dimension == "country":
        return person.country
    if dimension == "group":
        return person.political_group
    return person.kind


def _breakdown(dimension: str, data: Dataset, found: Outcomes) -> list[dict[str, Any]]:
    people = data.people
    if dimension != "committee":
        keys = [_key_of(dimension, x, people.get(x.contact_id or 0)) for x in data.letters]
        rows = _group(keys, found)
    else:  # a letter counts once in each of its target's committees
        pairs: list[tuple[str, int]] = []
        for i, letter in enumerate(data.letters):
            person = people.get(letter.contact_id or 0)
            for committee in (committees_of(person) if person else ()) or ("",):
                pairs.append((committee, i))
        sub = Outcomes([found.codes[i] for _, i in pairs], [found.hours[i] for _, i in pairs])
        rows = _group([k for k, _ in pairs], sub)
    return [{"key": key, **rows[key]} for key in _sorted_keys(rows)]


def _sorted_keys(keys: Iterable[str]) -> list[str]:
    """Keys in order, the empty key ("none given") last."""
    return sorted(keys, key=lambda k: (k == "", k))


def _ask_order(data: Dataset) -> list[str]:
    from outreach.letters import ASKS

    found: list[str] = []
    for campaign in data.campaigns:
        found.extend(a for a in campaign.asks if a not in found)
    known = [a for a in ASKS if a in found]
    return known + [a for a in found if a not in known]


def _funnel(data: Dataset, found: Outcomes, asks: list[str]) -> list[dict[str, Any]]:
    per_campaign = Counter(zip((x.campaign_id for x in data.letters), found.codes,
                               strict=True))
    supporters = {ask: {cid for cid, latest in data.stances.items()
                        if latest.get(ask) == "supports"} for ask in asks}
    anyone = set().union(*supporters.values()) if supporters else set()
    asks_of = {c.id: c.asks for c in data.campaigns}
    supports: Counter[str] = Counter()
    for letter, code in zip(data.letters, found.codes, strict=True):
        if code and letter.contact_id in anyone:
            for ask in asks_of.get(letter.campaign_id, ()):
                if letter.contact_id in supporters[ask]:
                    supports[ask] += 1
    rows = []
    for ask in asks:
        codes: Counter[int] = Counter()
        for (campaign_id, code), n in per_campaign.items():
            if ask in asks_of.get(campaign_id, ()):
                codes[code] += n
        counts = tally(codes, [])
        rows.append({"ask": ask, **{s: counts[s] for s in STAGES}, "supports": supports[ask]})
    return rows


def _campaigns(data: Dataset, found: Outcomes) -> list[dict[str, Any]]:
    ids = [x.campaign_id for x in data.letters]
    codes: dict[int, Counter[int]] = defaultdict(Counter)
    for (cid, code), n in Counter(zip(ids, found.codes, strict=True)).items():
        codes[cid][code] += n
    languages = Counter(zip(ids, (x.language for x in data.letters), strict=True))
    rows = []
    for c in data.campaigns:
        first, last = found.first.get(c.id), found.last.get(c.id)
        counts = tally(codes[c.id], [])
        rows.append({
            "name": c.name, "template": c.template, "asks": list(c.asks), "state": c.state,
            "created_at": c.created_at.isoformat() if c.created_at else None,
            "first_sent_at": first.isoformat() if first else None,
            "last_sent_at": last.isoformat() if last else None,
            "letters": counts["targeted"], "sent": counts["sent"],
            "languages": [
                {"language": lang, "letters": n, "subject": data.subjects.get((cid, lang), "")}
                for (cid, lang), n in sorted(languages.items()) if cid == c.id
            ],
        })
    return rows


def _responsiveness(data: Dataset, found: Outcomes, limit: int | None
                    ) -> tuple[list[dict[str, Any]], int]:
    """One row per target written to (a letter sent): the best response rate first, then
    the most replies, then the contact number; the first ``limit`` rows, and how many there
    are. ``name`` and ``email`` are left empty (:func:`outreach.report.fill_names`)."""
    acc = found.per_contact
    order = sorted(acc, key=lambda cid: (-acc[cid][3] / acc[cid][0], -acc[cid][3], cid))
    people = data.people
    rows = []
    for cid in order[:limit]:
        sent, bounced, auto, replied, waits = acc[cid]
        person = people.get(cid)
        rows.append({
            "contact": cid, "name": "", "email": "", "kind": person.kind if person else "",
            "country": person.country if person else "",
            "group": person.political_group if person else "",
            "sent": sent, "bounced": bounced, "auto_replied": auto, "replied": replied,
            "response_rate": rate(replied, sent),
            "median_hours_to_first_reply": round(median(waits), 2) if waits else None,
        })
    return rows, len(order)


def _targeted(data: Dataset, found: Outcomes, asks: list[str]
              ) -> dict[str, frozenset[int]]:
    """ask → the contacts with a letter in a campaign that makes that ask."""
    per_campaign = found.contacts_of
    out: dict[str, frozenset[int]] = {}
    made: dict[tuple[int, ...], frozenset[int]] = {}
    for ask in asks:
        which = tuple(c.id for c in data.campaigns if ask in c.asks)
        if which not in made:
            made[which] = frozenset().union(*(per_campaign.get(c, set()) for c in which))
        out[ask] = made[which]
    return out


def _stance_rows(dimension: str, asks: list[str], data: Dataset,
                 targeted: dict[str, frozenset[int]]) -> list[dict[str, Any]]:
    """Per ask and key: the targets (a letter in a campaign with the ask) by latest stance."""
    people = data.people
    key_of = attrgetter("country" if dimension == "country" else "political_group")
    totals_of: dict[int, Counter[str]] = {}
    rows: list[dict[str, Any]] = []
    for ask in asks:
        members = targeted[ask]
        if id(members) not in totals_of:  # asks of the same campaigns share the count
            known = members & people.keys()
            totals_of[id(members)] = Counter(map(key_of, map(people.__getitem__, known)))
        totals = totals_of[id(members)]
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for cid, latest in data.stances.items():
            value = latest.get(ask)
            if value is not None and cid in members and cid in people:
                counts[key_of(people[cid])][value] += 1
        for key in _sorted_keys(totals):
            found = counts.get(key, Counter())
            row: dict[str, Any] = {"ask": ask, "key": key}
            for name in STANCE_COLUMNS[:-1]:
                row[name] = found[name]
            row["none"] = totals[key] - sum(found.values())
            rows.append(row)
    return rows


def follow_ups_due(
    data: Dataset, *, after: timedelta = DEFAULT_AFTER, now: datetime | None = None
) -> list[Letter]:
    """The letters of ``data`` whose follow-up is due (see the module docstring)."""
    cutoff = (now or datetime.now().astimezone()) - after
    return [data.letters[i] for i in outcomes(data, cutoff).due]


def compute(data: Dataset, options: Options) -> dict[str, Any]:
    """The whole report as plain JSON-ready data (see the module docstring)."""
    now = options.now or datetime.now().astimezone()
    found = outcomes(data, now - options.after)
    asks = _ask_order(data)
    names = {c.id: c.name for c in data.campaigns}
    limit = options.limit or None
    due_total = len(found.due)
    letters = data.letters

    def due_order(i: int) -> tuple[datetime, str, int]:
        x = letters[i]
        return (x.sent_at or now, names[x.campaign_id], x.contact_id or 0)

    due = [letters[i] for i in (sorted(found.due, key=due_order) if limit is None
                                else heapq.nsmallest(limit, found.due, key=due_order))]
    people = data.people
    responsive, responsive_total = _responsiveness(data, found, limit)
    targeted = _targeted(data, found, asks)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "after_days": options.after.days,
        "campaigns": _campaigns(data, found),
        "letters": tally(Counter(found.codes), [h for h in found.hours if h is not None]),
        "funnel": _funnel(data, found, asks),
        "breakdowns": {d: _breakdown(d, data, found) for d in options.by},
        "responsiveness_total": responsive_total,
        "responsiveness": responsive,
        "stances": {d: _stance_rows(d, asks, data, targeted) for d in STANCE_BY},
        "follow_ups_due_total": due_total,
        "follow_ups_due": [
            {"campaign": names[x.campaign_id], "contact": x.contact_id, "name": "", "email": "",
             "country": people[x.contact_id or 0].country,
             "sent_at": x.sent_at.isoformat() if x.sent_at else None,
             "days_since": (now - x.sent_at).days if x.sent_at else None}
            for x in due
        ],
    }
