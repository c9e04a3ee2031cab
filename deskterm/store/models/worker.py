"""The worker's records: the outbox it sends from, its runs, where each folder's sync stands,
the UIDLs a POP3 channel has seen, and the mail it fetched but skipped. Apart from the mail
they are about: people read conversations, the worker reads these."""

from __future__ import annotations

import peewee

from deskterm.store.db import utcnow
from deskterm.store.models.base import BaseModel
from deskterm.store.models.mail import Channel, Message


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
