"""Text patterns of mail-system notices: bounce subjects, senders, status words.

Used only on messages that may come from a mail system (see
``outreach.replies.bounces``); a person's reply is judged by
``outreach.replies.patterns``.
"""

from __future__ import annotations

import re

from outreach.replies.patterns import FLAGS, alt

BOUNCE_SUBJECT = re.compile(
    r"^\s*"
    + alt(
        r"undeliver(?:able|ed)",
        r"non[\s-]?delivery",
        r"returned\s+mail",
        r"mail\s+delivery\s+(?:failed|failure|system|subsystem|problem)",
        r"delivery\s+(?:status\s+notification|failure|failed|notification|report|problem)",
        r"failure\s+notice",
        r"non[\s-]?remis",
        r"message\s+non\s+remis",
        r"(?:nicht\s+)?unzustellbar",
        r"nicht\s+zustellbar",
        r"mail\s+system\s+error",
        r"could\s+not\s+send\s+message",
        r"message\s+(?:could\s+not\s+be\s+delivered|delivery\s+failed|not\s+delivered)",
        r"warning:\s+(?:could\s+not\s+send|delayed\s+mail|message\s+delayed)",
        r"delayed\s+mail",
        r"mail\s+could\s+not\s+be\s+delivered",
        r"no\s+se\s+puede\s+entregar",
        r"non\s+recapitabile",
        r"onbestelbaar",
        r"niedostarczon",
        r"n[ãa]o\s+(?:foi\s+)?entregue",
        r"notification\s+d['’][ée]tat\s+de\s+(?:la\s+)?distribution",
        r"\[?postmaster\]?",
        r"error\s+sending\s+message",
        r"permanent\s+delivery\s+failure",
        r"rejected\s*:",
    ),
    FLAGS,
)

#: subjects of complaint reports that do not follow ARF (with the complained-of message enclosed)
COMPLAINT_SUBJECT = re.compile(
    r"^\s*" + alt(
        r"complaint\s+about\s+message",
        r"(?:e-?mail\s+)?abuse\s+report",
        r"spam\s+(?:complaint|report)",
    ),
    FLAGS,
)

#: local parts of addresses that send bounces
MAILER_LOCALPARTS = frozenset(
    {
        "mailer-daemon",
        "mailer_daemon",
        "post_master",
        "mailerdaemon",
        "mail-daemon",
        "postmaster",
        "mail.delivery.subsystem",
        "mdaemon",
        "bounce",
        "bounces",
        "mailer",
        "mail-delivery-system",
        "nobody",
        "root",
    }
)

#: lines after which a bounce quotes the original message: addresses below are not failures
ORIGINAL_FOLLOWS = re.compile(
    alt(
        r"^-+\s*(?:original|returned|unsent|undelivered)\s+message",
        r"^-+\s*(?:this\s+is\s+a\s+copy|below\s+this\s+line)",
        r"^-+\s*the\s+header\s+of\s+the\s+original",
        r"^\s*below\s+is\s+a\s+copy\s+of\s+the\s+original",
        r"^\s*message\s+headers\s+follow",
        r"^\s*original\s+message\s+headers",
        r"^\s*-+\s*message\s+header\s+follows",
        r"^\s*the\s+original\s+message\s+(?:headers|follows|is\s+(?:attached|below|following))",
        r"^\s*bounced\s+e-?mail\s*:",
        r"^From\s+\S+@\S+\s+\w{3}\s",
        r"^\s*--- below this line is a copy of the message",
        r"^\s*received:\s+from\s+",
    ),
    FLAGS | re.MULTILINE,
)

#: words that make a mailer notice a temporary one (when it has no status code)
TEMPORARY_WORDS = re.compile(
    alt(
        r"\bdelayed\b",
        r"\bwill\s+(?:continue|keep)\s+(?:to\s+)?tr(?:y|ying)\b",
        r"\bstill\s+trying\b",
        r"\bwill\s+be\s+retried\b",
        r"\bnot\s+yet\s+been\s+delivered\b",
        r"\btemporar(?:y|ily)\b",
        r"\bretrying\b",
    ),
    FLAGS,
)

#: a full mailbox: temporary by nature (when the notice gives no status code)
MAILBOX_FULL_WORDS = re.compile(
    alt(
        r"\bmailbox\s+(?:is\s+)?full\b",
        r"\bover\s+quota\b",
        r"\bquota\s+exceeded\b",
        r"\bexceeded\s+(?:the\s+|their\s+|his\s+|her\s+)?(?:storage\s+|mailbox\s+)?quota\b",
        r"\bdisk\s+quota\b",
        r"\bpostfach\s+(?:ist\s+)?voll\b",
        r"\bbo[îi]te\s+(?:aux\s+lettres\s+)?pleine\b",
        r"\bcasella\s+(?:di\s+posta\s+)?piena\b",
        r"\bbuz[óo]n\s+(?:est[áa]\s+)?lleno\b",
        r"\bmailbox\s+(?:is\s+)?vol\b",
        r"\bskrzynka\s+(?:jest\s+)?pe[łl]na\b",
        r"\bcaixa\s+(?:de\s+correio\s+)?(?:est[áa]\s+)?cheia\b",
    ),
    FLAGS,
)

#: words that mean the mailer gave up (a final failure even for a 4xx code)
GAVE_UP_WORDS = re.compile(
    alt(
        r"\bcannot\s+send\s+message\s+for\s+\d+\s+days?\b",
        r"\bgiving\s+up\b",
        r"\bgave\s+up\b",
        r"\bretry\s+timeout\s+exceeded\b",
        r"\bmessage\s+expired\b",
        r"\bhas\s+been\s+expired\b",
        r"\bpermanent(?:ly)?\b",
    ),
    FLAGS,
)
