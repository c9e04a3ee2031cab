"""The team desk's tables (v7): agents, internal notes and their mentions, who has a
conversation open, and which machine leads each channel. Apart because a desk of one person
never writes them."""

from __future__ import annotations

import re

import peewee

from deskterm.store.db import utcnow
from deskterm.store.models.base import BaseModel
from deskterm.store.models.mail import Channel, Conversation


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
