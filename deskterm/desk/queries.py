"""What the desk shows: conversations, threads, runs and skipped mail as plain data.

The CLI prints these (their JSON shapes are a documented contract) and the UI renders them,
so both always agree on what a conversation is.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import peewee

from deskterm.channels import registry as channels
from deskterm.channels.health import channel_state
from deskterm.desk import recipients
from deskterm.desk import status as lifecycle
from deskterm.errors import ConfigError, NotFound
from deskterm.store import blobs
from deskterm.store.db import is_sqlite, iso
from deskterm.store.models import (
    Attachment,
    Channel,
    Contact,
    Conversation,
    ConversationTag,
    JobRun,
    Message,
    SkippedMail,
)


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
    query = _narrowed(query, status, channel, search)
    if limit:
        query = query.limit(limit)
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
            "updated_at": iso(row.updated_at),
        }
        for row in query
    ]


def conversation_detail(conversation_id: int) -> dict[str, Any]:
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation #{conversation_id}.")
    # Arrival order: Date headers come from many clocks (and lose sub-seconds).
    messages = list(conversation.messages.order_by(Message.id))
    attachments: dict[int, list[Attachment]] = {}
    for attachment in Attachment.select().where(Attachment.message.in_([m.id for m in messages])):
        attachments.setdefault(attachment.message_id, []).append(attachment)
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
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "messages": [
            {
                "direction": m.direction,
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


# --- the conversation list of the UI -------------------------------------------------------
#
# The list shows any of 100,000 conversations instantly, so it never asks for "page N" with
# OFFSET (SQLite walks every skipped row, and a jump to the end of 100,000 rows then costs as
# much as reading them all). Instead it asks once per filter for the matching ids, newest
# activity first (one narrow query that returns integers only), and fetches the rows it draws
# by primary key, a screenful at a time.


def conversation_ids(
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    tag: str | None = None,
) -> list[int]:
    """Ids of the matching conversations, newest activity first (the list's whole index)."""
    query = Conversation.select(Conversation.id)
    query = _narrowed(query, status, channel, search, assignee=assignee, tag=tag)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    # Straight from the cursor: peewee's per-row processing doubled the time at 100,000 rows.
    sql, params = query.sql()
    cursor = Conversation._meta.database.execute_sql(sql, params)
    return [conversation_id for (conversation_id,) in cursor.fetchall()]


HEAD_WINDOW = 2000  # the newest conversations of the filter that `first_conversation_ids` tries


def first_conversation_ids(
    rows: int,
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    tag: str | None = None,
) -> list[int] | None:
    """The start of `conversation_ids`' list (at least `rows` ids, in the same order) when a
    search matches many conversations, found among the filter's newest HEAD_WINDOW only; None
    when they hold fewer than `rows` matches (then the whole list is cheap to gather), when
    there is nothing to search, and on engines other than SQLite.

    A search matching most of the desk (one typed letter) needs its whole set of matches
    gathered before the list's order can be walked: 90-100 ms at 100,000 conversations, where
    the first screenful of it is here in a few. Matches outside the window come after every
    row inside it, so what is returned is exactly the list's first rows.
    """
    search = (search or "").strip()
    if not search or re.fullmatch(r"#\d{1,12}", search):
        return None
    if not is_sqlite(Conversation._meta.database.obj):
        return None  # measured on SQLite only (elsewhere search is a LIKE scan anyway)
    window = _narrowed(
        Conversation.select(Conversation.id), status, channel, None, assignee=assignee, tag=tag
    )
    window = window.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(
        HEAD_WINDOW
    )
    query = (
        Conversation.select(Conversation.id)
        .where(Conversation.id.in_(window) & _search_condition(search, within=window))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    sql, params = query.sql()
    ids = [i for (i,) in Conversation._meta.database.execute_sql(sql, params).fetchall()]
    return ids if len(ids) >= rows else None


def interrupter() -> Callable[[], None] | None:
    """What ends this thread's running query from another thread (the UI's, when a newer
    search makes its answer useless), or None where the engine has no such call. The query
    then fails with an error `was_interrupted` recognises; with nothing running it does
    nothing."""
    database = Conversation._meta.database
    if not is_sqlite(database.obj):
        return None
    connection = database.connection()

    def interrupt() -> None:
        with contextlib.suppress(Exception):  # already closed with its thread: nothing runs
            connection.interrupt()

    return interrupt


def was_interrupted(exc: BaseException) -> bool:
    return isinstance(exc, peewee.OperationalError | sqlite3.OperationalError) and (
        "interrupted" in str(exc)
    )


def conversation_rows(ids: list[int]) -> list[dict[str, Any]]:
    """What the list draws for these conversations, in the order given (missing ids dropped)."""
    if not ids:
        return []
    query = (
        Conversation.select(
            Conversation.id,
            Conversation.subject,
            Conversation.status,
            Conversation.priority,
            Conversation.assignee,
            Conversation.unread,
            Conversation.message_count,
            Conversation.updated_at,
            Channel.name,
            Contact.email,
            Contact.name,
        )
        .join(Channel)
        .switch(Conversation)
        .join(Contact, peewee.JOIN.LEFT_OUTER)
        .where(Conversation.id.in_(ids))
        .tuples()
    )
    found: dict[int, dict[str, Any]] = {}
    for row in query:
        cid, subject, status, priority, assignee, unread, count, updated, chan, email, name = row
        found[cid] = {
            "id": cid,
            "subject": subject,
            "status": status,
            "priority": priority,
            "assignee": assignee,
            "unread": bool(unread),
            "messages": count,
            "updated_at": iso(updated),
            "channel": chan,
            "contact": email,
            "contact_name": name or "",
        }
    return [found[i] for i in ids if i in found]


FILTER_KEYS = ("channel", "assignee", "tag")


def parse_filters(text: str) -> dict[str, str]:
    """`channel:NAME assignee:NAME tag:NAME` (any subset, any order) as a dict; empty text is
    no filter. A value may not hold spaces; an unknown key or a bare word is refused."""
    found: dict[str, str] = {}
    for word in text.split():
        key, colon, value = word.partition(":")
        key = key.lower()
        if not colon or key not in FILTER_KEYS or not value:
            raise ConfigError(
                f"{word!r} is not a filter; use channel:NAME, assignee:NAME or tag:NAME."
            )
        found[key] = value
    return found


def status_counts(channel: str | None = None) -> dict[str, int]:
    """Conversations per status (and "all"), for the list's filter bar; one GROUP BY."""
    query = Conversation.select(Conversation.status, peewee.fn.COUNT(Conversation.id))
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    counts = dict.fromkeys(lifecycle.STATUSES, 0)
    counts.update(dict(query.group_by(Conversation.status).tuples()))
    counts["all"] = sum(counts.values())
    return counts


def _narrowed(
    query: peewee.ModelSelect,
    status: str,
    channel: str | None,
    search: str | None,
    *,
    assignee: str | None = None,
    tag: str | None = None,
) -> peewee.ModelSelect:
    """The list's filters: a status (or all), a channel, an assignee (as typed, any case), a
    tag, and a search over subject, contact, message text and `#id`.
    """
    if lifecycle.checked(status, or_all=True) != "all":
        query = query.where(Conversation.status == status)
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    if assignee:
        query = query.where(peewee.fn.LOWER(Conversation.assignee) == assignee.lower())
    if tag:
        tagged = ConversationTag.select(ConversationTag.conversation).where(
            ConversationTag.tag == tag.lower()
        )
        query = query.where(Conversation.id.in_(tagged))
    search = (search or "").strip()
    if re.fullmatch(r"#\d{1,12}", search):
        return query.where(Conversation.id == int(search[1:]))  # a conversation by number
    if search:
        query = query.where(_search_condition(search))
    return query


def _search_condition(search: str, within: peewee.ModelSelect | None = None) -> peewee.Expression:
    """Conversations whose contact (address or name), messages (subject, sender, text), or
    number match; only among the ids `within` selects, when given.

    The matches are gathered first, each by its own index (contacts by a scan of the small
    contact table, their conversations by contact, messages by FTS5), and the list's index is
    then walked once, each row looked up in that set. Testing every conversation's contact
    with LIKE instead (a JOIN per row) cost 60-70 ms at 100,000 conversations even when
    nothing matched.
    """
    contacts = Contact.select(Contact.id).where(
        Contact.email.contains(search) | Contact.name.contains(search)
    )
    by_contact = Conversation.select(Conversation.id).where(Conversation.contact.in_(contacts))
    by_text = _messages_matching(search)
    if within is not None:
        by_contact = by_contact.where(Conversation.id.in_(within))
        # The window's messages by their conversation's index, each looked up in the set of
        # text matches (`_messages_matching(..., by_id=False)`), not every text match by id
        # to see whether it is in the window: 16 ms for one letter.
        by_text = _messages_matching(search, by_id=False).where(Message.conversation.in_(within))
    condition = Conversation.id.in_(by_contact + by_text)
    number = search.removeprefix("#")
    if number.isdigit() and len(number) <= 12:
        condition |= Conversation.id == int(number)
    return condition


def _messages_matching(search: str, *, by_id: bool = True) -> peewee.ModelSelect:
    """Conversations whose messages match: FTS5 (prefix match per word) where the desk has
    it, a LIKE scan over subjects and bodies elsewhere. With `by_id` False, SQLite may not
    reach the messages through the matches' ids (the caller narrows them otherwise)."""
    database = Message._meta.database
    words = re.findall(r"\w+", search)
    if words and is_sqlite(database.obj):
        match = " ".join(f'"{word}"*' for word in words)
        hits = peewee.SQL("(SELECT rowid FROM message_fts WHERE message_fts MATCH ?)", [match])
        # `+ 0`: the same ids, but no longer the table's key, so not a way into the table.
        column = Message.id if by_id else Message.id + 0
        return Message.select(Message.conversation).where(column.in_(hits))
    return Message.select(Message.conversation).where(
        Message.subject.contains(search) | Message.text.contains(search)
    )


def desk_signature() -> tuple[Any, ...]:
    """Changes whenever mail is ingested or a run recorded: what a UI watching a desk polled
    by another process (`deskterm poll`) compares to know when to reload. Three index reads.
    """
    return (
        Message.select(peewee.fn.MAX(Message.id)).scalar(),
        JobRun.select(peewee.fn.MAX(JobRun.id)).scalar(),
        Conversation.select(peewee.fn.MAX(Conversation.updated_at)).scalar(),
    )
