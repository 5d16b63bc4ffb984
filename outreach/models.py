"""The database tables (Tortoise ORM).

Lists (committees, tags, asks) are stored as JSON text so that the same
``LIKE '%"DROI"%'`` filter selects an element on SQLite and PostgreSQL alike.
Times are timezone-aware UTC.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ContactKind(StrEnum):
    MEP = "mep"
    GOVERNMENT = "government"
    MINISTRY = "ministry"
    PERMANENT_REPRESENTATION = "permanent-representation"
    NATIONAL_MP = "national-mp"
    OTHER = "other"


class CampaignState(StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


def dump_list(values: list[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def load_list(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []


class Contact(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=320, null=True, unique=True)
    name = fields.CharField(max_length=300, default="")
    first_name = fields.CharField(max_length=150, default="")
    last_name = fields.CharField(max_length=150, default="")
    honorific = fields.CharField(max_length=60, default="")
    role = fields.CharField(max_length=300, default="")
    kind = fields.CharField(max_length=32, default=ContactKind.OTHER.value, db_index=True)
    organisation = fields.CharField(max_length=300, default="")
    country = fields.CharField(max_length=2, default="", db_index=True)
    language = fields.CharField(max_length=2, default="")
    political_group = fields.CharField(max_length=100, default="")
    national_party = fields.CharField(max_length=300, default="")
    committees = fields.TextField(default="[]")
    tags = fields.TextField(default="[]")
    ep_id = fields.CharField(max_length=20, null=True, unique=True)
    notes = fields.TextField(default="")
    source_file = fields.CharField(max_length=500, default="")
    source_date = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contact"

    @property
    def committee_list(self) -> list[str]:
        return load_list(self.committees)

    @property
    def tag_list(self) -> list[str]:
        return load_list(self.tags)

    def label(self) -> str:
        return self.email or (f"ep:{self.ep_id}" if self.ep_id else f"#{self.id}")


class Suppression(Model):
    """The do-not-contact list: opt-outs, hard bounces, complaints, erasures.

    ``email`` is kept for opt-outs and bounces so the campaigner can see and
    export them; an erasure keeps only ``email_hash`` (salted SHA-256).
    """

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=320, null=True, unique=True)
    email_hash = fields.CharField(max_length=64, unique=True)
    reason = fields.CharField(max_length=32)
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "suppression"


class Event(Model):
    """The audit log: who did what, and when, for every change."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=200)
    action = fields.CharField(max_length=64, db_index=True)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="events", null=True, on_delete=fields.CASCADE
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    details = fields.TextField(default="{}")

    class Meta:
        table = "event"

    @property
    def detail_dict(self) -> dict[str, Any]:
        value = json.loads(self.details or "{}")
        return value if isinstance(value, dict) else {}


class Setting(Model):
    """Installation-wide values: the Message-ID key and the suppression salt."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField()

    class Meta:
        table = "setting"


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    template = fields.CharField(max_length=200)
    asks = fields.TextField(default="[]")
    # the saved audience: {"where": {"field": [values]}, "exclude_campaigns": [...]}
    audience = fields.TextField(default="{}")
    from_address = fields.CharField(max_length=320, default="")
    reply_to = fields.CharField(max_length=320, default="")
    state = fields.CharField(max_length=16, default=CampaignState.DRAFT.value, db_index=True)
    # pacing used by the last plan: rates, window, weekdays, start
    pacing = fields.TextField(default="{}")
    follow_up_of: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="follow_ups", null=True, on_delete=fields.SET_NULL
    )
    pause_reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaign"

    @property
    def ask_list(self) -> list[str]:
        return load_list(self.asks)


class Delivery(Model):
    """One letter: a (campaign, contact) pair, its rendered message and its fate."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="deliveries", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="deliveries", null=True, on_delete=fields.SET_NULL
    )
    recipient = fields.CharField(max_length=320, default="")
    domain = fields.CharField(max_length=255, default="", db_index=True)
    language = fields.CharField(max_length=2, default="")
    subject = fields.TextField(default="")
    # the message as sent, less Date (and DKIM): added at the moment of sending
    message = fields.BinaryField(null=True)
    message_id = fields.CharField(max_length=255, unique=True)
    token = fields.CharField(max_length=32, unique=True)
    state = fields.CharField(max_length=16, default=DeliveryState.PLANNED.value)
    scheduled_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    lease_owner = fields.CharField(max_length=100, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    first_attempt_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    smtp_code = fields.IntField(null=True)
    smtp_text = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "delivery"
        unique_together = (("campaign", "contact"),)
        indexes = (
            ("state", "scheduled_at"),
            # covers what `report` reads of every letter, so it never touches the messages
            ("campaign_id", "state", "sent_at", "contact_id", "language"),
        )


class PacingSlot(Model):
    """The next moment a letter may go to a domain ("*" = all domains): pacing at claim time."""

    key = fields.CharField(max_length=255, primary_key=True)
    next_slot_at = fields.DatetimeField()

    class Meta:
        table = "pacing_slot"


class Reply(Model):
    """Anything that came back: a person's reply, an auto-reply, a bounce, a complaint."""

    id = fields.IntField(primary_key=True)
    message_id = fields.CharField(max_length=500, unique=True)
    kind = fields.CharField(max_length=16, db_index=True)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    delivery: fields.ForeignKeyNullableRelation[Delivery] = fields.ForeignKeyField(
        "models.Delivery", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    matched_by = fields.CharField(max_length=16, default="")
    from_address = fields.CharField(max_length=320, default="")
    subject = fields.TextField(default="")
    # the text of the reply; emptied by `replies purge` after the retention period
    body = fields.TextField(null=True)
    received_at = fields.DatetimeField(db_index=True)
    failed_address = fields.CharField(max_length=320, default="")
    dsn_status = fields.CharField(max_length=16, default="")
    return_date = fields.CharField(max_length=40, default="")
    opt_out_request = fields.BooleanField(default=False)
    reviewed = fields.BooleanField(default=False)
    source = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reply"


class Stance(Model):
    """A target's position on one ask, as recorded by a campaigner (latest wins)."""

    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="stances", on_delete=fields.CASCADE
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="stances", null=True, on_delete=fields.SET_NULL
    )
    reply: fields.ForeignKeyNullableRelation[Reply] = fields.ForeignKeyField(
        "models.Reply", related_name="stances", null=True, on_delete=fields.SET_NULL
    )
    ask = fields.CharField(max_length=64, db_index=True)
    stance = fields.CharField(max_length=16)
    source = fields.CharField(max_length=16, default="reply")
    note = fields.TextField(default="")
    recorded_by = fields.CharField(max_length=200, default="")
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stance"


class BounceScore(Model):
    """Soft-bounce score per address (Mailman style: at most one point a day)."""

    email = fields.CharField(max_length=320, primary_key=True)
    score = fields.FloatField(default=0.0)
    last_bounce_at = fields.DatetimeField()

    class Meta:
        table = "bounce_score"


class MailboxState(Model):
    """Where `replies fetch` stopped in each IMAP folder (UIDVALIDITY + last UID)."""

    key = fields.CharField(max_length=500, primary_key=True)
    uidvalidity = fields.BigIntField()
    last_uid = fields.BigIntField(default=0)

    class Meta:
        table = "mailbox_state"
