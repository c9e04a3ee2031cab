"""What the desk shows: conversations, threads, runs and skipped mail as plain data.

The CLI prints these (their JSON shapes are a documented contract) and the UI renders them,
so both always agree on what a conversation is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee

from deskterm import channels
from deskterm.errors import ConfigError, NotFound
from deskterm.models import (
    CONVERSATION_STATUSES,
    Attachment,
    Channel,
    Contact,
    Conversation,
    JobRun,
    Message,
    SkippedMail,
)
from deskterm.worker import channel_state


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "+00:00"


def list_conversations(
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    query = (
        Conversation.select(Conversation, Channel.name, Contact.email)
        .join(Channel)
        .switch(Conversation)
        .join(Contact, peewee.JOIN.LEFT_OUTER)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    if status != "all":
        if status not in CONVERSATION_STATUSES:
            raise ConfigError(
                f"Status {status!r} is not known; use {', '.join(CONVERSATION_STATUSES)} or all."
            )
        query = query.where(Conversation.status == status)
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    if search:
        like = f"%{search}%"
        in_messages = Message.select(Message.conversation).where(Message.text**like)
        query = query.where(
            (Conversation.subject**like)
            | (Contact.email**like)
            | (Contact.name**like)
            | (Conversation.id.in_(in_messages))
        )
    if limit:
        query = query.limit(limit)
    return [
        {
            "id": row.id,
            "subject": row.subject,
            "status": row.status,
            "priority": row.priority,
            "contact": row.contact.email,  # None when the LEFT JOIN found no contact
            "channel": row.channel.name,
            "messages": row.message_count,
            "unread": row.unread,
            "assignee": row.assignee,
            "updated_at": iso(row.updated_at),
        }
        for row in query
    ]


def conversation_detail(conversation_id: int) -> dict[str, Any]:
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation #{conversation_id}.")
    messages = list(conversation.messages.order_by(Message.date.asc(nulls="first"), Message.id))
    attachments: dict[int, list[Attachment]] = {}
    for attachment in Attachment.select().where(Attachment.message.in_([m.id for m in messages])):
        attachments.setdefault(attachment.message_id, []).append(attachment)
    return {
        "id": conversation.id,
        "subject": conversation.subject,
        "status": conversation.status,
        "priority": conversation.priority,
        "contact": conversation.contact.email if conversation.contact_id else None,
        "channel": conversation.channel.name,
        "assignee": conversation.assignee,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "messages": [
            {
                "direction": m.direction,
                "from": m.from_addr,
                "from_name": m.from_name,
                "to": m.to,
                "cc": m.cc,
                "date": iso(m.date),
                "subject": m.subject,
                "message_id": m.message_id,
                "in_reply_to": m.in_reply_to,
                "text": m.text,
                "state": m.state,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in attachments.get(m.id, [])
                ],
            }
            for m in messages
        ],
    }


def job_report(limit: int = 20) -> dict[str, Any]:
    runs = (
        JobRun.select(JobRun, Channel.name)
        .join(Channel, peewee.JOIN.LEFT_OUTER)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(limit)
    )
    return {
        "runs": [
            {
                "channel": run.channel.name,  # None when the LEFT JOIN found no channel
                "kind": run.kind,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
                "fetched": run.fetched,
                "ingested": run.ingested,
                "skipped": run.skipped,
                "failed": run.failed,
                "error": run.error,
            }
            for run in runs
        ],
        "channels": [
            dict(zip(("name", "state", "detail"), (c.name, *channel_state(c)), strict=True))
            for c in channels.all_channels()
        ],
    }


def skipped_list(limit: int = 100) -> list[dict[str, Any]]:
    rows = (
        SkippedMail.select(SkippedMail, Channel.name)
        .join(Channel)
        .order_by(SkippedMail.id.desc())
        .limit(limit)
    )
    return [
        {
            "channel": row.channel.name,
            "folder": row.folder,
            "uid": row.uid,
            "message_id": row.message_id,
            "from": row.from_addr,
            "subject": row.subject,
            "reason": row.reason,
            "at": iso(row.created_at),
        }
        for row in rows
    ]
