"""The desk's tables.

Plain peewee models bound to `db.database`, so the same code runs on SQLite and PostgreSQL.
Secrets never live here: a channel's passwords and tokens are in the secret store, keyed by
the channel's `uid`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import peewee

from deskterm.store.db import database, utcnow

PRIORITIES = ("high", "normal", "low")


# One encoder for every row: json.dumps would build it again per call (a first sync encodes
# about 60,000 values).
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class JSONField(peewee.TextField):
    """JSON in a text column: portable across engines, and readable in a SQL shell."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else _encode(value)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


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
    # What the text does not show (see ingest.message_notes): remote images never loaded,
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


class Outbox(BaseModel):
    """A reply waiting for the SMTP server to accept it: committed before any network I/O."""

    message = peewee.ForeignKeyField(Message, backref="outbox", on_delete="CASCADE")
    channel = peewee.ForeignKeyField(Channel, backref="outbox", on_delete="CASCADE")
    state = peewee.CharField(default="queued", index=True)  # queued|sending|sent|failed|cancelled
    kind = peewee.CharField(default="reply")  # reply | ack | forward | resolved
    recipient = peewee.CharField(default="", index=True)  # for the per-sender ack rate limit
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow)
    last_error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    sent_at = peewee.DateTimeField(null=True)


class Template(BaseModel):
    """A canned response or a notification's text with $variables, checked when saved (never
    a silent blank); its kind (desk/template_kinds.py) says which variables it may use."""

    name = peewee.CharField(unique=True)
    body = peewee.TextField()
    kind = peewee.CharField(default="reply")  # reply | reply_notification | resolved | ...
    html = peewee.TextField(null=True)  # an optional HTML part, with the same variables
    created_at = peewee.DateTimeField(default=utcnow)


class JobRun(BaseModel):
    channel = peewee.ForeignKeyField(Channel, null=True, backref="runs", on_delete="CASCADE")
    kind = peewee.CharField(default="poll")  # poll | send
    started_at = peewee.DateTimeField(default=utcnow, index=True)
    finished_at = peewee.DateTimeField(null=True)
    fetched = peewee.IntegerField(default=0)
    ingested = peewee.IntegerField(default=0)
    skipped = peewee.IntegerField(default=0)
    failed = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)


class FolderState(BaseModel):
    """Per folder: the UIDVALIDITY we synced under and the highest UID committed."""

    channel = peewee.ForeignKeyField(Channel, backref="folders", on_delete="CASCADE")
    folder = peewee.CharField()
    uidvalidity = peewee.BigIntegerField(null=True)
    last_uid = peewee.BigIntegerField(default=0)
    # The day this folder was first synced: the age window counts back from it, so mail that
    # arrives later is never left out because the desk was not polling (see sync_window).
    first_sync_on = peewee.DateField(null=True)

    class Meta:
        indexes = ((("channel", "folder"), True),)


class Pop3Seen(BaseModel):
    """POP3 has no flags: the UIDLs we committed are how we know what is already ingested."""

    channel = peewee.ForeignKeyField(Channel, backref="pop3_seen", on_delete="CASCADE")
    uidl = peewee.CharField()

    class Meta:
        indexes = ((("channel", "uidl"), True),)


class SkippedMail(BaseModel):
    """Mail fetched but not turned into a conversation message, with the reason."""

    channel = peewee.ForeignKeyField(Channel, backref="skipped", on_delete="CASCADE")
    folder = peewee.CharField(default="")
    uid = peewee.CharField(default="")
    message_id = peewee.CharField(null=True)
    dedup_key = peewee.CharField(null=True, index=True)
    source = peewee.CharField(null=True, index=True)  # ingest.source_of: the fetch it was
    twin_message = peewee.IntegerField(null=True)  # a duplicate's stored twin (Message id)
    from_addr = peewee.CharField(default="")
    subject = peewee.TextField(default="")
    reason = peewee.CharField()
    raw_path = peewee.CharField(null=True)
    created_at = peewee.DateTimeField(default=utcnow, index=True)


class Agent(BaseModel):
    """A person who answers on the desk: whom a conversation is assigned to, who wrote a note,
    who is mentioned in one. `handle` is the one word the desk shows and agents type (the
    list's assignee column, `@handle` in a note, `assignee:handle`); a conversation's assignee
    is always an agent's handle, never free text (deskterm.desk.agents checks it)."""

    handle = peewee.CharField(unique=True)  # lower-case letters, digits, . _ -
    name = peewee.CharField()  # the display name: $agent_name, "<name> is replying"
    email = peewee.CharField(null=True, unique=True)  # lower-cased; None: from an older desk
    login = peewee.CharField(null=True, unique=True)  # the OS login name that is this agent
    # May define types and fields and change restricted fields (desk/agents.may_administer).
    admin = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField(default=utcnow)

    @classmethod
    def free_handle(cls, text: str) -> str:
        """A handle made from any text (a name, an address's local part) that no agent has
        yet: lower-cased, other characters as '-', a number added if taken."""
        base = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-.") or "agent"
        base = base[:32]
        handle, n = base, 1
        while cls.select().where(cls.handle == handle).exists():
            n += 1
            handle = f"{base}-{n}"
        return handle


