"""The desk's tables.

Plain peewee models bound to `db.database`, so the same code runs on SQLite and PostgreSQL.
Secrets never live here: a channel's passwords and tokens are in the secret store, keyed by
the channel's `uid`.

Each module holds the tables of one part of the desk (`mail`: channels, customers,
conversations and messages; `worker`: the worker's records; `team`: the team desk's;
`policies`: types and fields, SLA, routing rules, macros and templates; `reports`: status
history and time spent; `base`: what they are built on). Code imports every table from here,
and `ALL_MODELS` says which tables a desk has and in what order they are made and copied.
"""

from __future__ import annotations

from deskterm.store.models.base import BaseModel, JSONField
from deskterm.store.models.mail import (
    PRIORITIES,
    Attachment,
    Channel,
    Contact,
    ContactAlias,
    Conversation,
    ConversationTag,
    ConversationType,
    Message,
    Organization,
    OrganizationDomain,
)
from deskterm.store.models.policies import (
    FieldValue,
    Macro,
    RoutingRule,
    RuleMatch,
    SlaNotice,
    SlaPolicy,
    Template,
    TypeField,
)
from deskterm.store.models.reports import (
    Outcome,
    ReportHours,
    StatusChange,
    TimeEntry,
)
from deskterm.store.models.team import Agent, ChannelLead, Mention, Note, Presence
from deskterm.store.models.worker import FolderState, JobRun, Outbox, Pop3Seen, SkippedMail

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
    Outcome,  # v19
]

__all__ = [
    "ALL_MODELS",
    "PRIORITIES",
    "Agent",
    "Attachment",
    "BaseModel",
    "Channel",
    "ChannelLead",
    "Contact",
    "ContactAlias",
    "Conversation",
    "ConversationTag",
    "ConversationType",
    "FieldValue",
    "FolderState",
    "JSONField",
    "JobRun",
    "Macro",
    "Mention",
    "Message",
    "Note",
    "Organization",
    "OrganizationDomain",
    "Outbox",
    "Outcome",
    "Pop3Seen",
    "Presence",
    "ReportHours",
    "RoutingRule",
    "RuleMatch",
    "SkippedMail",
    "SlaNotice",
    "SlaPolicy",
    "StatusChange",
    "Template",
    "TimeEntry",
    "TypeField",
]
