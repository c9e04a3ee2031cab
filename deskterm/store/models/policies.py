"""The desk's policies, which admins define and the desk applies: conversation types' fields
and their values (v10), SLA policies and their notices (v11), routing rules and what they
matched (v12), macros and the templates of replies and notifications (v13)."""

from __future__ import annotations

import peewee

from deskterm.store.db import utcnow
from deskterm.store.models.base import BaseModel, JSONField
from deskterm.store.models.mail import Channel, Conversation, ConversationType, Message


class TypeField(BaseModel):
    """A custom field of a conversation type: its kind (text, number, date, choice, agent),
    its choices, default, and whether it is required or restricted to admins. Values are
    kept as text in one canonical form per kind (deskterm.desk.fields checks them)."""

    conversation_type = peewee.ForeignKeyField(
        ConversationType,
        backref="fields",
        column_name="type_id",
        object_id_name="conversation_type_id",
        on_delete="CASCADE",
    )
    name = peewee.CharField()  # lower-case letters, digits, . _ -
    kind = peewee.CharField()  # text | number | date | choice | agent
    choices = JSONField(default=list)  # a choice field's values, in the order offered
    default = peewee.TextField(null=True)  # canonical; None: no default
    required = peewee.BooleanField(default=False)  # never emptied once set
    restricted = peewee.BooleanField(default=False)  # only admins change it
    position = peewee.IntegerField(default=0)  # the order the thread shows them in

    class Meta:
        indexes = ((("conversation_type", "name"), True),)


class FieldValue(BaseModel):
    """One custom field's value on one conversation, as `value` (canonical text) and `key`
    (the same folded to lower case), which the list's `field:NAME=VALUE` filter and its search
    look up by index."""

    conversation = peewee.ForeignKeyField(Conversation, backref="field_values", on_delete="CASCADE")
    type_field = peewee.ForeignKeyField(TypeField, backref="values", on_delete="CASCADE")
    value = peewee.TextField()
    key = peewee.CharField()

    class Meta:
        indexes = ((("conversation", "type_field"), True), (("key", "type_field"), False))


class SlaPolicy(BaseModel):
    """Response targets for the conversations it matches: by priority, channel and (once
    conversation types exist) type, each None for "any"; the most specific policy applies
    (deskterm.desk.sla_policies). Time counts around the clock (`hours` None) or in business
    hours: a weekly calendar in `timezone`, minus `holidays` (ISO dates, local days)."""

    name = peewee.CharField(unique=True)
    priority = peewee.CharField(null=True)
    channel = peewee.ForeignKeyField(
        Channel, null=True, backref="sla_policies", on_delete="CASCADE"
    )
    # A hook for conversation types (issue 16): nothing sets it yet, and a policy with a type
    # matches no conversation until conversations carry one.
    conversation_type = peewee.CharField(null=True)
    first_response_minutes = peewee.IntegerField(null=True)
    resolution_minutes = peewee.IntegerField(null=True)
    hours = JSONField(null=True)  # [[[start, end] minutes, ...] per weekday, Monday first]
    timezone = peewee.CharField(default="UTC")
    holidays = JSONField(default=list)
    pause_when_pending = peewee.BooleanField(default=True)
    warn_minutes = peewee.IntegerField(default=30)  # the warning's lead time; 0: no warning
    created_at = peewee.DateTimeField(default=utcnow)


class SlaNotice(BaseModel):
    """A warning or breach notice of one target of one conversation: claimed (`queued`) by
    the worker that sends it, committed before any SMTP, and never claimed twice (unique).
    Also the record reports read: which targets were breached, and when they were due."""

    conversation = peewee.ForeignKeyField(Conversation, backref="sla_notices", on_delete="CASCADE")
    target = peewee.CharField()  # first_response | resolution
    kind = peewee.CharField()  # warning | breach
    due_at = peewee.DateTimeField()
    recipient = peewee.CharField(default="")
    state = peewee.CharField(default="queued", index=True)  # queued|sending|sent|failed
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow)
    error = peewee.TextField(null=True)
    message_id = peewee.CharField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    sent_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("conversation", "target", "kind"), True),)


class RoutingRule(BaseModel):
    """An admin's routing rule (deskterm.desk.rules): applied in `position` order to the mail
    of one channel, or of every channel when `channel` is None. `conditions` and `actions` are
    the rule file's checked tables; `turn` counts the assignments a round-robin action made,
    advanced by a row update in the ingest's transaction, so it stays fair across restarts and
    across the machines of a team desk."""

    name = peewee.CharField(unique=True)
    channel = peewee.ForeignKeyField(Channel, null=True, backref="rules", on_delete="CASCADE")
    position = peewee.IntegerField(index=True)
    match = peewee.CharField(default="all")  # all | any of the conditions
    replies = peewee.BooleanField(default=False)  # also for follow-ups, not only new ones
    stop = peewee.BooleanField(default=False)  # later rules are not asked once this matched
    conditions = JSONField(default=dict)
    actions = JSONField(default=dict)
    turn = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class RuleMatch(BaseModel):
    """A rule that matched a message, and what it did: the "Routed by rule ..." line under
    the message, and `routing` in `show --json`. The rule's name is kept, so the line stays
    true after the rule is removed; `error` says why a rule that matched did nothing."""

    message = peewee.ForeignKeyField(Message, backref="routing", on_delete="CASCADE")
    rule = peewee.ForeignKeyField(RoutingRule, null=True, backref="matches", on_delete="SET NULL")
    rule_name = peewee.CharField()
    applied = JSONField(default=dict)  # action -> the value it set (a round-robin: the agent)
    said = peewee.TextField(default="")  # the same in words: "priority high, assigned to sam"
    error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


class Macro(BaseModel):
    """A named list of actions an agent applies in one key (desk/macros.py): each action is
    {"action": ..., "value": ...}, applied in the order desk/macros.py gives them."""

    name = peewee.CharField(unique=True)
    actions = JSONField(default=list)
    created_at = peewee.DateTimeField(default=utcnow)


class Template(BaseModel):
    """A canned response or a notification's text with $variables, checked when saved (never
    a silent blank); its kind (desk/template_kinds.py) says which variables it may use."""

    name = peewee.CharField(unique=True)
    body = peewee.TextField()
    kind = peewee.CharField(default="reply")  # reply | reply_notification | resolved | ...
    html = peewee.TextField(null=True)  # an optional HTML part, with the same variables
    created_at = peewee.DateTimeField(default=utcnow)