class Note(BaseModel):
    """An internal note on a conversation: only agents see it, it is never sent."""

    conversation = peewee.ForeignKeyField(Conversation, backref="notes", on_delete="CASCADE")
    author = peewee.ForeignKeyField(Agent, null=True, backref="notes", on_delete="SET NULL")
    text = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow, index=True)


class Mention(BaseModel):
    """An agent named as `@handle` in a note: what their Mentions view lists until seen."""

    note = peewee.ForeignKeyField(Note, backref="mentions", on_delete="CASCADE")
    agent = peewee.ForeignKeyField(Agent, backref="mentions", on_delete="CASCADE")
    seen = peewee.BooleanField(default=False)

    class Meta:
        indexes = ((("note", "agent"), True),)


class Presence(BaseModel):
    """An app that has a conversation open, and whether its agent is replying: the rows the
    collision warnings read ("<name> is replying"). Each app refreshes its own rows while it
    runs (`seen_at`); rows not refreshed for a while are stale and ignored, so a killed app
    leaves nothing that lasts."""

    conversation = peewee.ForeignKeyField(Conversation, backref="presence", on_delete="CASCADE")
    agent = peewee.ForeignKeyField(Agent, backref="presence", on_delete="CASCADE")
    session = peewee.CharField()  # one running app: host and pid
    activity = peewee.CharField()  # viewing | replying
    seen_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("conversation", "session"), True),)


class ChannelLead(BaseModel):
    """Which machine polls and sends for a channel now, as its leader last wrote: for people
    to read (`channel list`, the status screen). The leadership itself is a lock the database
    holds (an advisory lock on PostgreSQL, the desk's file lock on SQLite), never this row."""

    channel = peewee.ForeignKeyField(Channel, primary_key=True, backref="lead", on_delete="CASCADE")
    host = peewee.CharField()
    pid = peewee.IntegerField()
    since = peewee.DateTimeField(default=utcnow)
    seen_at = peewee.DateTimeField(default=utcnow)


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


class StatusChange(BaseModel):
    """A conversation's status as it changed: what the reports' backlog (open and pending over
    time) and resolution times are computed from, since the conversation row only holds its
    status now. A new conversation has no row: it is open from its `created_at`. `agent` is
    the handle of who set it (None: the customer's mail, a worker, or a desk without agents)."""

    conversation = peewee.ForeignKeyField(
        Conversation, backref="status_changes", on_delete="CASCADE"
    )
    old_status = peewee.CharField()
    new_status = peewee.CharField()
    agent = peewee.CharField(null=True)
    changed_at = peewee.DateTimeField(default=utcnow, index=True)


class TimeEntry(BaseModel):
    """Time an agent spent on a conversation: measured by the app while its thread or composer
    has the keyboard (`source` "clock", one row per stretch, rewritten as it grows) or logged
    by hand (`source` "manual", `deskterm time add`). `started_at` places it in a report's
    period."""

    conversation = peewee.ForeignKeyField(Conversation, backref="time_entries", on_delete="CASCADE")
    agent = peewee.CharField(null=True, index=True)  # a handle; None on a desk without agents
    seconds = peewee.IntegerField()
    started_at = peewee.DateTimeField(default=utcnow, index=True)
    source = peewee.CharField(default="manual")  # clock | manual
    note = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)


# In an order where every table comes after those it refers to: `db migrate` copies them so.
ALL_MODELS: list[type[BaseModel]] = [
    Channel,
    ConversationType,  # v10; before Conversation, which refers to it
    Organization,
    OrganizationDomain,
    Contact,
    ContactAlias,
    Conversation,
    ConversationTag,
    Message,
    Attachment,
    Outbox,
    Template,
    JobRun,
    FolderState,
    Pop3Seen,
    SkippedMail,
    Agent,
    Note,
    Mention,
    Presence,
    ChannelLead,
    TypeField,
    FieldValue,
    SlaPolicy,
    SlaNotice,
    RoutingRule,
    RuleMatch,
    Macro,
    StatusChange,
    TimeEntry,
]
