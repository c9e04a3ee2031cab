"""What the desk shows: conversations, threads, runs and skipped mail as plain data.

The CLI prints these (their JSON shapes are a documented contract) and the UI renders them,
so both always agree on what a conversation is. The UI's conversation list reads through
`list_index`; both narrow with `filters`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee

from deskterm.channels import registry as channels
from deskterm.channels.health import channel_state
from deskterm.desk import field_values, recipients, reply_authors, sla
from deskterm.desk.filters import narrowed
from deskterm.errors import NotFound
from deskterm.store import blobs
from deskterm.store.db import iso, utcnow
from deskterm.store.models import (
    Agent,
    Attachment,
    Channel,
    Contact,
    Conversation,
    ConversationType,
    JobRun,
    Message,
    Note,
    RuleMatch,
    SkippedMail,
)


def list_conversations(
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    *,
    assignee: str | None = None,
    type: str | None = None,
    field: str | None = None,
    order: str = "newest",
) -> list[dict[str, Any]]:
    """The conversations `deskterm conversations` lists, in one of the list's orders
    (list_index.ORDERS: newest activity first unless asked)."""
    from deskterm.desk.list_index import order_terms  # list_index reads through this module

    query = (
        Conversation.select(Conversation, Channel.name, Contact.email, ConversationType.name)
        .join(Channel)
        .switch(Conversation)
        .join(Contact, peewee.JOIN.LEFT_OUTER)
        .switch(Conversation)
        .join(ConversationType, peewee.JOIN.LEFT_OUTER)
        .order_by(*order_terms(order))
    )
    query = narrowed(query, status, channel, search, assignee=assignee, type=type, field=field)
    if limit:
        query = query.limit(limit)
    rows = list(query)
    values = field_values.values_for([row.id for row in rows])
    now = utcnow()
    return [
        {
            "id": row.id,
            "subject": row.subject,
            "status": row.status,
            "priority": row.priority,
            # A mail without a usable From leaves its conversation without a contact: the LEFT
            # JOIN then gives None, not a Contact (and the joined row hides contact_id).
            "contact": None if row.contact is None else row.contact.email,
            "channel": row.channel.name,
            "messages": row.message_count,
            "unread": row.unread,
            "assignee": row.assignee,
            "type": None if row.conversation_type is None else row.conversation_type.name,
            "fields": values.get(row.id, {}),
            "updated_at": iso(row.updated_at),
            **sla_fields(row, now),
        }
        for row in rows
    ]


def sla_fields(conversation: Conversation, now: datetime) -> dict[str, Any]:
    """The SLA clock as the JSON gives it: the next due time, which target, and whether it
    is breached (past due) or due soon (inside the policy's warning time)."""
    return {
        "due_at": iso(conversation.due_at),
        "due_target": conversation.due_target,
        "breached": sla.breached(conversation.due_at, now),
        "due_soon": sla.due_soon(conversation.due_at, conversation.warn_at, now),
    }


def get_conversation(conversation_id: int) -> Conversation:
    """The conversation numbered so, or NotFound saying there is none: the one lookup the
    desk's commands, triage and the outbox share."""
    found = Conversation.get_or_none(Conversation.id == conversation_id)
    if found is None:
        raise NotFound(f"There is no conversation #{conversation_id}.")
    return found


def conversation_detail(conversation_id: int) -> dict[str, Any]:
    conversation = get_conversation(conversation_id)
    # Arrival order: Date headers come from many clocks (and lose sub-seconds).
    messages = list(conversation.messages.order_by(Message.id))
    attachments: dict[int, list[Attachment]] = {}
    for attachment in Attachment.select().where(Attachment.message.in_([m.id for m in messages])):
        attachments.setdefault(attachment.message_id, []).append(attachment)
    routing = _routing([m.id for m in messages])
    names = reply_authors.agent_names()
    return {
        "id": conversation.id,
        "subject": conversation.subject,
        "status": conversation.status,
        "priority": conversation.priority,
        "contact": conversation.contact.email if conversation.contact_id else None,
        "reply_to": recipients.differing_reply_to(
            conversation,
            recipients.answered_of(sorted(messages, key=recipients.newest_first, reverse=True)),
        ),
        "channel": conversation.channel.name,
        "assignee": conversation.assignee,
        "type": conversation.conversation_type.name if conversation.conversation_type_id else None,
        "fields": field_values.values_of(conversation),
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        **sla_fields(conversation, utcnow()),
        # The thread's due line: when it turns due soon, and the due time in the policy's zone.
        "warn_at": iso(conversation.warn_at),
        "due_local": sla.due_local(conversation),
        "messages": _in_time_order(
            [
                _message_item(m, attachments.get(m.id, []), routing.get(m.id, []), names)
                for m in messages
            ],
            [m.created_at for m in messages],
            _notes(conversation.id),
        ),
    }


def _message_item(
    m: Message, files: list[Attachment], routing: list[dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    return {
        "direction": m.direction,
        **reply_authors.author_fields(m, names),  # who sent it: "Sam replied"
        "from": m.from_addr,
        "from_name": m.from_name,
        "to": m.to,
        "cc": m.cc,
        "reply_to": m.reply_to,
        "date": iso(m.date),
        "subject": m.subject,
        "message_id": m.message_id,
        "in_reply_to": m.in_reply_to,
        "text": m.text,
        "notes": m.notes or {},
        "state": m.state,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in files
        ],
        "routing": routing,  # the rules that matched it (`_routing`)
    }


def _routing(message_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The routing rules that matched each message (deskterm.desk.rules), in the order they
    were applied, each with the line the thread shows under the message header."""
    found: dict[int, list[dict[str, Any]]] = {}
    query = (
        RuleMatch.select()
        .where(RuleMatch.message.in_(message_ids))
        .order_by(RuleMatch.message, RuleMatch.id)
    )
    for match in query:
        found.setdefault(match.message_id, []).append(
            {
                "rule": match.rule_name,
                "applied": match.applied or {},
                "error": match.error,
                "said": routing_line(match.rule_name, match.said, match.error),
            }
        )
    return found


def routing_line(rule: str, said: str, error: str | None) -> str:
    """Why a conversation was routed, in one line: "Routed by rule 'billing': priority high,
    assigned to sam"; or why a rule that matched did nothing."""
    if error:
        return f"Rule {rule!r} matched but failed: {error}"
    return f"Routed by rule {rule!r}: {said}" if said else f"Routed by rule {rule!r}"


def note_item(note: Note) -> dict[str, Any]:
    """A note as the thread and `show --json` give it, among the messages (`direction`
    "note"); `author` is the agent's handle, None when written on a desk without agents."""
    author: Agent | None = note.author if note.author_id is not None else None
    return {
        "direction": "note",
        "id": note.id,
        "author": author.handle if author else None,
        "author_name": author.name if author else None,
        "date": iso(note.created_at),
        "text": note.text,
    }


def _notes(conversation_id: int) -> list[tuple[Any, dict[str, Any]]]:
    query = (
        Note.select(Note, Agent)
        .join(Agent, peewee.JOIN.LEFT_OUTER, on=(Note.author == Agent.id))
        .where(Note.conversation == conversation_id)
        .order_by(Note.created_at, Note.id)
    )
    return [(note.created_at, note_item(note)) for note in query]


def _in_time_order(
    messages: list[dict[str, Any]], arrived: list[Any], notes: list[tuple[Any, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The messages in their arrival order, each note placed before the first message that
    arrived after it was written: the messages' own order is never changed."""
    merged: list[dict[str, Any]] = []
    waiting = iter(notes)
    pending = next(waiting, None)
    for message, at in zip(messages, arrived, strict=True):
        while pending is not None and pending[0] < at:
            merged.append(pending[1])
            pending = next(waiting, None)
        merged.append(message)
    while pending is not None:
        merged.append(pending[1])
        pending = next(waiting, None)
    return merged


def other_conversations(conversation_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The other conversations of this one's contact, newest activity first (what the thread
    shows beside itself); none when it has no contact."""
    contact = (
        Conversation.select(Conversation.contact).where(Conversation.id == conversation_id).scalar()
    )
    if contact is None:
        return []
    query = (
        Conversation.select(
            Conversation.id, Conversation.subject, Conversation.status, Conversation.updated_at
        )
        .where((Conversation.contact == contact) & (Conversation.id != conversation_id))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
        .tuples()
    )
    return [
        {"id": cid, "subject": subject, "status": status, "updated_at": iso(updated)}
        for cid, subject, status, updated in query
    ]


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
            "id": row.id,
            "channel": row.channel.name,
            "folder": row.folder,
            "uid": row.uid,
            "message_id": row.message_id,
            "from": row.from_addr,
            "subject": row.subject,
            "reason": row.reason,
            "twin_message": row.twin_message,
            "at": iso(row.created_at),
        }
        for row in rows
    ]


def skipped_count() -> int:
    return SkippedMail.select().count()


def skipped_detail(skipped_id: int, raw_limit: int = 65_536) -> dict[str, Any]:
    """One skipped mail: every stored field, and where its raw message is, with its start.

    `raw_text` is the first `raw_limit` bytes of the message as fetched (decoded, not yet made
    safe to show: it is mail); `raw_error` says why it could not be read.
    """
    try:
        row = (
            SkippedMail.select(SkippedMail, Channel.name)
            .join(Channel)
            .where(SkippedMail.id == skipped_id)
            .get()
        )
    except peewee.DoesNotExist:
        raise NotFound(
            f"Skipped mail {skipped_id} is gone (its channel may have been removed)."
        ) from None
    found: dict[str, Any] = {
        "id": row.id,
        "channel": row.channel.name,
        "folder": row.folder,
        "uid": row.uid,
        "message_id": row.message_id,
        "dedup_key": row.dedup_key,
        "from": row.from_addr,
        "subject": row.subject,
        "reason": row.reason,
        "twin_message": row.twin_message,
        "at": iso(row.created_at),
        "raw_path": row.raw_path,
        "raw_file": None,
        "raw_size": None,
        "raw_text": "",
        "raw_error": "",
    }
    if row.raw_path:
        try:
            found["raw_file"] = blobs.describe_raw(row.raw_path)
            raw = blobs.read_raw(row.raw_path)
        except (OSError, ValueError) as exc:
            found["raw_error"] = (
                f"The raw mail {row.raw_path} cannot be read ({type(exc).__name__})."
            )
        else:
            found["raw_size"] = len(raw)
            found["raw_text"] = raw[:raw_limit].decode("utf-8", errors="replace")
    return found
