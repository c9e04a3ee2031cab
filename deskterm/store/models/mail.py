"""The desk's mail: channels, customers (contacts, their aliases and organizations), and the
conversations with their tags, messages and attachments. Every other table refers to these.

`ConversationType` is here, not with its fields in `models.policies`, because each
conversation refers to its type: the tables that refer to a conversation cannot also be
referred to by it.
"""

from __future__ import annotations

import uuid

import peewee

from deskterm.store.db import utcnow
from deskterm.store.models.base import BaseModel, JSONField

PRIORITIES = ("high", "normal", "low")


class Channel(BaseModel):
    uid = peewee.CharField(unique=True, default=lambda: uuid.uuid4().hex)
    name = peewee.CharField(unique=True)
    status = peewee.CharField(default="draft")  # draft | active | disabled
    settings = JSONField()  # the validated channel file, no secrets
    # SHA-256 fingerprints pinned for allow_self_signed servers (trust on first use).
    inbound_pin = peewee.CharField(null=True)
    outbound_pin = peewee.CharField(null=True)
    # Worker state: what `deskterm jobs` and the UI report.
    paused = peewee.BooleanField(default=False)
    fail_count = peewee.IntegerField(default=0)
    failing_since = peewee.DateTimeField(null=True)
    cool_off_until = peewee.DateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    last_ok_at = peewee.DateTimeField(null=True)
    # OAuth2 sign-ins, never a token: {"oauth2" | "inbound" | "outbound": {"stored_at": ISO
    # time the refresh token was stored, "refreshed_at": ISO time it last gave an access
    # token}} (channels.tokens writes it, `channel show` reads it without the secret store).
    oauth_tokens = JSONField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class Organization(BaseModel):
    name = peewee.CharField(unique=True)
    created_at = peewee.DateTimeField(default=utcnow)


class OrganizationDomain(BaseModel):
    """Mail from this domain belongs to the organization (e.g. example.com -> Example Ltd)."""

    domain = peewee.CharField(unique=True)
    organization = peewee.ForeignKeyField(Organization, backref="domains", on_delete="CASCADE")


class ConversationType(BaseModel):
    """A kind of conversation the admin defines (question, incident, billing): which custom
    fields its conversations have (`TypeField`). deskterm.desk.types owns the rules."""

    name = peewee.CharField(unique=True)  # lower-case letters, digits, . _ -
    description = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)


class Contact(BaseModel):
    email = peewee.CharField(unique=True)  # lower-cased
    name = peewee.CharField(default="")
    organization = peewee.ForeignKeyField(Organization, null=True, backref="contacts")
    created_at = peewee.DateTimeField(default=utcnow)


class ContactAlias(BaseModel):
    """Another address of a contact (a private and a work address, a shared alias): mail from
    it belongs to the contact's conversations as if sent from the primary address."""

    email = peewee.CharField(unique=True)  # lower-cased
    contact = peewee.ForeignKeyField(Contact, backref="aliases", on_delete="CASCADE")


class Conversation(BaseModel):
    channel = peewee.ForeignKeyField(Channel, backref="conversations", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, null=True, backref="conversations")
    subject = peewee.TextField(default="")
    status = peewee.CharField(default="open")  # indexed by conversation_list_order (v2)
    priority = peewee.CharField(default="normal")
    assignee = peewee.CharField(null=True, index=True)
    unread = peewee.BooleanField(default=True)
    message_count = peewee.IntegerField(default=0)
    # Threading: the subject as mailed, the first Message-ID and the References chain.
    email_subject = peewee.TextField(default="")
    thread_message_id = peewee.CharField(null=True)
    references = JSONField(default=list)
    cc = JSONField(default=list)  # addresses that took part; trusted for the [#id] subject token
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow, index=True)
    # Its type (v10), which says what custom fields it has; None: untyped.
    conversation_type = peewee.ForeignKeyField(
        ConversationType,
        null=True,
        column_name="type_id",
        object_id_name="conversation_type_id",
        on_delete="SET NULL",
        index=True,
    )
    # The SLA clock (v11), kept by deskterm.desk.sla whenever status, priority or replies
    # change, so the list sorts and marks by due time without computing it per row.
    sla_policy = peewee.IntegerField(null=True)  # the SlaPolicy that applies (no FK: see sla)
    sla_started_at = peewee.DateTimeField(null=True)  # arrival on the desk: the clock's start
    first_response_at = peewee.DateTimeField(null=True)  # the first agent reply queued
    sla_paused_since = peewee.DateTimeField(null=True)  # stopped (pending, resolved, closed)
    # Counted time spent stopped; a default in SQL too, for the batch writers' inserts.
    sla_paused_seconds = peewee.IntegerField(default=0, constraints=[peewee.SQL("DEFAULT 0")])
    due_at = peewee.DateTimeField(null=True)  # the next target's due time; None: none runs
    due_target = peewee.CharField(null=True)  # first_response | resolution
    warn_at = peewee.DateTimeField(null=True)  # due soon from here (the policy's lead time)
    sla_alert_at = peewee.DateTimeField(null=True)  # when the worker looks at it next


class ConversationTag(BaseModel):
    conversation = peewee.ForeignKeyField(Conversation, backref="tags", on_delete="CASCADE")
    tag = peewee.CharField(index=True)

    class Meta:
        indexes = ((("conversation", "tag"), True),)


class Message(BaseModel):
    conversation = peewee.ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE")
    direction = peewee.CharField()  # in | out
    message_id = peewee.CharField(null=True, index=True)
    in_reply_to = peewee.CharField(null=True)
    references = JSONField(default=list)
    from_addr = peewee.CharField(default="")
    from_name = peewee.CharField(default="")
    to = JSONField(default=list)
    cc = JSONField(default=list)
    reply_to = peewee.CharField(null=True)
    subject = peewee.TextField(default="")
    date = peewee.DateTimeField(null=True)
    text = peewee.TextField(default="")
    headers = JSONField(default=dict)  # the few that matter: priority, auto-submitted, ...
    # What the text does not show (see conversation_rows.message_notes): remote images never loaded,
    # small images dropped, repairs of broken mail, a cut body. None: nothing to say.
    notes = JSONField(null=True)
    raw_path = peewee.CharField(null=True)  # relative to paths.mail_dir()
    size = peewee.IntegerField(default=0)
    # deskterm.mail.parse.content_key: the same content (headers that make it, the whole body).
    dedup_key = peewee.CharField(unique=True)
    source = peewee.CharField(null=True, index=True)  # ingest.source_of: the fetch it was
    state = peewee.CharField(default="received")  # received | queued | sending | sent | failed
    error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    # Who wrote an outgoing mail (v15): the agent's handle, kept as text like StatusChange's
    # and TimeEntry's so the reports count a removed agent's replies still. None: received
    # mail, an automatic one, a desk without agents, or a reply sent before v15 (unknown).
    agent = peewee.CharField(null=True)


class Attachment(BaseModel):
    message = peewee.ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    filename = peewee.CharField()
    content_type = peewee.CharField()
    size = peewee.IntegerField()
    sha256 = peewee.CharField(index=True)  # content-addressed file under paths.attachments_dir()
    content_id = peewee.CharField(null=True)
    inline = peewee.BooleanField(default=False)
